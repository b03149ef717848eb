//! The test plugin `twill-test-echo` as a real process: what integration tests of runtimes
//! rely on it for.

// Helpers outside #[test] functions may unwrap and panic too: a panic is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod skel_support;

use std::path::Path;

use serde_json::{json, Value};
use skel_support::process::{exec, ECHO};

fn run(command: &str, extra: &[(&str, &str)], stdin: &Value) -> (i32, Value) {
    let env: Vec<(String, String)> = [
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", "ctr1"),
        ("CNI_NETNS", "/nonexistent/netns"),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let out = exec(Path::new(ECHO), &env, &serde_json::to_vec(stdin).unwrap());
    let value = if out.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout).unwrap()
    };
    (out.exit.unwrap(), value)
}

#[test]
fn add_echoes_prev_result_or_prints_a_minimal_result() {
    let conf = json!({"cniVersion": "1.0.0", "name": "n"});
    assert_eq!(run("ADD", &[], &conf), (0, json!({"cniVersion": "1.0.0"})));
    let prev = json!({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2/24"}]});
    let conf = json!({"cniVersion": "1.0.0", "name": "n", "prevResult": prev});
    assert_eq!(run("ADD", &[], &conf), (0, prev));
}

#[test]
fn other_commands_succeed_silently() {
    let conf = json!({"cniVersion": "1.1.0", "name": "n"});
    for command in ["DEL", "CHECK", "GC", "STATUS"] {
        assert_eq!(run(command, &[], &conf), (0, Value::Null), "{command}");
    }
}

#[test]
fn echo_error_fails_the_listed_commands_only() {
    let conf = json!({"cniVersion": "1.1.0", "name": "n",
        "echoError": {"code": 11, "msg": "busy", "details": "try later", "commands": ["DEL"]}});
    assert_eq!(
        run("DEL", &[], &conf),
        (
            1,
            json!({"cniVersion": "1.1.0", "code": 11, "msg": "busy", "details": "try later"})
        )
    );
    assert_eq!(run("CHECK", &[], &conf).0, 0);
    let conf = json!({"cniVersion": "1.1.0", "name": "n", "echoError": {"msg": "no"}});
    assert_eq!(run("STATUS", &[], &conf).1["code"], 100);
}

#[test]
fn echo_log_records_what_each_call_received() {
    let log = std::env::temp_dir().join(format!("twill-echo-log-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let conf = json!({"cniVersion": "0.4.0", "name": "n", "echoLog": log.to_string_lossy()});
    assert_eq!(run("ADD", &[("CNI_ARGS", "A=1;B=2")], &conf).0, 0);
    assert_eq!(run("DEL", &[], &conf).0, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["command"], "ADD");
    assert_eq!(lines[0]["args"], json!([["A", "1"], ["B", "2"]]));
    assert_eq!(lines[0]["path"], json!(["/opt/cni/bin", "/usr/lib/cni"]));
    assert_eq!(lines[0]["netns"], "/nonexistent/netns");
    assert_eq!(lines[1]["command"], "DEL");
    assert_eq!(lines[1]["containerId"], "ctr1");
    assert_eq!(lines[1]["cniVersion"], "0.4.0");
}
