//! The entry point in memory: the command, the environment and what the plugin is handed.

// Helpers outside #[test] functions may unwrap and panic too: a panic is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod skel_support;

use skel_support::memory::*;

#[test]
fn no_command_prints_the_about_text_and_succeeds_without_reading_stdin() {
    for env in [vec![], vec![("CNI_COMMAND", "")]] {
        let p = Recorder::default();
        let out = run(
            &p,
            &[Version::V0_4_0, Version::V1_0_0],
            &env,
            &mut MustNotRead,
        );
        assert_eq!(out.code, 0);
        assert!(out.stdout.is_empty());
        assert_eq!(
            out.stderr,
            "test plugin v1\nCNI protocol versions supported: 0.4.0, 1.0.0\n"
        );
        assert!(p.calls.borrow().is_empty());
    }
}

#[test]
fn unknown_commands_are_code_4_naming_the_variable_and_value() {
    for bad in ["FOO", "add", "ADD "] {
        let p = Recorder::default();
        let out = run(&p, &Version::ALL, &cmd_env(bad), &mut MustNotRead);
        let e = out.error();
        assert_eq!(e.code, Code::INVALID_ENVIRONMENT);
        assert!(
            e.msg.contains("CNI_COMMAND") && e.msg.contains(&format!("{bad:?}")),
            "{}",
            e.msg
        );
        assert!(p.calls.borrow().is_empty());
    }
}

#[test]
fn version_answers_without_stdin_and_without_the_plugin() {
    let p = Recorder::default();
    let out = run(
        &p,
        &[Version::V1_0_0, Version::V0_3_1],
        &[("CNI_COMMAND", "VERSION")],
        &mut MustNotRead,
    );
    assert_eq!(out.code, 0);
    assert_eq!(
        out.json(),
        json!({"cniVersion":"1.0.0","supportedVersions":["0.3.1","1.0.0"]})
    );
    assert!(p.calls.borrow().is_empty());
}

#[test]
fn every_missing_variable_of_every_command_is_code_4_naming_it() {
    let full = add_env();
    for (command, required) in [
        ("ADD", &["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"][..]),
        ("DEL", &["CNI_CONTAINERID", "CNI_IFNAME"][..]),
        ("CHECK", &["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"][..]),
        ("GC", &["CNI_PATH"][..]),
    ] {
        for var in required {
            for value in [None, Some("")] {
                let env = with(&with(&full, "CNI_COMMAND", Some(command)), var, value);
                let p = Recorder::default();
                let e = run(&p, &Version::ALL, &env, &mut MustNotRead).error();
                assert_eq!(e.code, Code::INVALID_ENVIRONMENT, "{command} {var}");
                assert_eq!(e.msg, format!("required env variables [{var}] missing"));
                assert!(p.calls.borrow().is_empty());
            }
        }
    }
    let e = go(&Recorder::default(), &[("CNI_COMMAND", "CHECK")], CONF).error();
    assert_eq!(
        e.msg,
        "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing"
    );
}

#[test]
fn optional_variables_may_be_absent() {
    // DEL without a namespace; ADD without CNI_PATH (the spec makes it optional).
    let p = Recorder::default();
    assert_eq!(
        go(&p, &with(&cmd_env("DEL"), "CNI_NETNS", None), CONF).code,
        0
    );
    assert_eq!(p.only_call().netns, None);
    let p = Recorder::default();
    let out = go(&p, &with(&add_env(), "CNI_PATH", None), CONF);
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(p.only_call().path.is_empty());
    // STATUS needs nothing but the command.
    let conf = r#"{"cniVersion":"1.1.0","name":"n"}"#;
    let p = Recorder::default();
    assert_eq!(go(&p, &[("CNI_COMMAND", "STATUS")], conf).code, 0);
}

