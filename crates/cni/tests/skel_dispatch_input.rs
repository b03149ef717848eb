//! The entry point in memory: stdin, versions, results and errors.

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
fn add_prints_the_result_with_the_config_version_filled_in() {
    let p = Recorder::default();
    let out = go(&p, &add_env(), CONF);
    assert_eq!(out.code, 0);
    assert_eq!(out.json(), json!({"ips": [], "cniVersion": "1.0.0"}));
    let p = Recorder {
        result: Some(json!({"cniVersion": "0.4.0", "ips": []})),
        ..Recorder::default()
    };
    assert_eq!(go(&p, &add_env(), CONF).json()["cniVersion"], "0.4.0");
}

#[test]
fn other_commands_print_nothing_on_success() {
    let conf = r#"{"cniVersion":"1.1.0","name":"n"}"#;
    for command in ["DEL", "CHECK", "GC", "STATUS"] {
        let p = Recorder::default();
        let out = go(&p, &cmd_env(command), conf);
        assert_eq!((out.code, out.text()), (0, String::new()), "{command}");
        assert_eq!(p.only_call().command.as_str(), command);
    }
}

#[test]
fn gc_and_status_default_to_success() {
    let conf = r#"{"cniVersion":"1.1.0","name":"n"}"#;
    assert_eq!(go(&Minimal, &cmd_env("GC"), conf).code, 0);
    assert_eq!(go(&Minimal, &cmd_env("STATUS"), conf).code, 0);
}

