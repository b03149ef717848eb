//! tuning refusing bad input as a real process: the right code, a message naming the field,
//! and nothing changed in the pod or on disk; the sysctl allowlist.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod tuning_support;

use serde_json::json;
use tuning_support::{Impl::Twill, World};

#[test]
fn bad_input_is_refused_with_its_code_naming_the_field_and_changes_nothing() {
    let mut w = World::new();
    let before = w.link();
    let cases = [
        (json!({"mac": "not-a-mac", "mtu": 1400}), 7, "mac"),
        (json!({"mtu": -5}), 7, "mtu"),
        (json!({"mtu": "1400"}), 6, "mtu"),
        (json!({"txQLen": -1, "mtu": 1400}), 7, "txQLen"),
        (json!({"promisc": "true"}), 6, "promisc"),
        (
            json!({"sysctl": {"kernel.hostname": "x"}, "mtu": 1400}),
            7,
            "kernel.hostname",
        ),
        (
            json!({"sysctl": {"net/../../kernel/hostname": "x"}}),
            7,
            "net/../../kernel/hostname",
        ),
        (
            json!({"sysctl": {"net.core.somaxconn": 9}}),
            6,
            "net.core.somaxconn",
        ),
        (json!({"dataDir": "relative", "mtu": 1400}), 7, "dataDir"),
        (
            json!({"runtimeConfig": {"mac": "xx"}}),
            7,
            "runtimeConfig.mac",
        ),
        (json!({"prevResult": null, "mtu": 1400}), 7, "prevResult"),
        (
            json!({"prevResult": {"ips": [{"address": "10.0.0.1"}]}}),
            6,
            "prevResult.ips[0].address",
        ),
    ];
    for (extra, code, field) in cases {
        let conf = w.config("1.0.0", extra.clone());
        let (got, msg) = w.run(Twill, "ADD", &conf, &[]).err();
        assert_eq!(got, code, "{extra}: {msg}");
        assert!(
            msg.contains(field),
            "{extra}: {msg:?} does not name {field}"
        );
        assert_eq!(w.link(), before, "{extra} changed the link");
        assert!(!w.backup_file().exists(), "{extra} left a backup");
    }
    let conf = w.config("1.0.0", json!({"mtu": 1400}));
    let (code, msg) = w
        .run(Twill, "ADD", &conf, &[("CNI_ARGS", "MAC=nope")])
        .err();
    assert!(msg.contains("MAC") && code == 4, "{code} {msg}");
    let (code, msg) = w
        .run_in(
            Twill,
            "ADD",
            &conf,
            &[],
            Some("/nonexistent/netns".as_ref()),
        )
        .err();
    assert!(
        code == 8 && msg.contains("/nonexistent/netns"),
        "{code} {msg}"
    );
    let (code, _) = w
        .run(Twill, "CHECK", &w.config("0.3.1", json!({})), &[])
        .err();
    assert_eq!(code, 1, "CHECK needs 0.4.0");
    assert_eq!(w.link(), before);
}

#[test]
fn the_allowlist_refuses_keys_it_does_not_match() {
    let w = World::new();
    let list = w.tmp.join("allowlist.conf");
    std::fs::write(
        &list,
        "^net\\.core\\.somaxconn$\n\n^net\\.ipv4\\.conf\\.IFNAME\\.arp_filter$\n",
    )
    .unwrap();
    let env = [("TWILL_TUNING_ALLOWLIST", list.to_str().unwrap())];
    let allowed = w.config(
        "1.0.0",
        json!({"sysctl": {"net.core.somaxconn": "600", "net.ipv4.conf.IFNAME.arp_filter": "1"}}),
    );
    w.run(Twill, "ADD", &allowed, &env).ok();
    assert_eq!(w.sysctl("net.core.somaxconn"), "600");
    let refused = w.config(
        "1.0.0",
        json!({"sysctl": {"net.core.somaxconn": "601", "net.ipv4.ip_forward": "1"}}),
    );
    let (code, msg) = w.run(Twill, "ADD", &refused, &env).err();
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("net.ipv4.ip_forward"), "{msg}");
    assert_eq!(w.sysctl("net.core.somaxconn"), "600", "nothing was written");
}

#[test]
fn the_multi_call_binary_runs_a_plugin_named_by_its_first_argument() {
    let bin = env!("CARGO_BIN_EXE_twill-cni");
    let run = |args: &[&str], command: Option<&str>| {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(args)
            .env_clear()
            .stdin(std::process::Stdio::null());
        if let Some(c) = command {
            cmd.env("CNI_COMMAND", c);
        }
        cmd.output().unwrap()
    };
    let out = run(&["tuning"], Some("VERSION"));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["supportedVersions"].as_array().unwrap().len(), 7, "{v}");
    let about = run(&["tuning"], None);
    assert!(String::from_utf8_lossy(&about.stderr).contains("tuning"));
    for args in [&["no-such-plugin"][..], &[]] {
        let out = run(args, Some("VERSION"));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("tuning"),
            "{args:?} lists the plugins"
        );
    }
}