#[test]
fn the_plugin_gets_everything_validated_and_parsed() {
    let mut env = add_env();
    env.push(("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=web-0;IP=10.0.0.5"));
    env.push(("CNI_NETNS_OVERRIDE", "1"));
    let stdin = "{\"cniVersion\": \"0.4.0\", \"Name\": \"net1\", \"x\": [1]}\n";
    let p = Recorder::default();
    let out = go(&p, &env, stdin);
    assert_eq!(out.code, 0, "{}", out.text());
    let a = p.only_call();
    assert_eq!(a.command, Command::Add);
    assert_eq!(a.container_id, "c0ffee");
    assert_eq!(a.netns, Some(PathBuf::from("/var/run/netns/t")));
    assert!(a.netns_override);
    assert_eq!(a.ifname, "eth0");
    assert_eq!(a.args.get("K8S_POD_NAME"), Some("web-0"));
    assert_eq!(a.args.ips().unwrap().len(), 1);
    assert_eq!(
        a.path,
        [PathBuf::from("/opt/cni/bin"), PathBuf::from("/usr/lib/cni")]
    );
    assert_eq!(a.stdin, stdin.as_bytes());
    assert_eq!(a.config["x"], json!([1]));
    assert_eq!(a.name, "net1");
    assert_eq!(a.version, Version::V0_4_0);
}

#[test]
fn gc_and_status_ignore_the_per_attachment_variables() {
    let conf = r#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[]}"#;
    for command in ["GC", "STATUS"] {
        let env = [
            ("CNI_COMMAND", command),
            ("CNI_PATH", "/opt/cni/bin"),
            ("CNI_CONTAINERID", "../../etc"),
            ("CNI_IFNAME", "a/b"),
            ("CNI_NETNS", "/proc/1/ns/net"),
            ("CNI_ARGS", "garbage"),
        ];
        let p = Recorder::default();
        assert_eq!(go(&p, &env, conf).code, 0, "{command}");
        let a = p.only_call();
        assert_eq!(
            (a.container_id.as_str(), a.ifname.as_str(), a.netns),
            ("", "", None)
        );
        assert!(a.args.is_empty());
    }
}

#[test]
fn bad_container_ids_and_interface_names_are_code_4_naming_the_variable() {
    for id in ["a/b", "_x", "-x", ".", "a b", "a:b", "ä"] {
        let e = go(
            &Recorder::default(),
            &with(&add_env(), "CNI_CONTAINERID", Some(id)),
            CONF,
        )
        .error();
        assert_eq!(e.code, Code::INVALID_ENVIRONMENT, "{id}");
        assert!(e.msg.contains("CNI_CONTAINERID"));
        assert_eq!(e.details, id);
    }
    for ifname in ["1234567890123456", ".", "..", "a/b", "a:b", "a b", "a\tb"] {
        for command in ["ADD", "DEL", "CHECK"] {
            let env = with(&cmd_env(command), "CNI_IFNAME", Some(ifname));
            let e = go(&Recorder::default(), &env, CONF).error();
            assert_eq!(e.code, Code::INVALID_ENVIRONMENT, "{ifname:?}");
            assert!(e.msg.contains("CNI_IFNAME"), "{}", e.msg);
        }
    }
}

#[test]
fn malformed_cni_args_are_code_4_naming_the_pair() {
    let env = with(&add_env(), "CNI_ARGS", Some("A=1;broken;B=2"));
    let e = go(&Recorder::default(), &env, CONF).error();
    assert_eq!(e.code, Code::INVALID_ENVIRONMENT);
    assert!(
        e.msg.contains("CNI_ARGS") && e.msg.contains("\"broken\""),
        "{}",
        e.msg
    );
    // Unknown keys and a trailing ';' are fine.
    let env = with(&add_env(), "CNI_ARGS", Some("WHATEVER=x;"));
    assert_eq!(go(&Recorder::default(), &env, CONF).code, 0);
}

#[cfg(unix)]
#[test]
fn a_non_utf8_variable_is_code_4_naming_it() {
    use std::os::unix::ffi::OsStringExt;
    let lookup = |k: &str| match k {
        "CNI_COMMAND" => Some(OsString::from("ADD")),
        "CNI_CONTAINERID" => Some(OsString::from_vec(vec![b'a', 0xff])),
        "CNI_NETNS" | "CNI_IFNAME" => Some(OsString::from("x")),
        _ => None,
    };
    let info = PluginInfo {
        about: "",
        supported: &Version::ALL,
    };
    let mut stdout = Vec::new();
    let code = dispatch(
        &Minimal,
        &info,
        &lookup,
        &mut CONF.as_bytes(),
        &mut stdout,
        &mut io::sink(),
    );
    assert_eq!(code, 1);
    let e = CniError::from_json(&serde_json::from_slice(&stdout).unwrap()).unwrap();
    assert_eq!(
        (e.code, e.msg.as_str()),
        (Code(4), "CNI_CONTAINERID is not valid UTF-8")
    );
}