#[test]
fn bad_stdin_codes_and_fields() {
    for (stdin, code, names) in [
        ("", 6, "stdin"),
        ("not json", 6, "stdin"),
        ("[1,2]", 6, "object"),
        ("null", 6, "object"),
        (r#"{"name":5,"cniVersion":"1.0.0"}"#, 6, "name"),
        (r#"{"name":"n","cniVersion":1}"#, 6, "cniVersion"),
        (r#"{"name":"n","cniVersion":["1.0.0"]}"#, 6, "cniVersion"),
        (r#"{"cniVersion":"1.0.0"}"#, 7, "name"),
        (r#"{"cniVersion":"1.0.0","name":""}"#, 7, "name"),
        (r#"{"cniVersion":"1.0.0","name":"a/b"}"#, 7, "name"),
        (r#"{"cniVersion":"1.0.0","name":".hidden"}"#, 7, "name"),
    ] {
        let p = Recorder::default();
        let e = go(&p, &add_env(), stdin).error();
        assert_eq!(e.code, Code(code), "{stdin}: {e}");
        assert!(e.msg.contains(names), "{stdin}: {}", e.msg);
        assert!(p.calls.borrow().is_empty());
    }
}

#[test]
fn stdin_over_the_cap_is_refused_without_reading_it_all() {
    let p = Recorder::default();
    let e = run(&p, &Version::ALL, &add_env(), &mut io::repeat(b' ')).error();
    assert_eq!(e.code, Code::DECODING_FAILURE);
    assert!(e.msg.starts_with("stdin: "), "{}", e.msg);
    // Exactly at the cap is fine.
    let mut at_cap = CONF.as_bytes().to_vec();
    at_cap.resize(MAX_STDIN, b' ');
    assert_eq!(
        run(&p, &Version::ALL, &add_env(), &mut at_cap.as_slice()).code,
        0
    );
}

#[test]
fn version_errors_are_code_1() {
    let only_old = [Version::V0_3_1, Version::V0_4_0];
    for (command, conf, supported) in [
        (
            "ADD",
            r#"{"name":"n","cniVersion":"9.9.9"}"#,
            &Version::ALL[..],
        ),
        (
            "ADD",
            r#"{"name":"n","cniVersion":"banana"}"#,
            &Version::ALL[..],
        ),
        ("DEL", r#"{"name":"n","cniVersion":"1.0.0"}"#, &only_old[..]),
        (
            "CHECK",
            r#"{"name":"n","cniVersion":"0.3.1"}"#,
            &Version::ALL[..],
        ),
        ("CHECK", r#"{"name":"n"}"#, &Version::ALL[..]),
        (
            "GC",
            r#"{"name":"n","cniVersion":"1.0.0"}"#,
            &Version::ALL[..],
        ),
        (
            "STATUS",
            r#"{"name":"n","cniVersion":"0.4.0"}"#,
            &Version::ALL[..],
        ),
    ] {
        let p = Recorder::default();
        let out = run(&p, supported, &cmd_env(command), &mut conf.as_bytes());
        let e = out.error();
        assert_eq!(e.code, Code::INCOMPATIBLE_VERSION, "{command} {conf}");
        assert!(p.calls.borrow().is_empty());
    }
}

#[test]
fn errors_carry_the_config_version_only_when_it_is_a_known_one() {
    let out = go(
        &Recorder::default(),
        &add_env(),
        r#"{"name":"n","cniVersion":"9.9.9"}"#,
    );
    assert_eq!(out.json().get("cniVersion"), None);
    assert!(out.error().details.contains("9.9.9"));
    let out = run(
        &Recorder::default(),
        &[Version::V0_4_0],
        &add_env(),
        &mut CONF.as_bytes(),
    );
    assert_eq!(out.json()["cniVersion"], "1.0.0");
    let env = with(&add_env(), "CNI_IFNAME", Some("a/b"));
    let out = go(
        &Recorder::default(),
        &env,
        r#"{"name":"n","cniVersion":"0.3.1"}"#,
    );
    assert_eq!(out.json()["cniVersion"], "0.3.1");
}

#[test]
fn plugin_errors_are_printed_as_is_with_the_version() {
    let p = Recorder {
        fail: Some(CniError::new(Code::PLUGIN_NOT_AVAILABLE, "daemon down").with_details("socket")),
        ..Recorder::default()
    };
    let out = go(
        &p,
        &cmd_env("STATUS"),
        r#"{"name":"n","cniVersion":"1.1.0"}"#,
    );
    assert_eq!(out.code, 1);
    assert_eq!(
        out.json(),
        json!({"cniVersion":"1.1.0","code":50,"msg":"daemon down","details":"socket"})
    );
}

#[test]
fn faults_are_reported_in_the_go_order() {
    // A missing variable before bad stdin; bad stdin before a bad interface name; a bad
    // interface name before an unsupported version.
    let env = with(&add_env(), "CNI_NETNS", None);
    assert_eq!(
        go(&Recorder::default(), &env, "garbage").error().code,
        Code(4)
    );
    let env = with(&add_env(), "CNI_IFNAME", Some("a/b"));
    assert_eq!(
        go(&Recorder::default(), &env, "garbage").error().code,
        Code(6)
    );
    let conf = r#"{"name":"n","cniVersion":"9.9.9"}"#;
    assert_eq!(go(&Recorder::default(), &env, conf).error().code, Code(4));
    // A wrongly typed version too comes after the interface name, and a missing name before it.
    let conf = r#"{"name":"n","cniVersion":1}"#;
    assert_eq!(go(&Recorder::default(), &env, conf).error().code, Code(4));
    let conf = r#"{"cniVersion":1}"#;
    assert_eq!(
        go(&Recorder::default(), &add_env(), conf).error().code,
        Code(7)
    );
}

#[test]
fn a_broken_stdout_fails_the_command_and_says_so_on_stderr() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let info = PluginInfo {
        about: "",
        supported: &Version::ALL,
    };
    let env = add_env();
    let lookup = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| OsString::from(v))
    };
    for stdin in [CONF, "garbage"] {
        let mut stderr = Vec::new();
        let code = dispatch(
            &Minimal,
            &info,
            &lookup,
            &mut stdin.as_bytes(),
            &mut Broken,
            &mut stderr,
        );
        assert_eq!(code, 1);
        assert!(String::from_utf8(stderr).unwrap().contains("gone"));
    }
}
