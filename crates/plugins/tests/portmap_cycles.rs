//! portmap's per-pod work is elements only: the chain runs with `nft`, `iptables`, `ip`
//! and `sh` on PATH replaced by traps, and 1,000 ADD/DEL cycles leave the ruleset exactly
//! as it was after the first ADD's skeleton.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use portmap_support::*;
use serde_json::{json, Value};
#[allow(unused_imports)]
use support::{Impl, Sandbox};

/// Runs our plugin `name` in the sandbox's host namespace with `PATH` set to `path`.
fn run_with_path(
    sb: &Sandbox,
    name: &str,
    cmd: &str,
    id: &str,
    netns: &str,
    path: &str,
    conf: &Value,
) -> Value {
    let mut c = Command::new(sb.tmp.join("bin").join(name));
    c.env_clear()
        .env("PATH", path)
        .env("CNI_COMMAND", cmd)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", netns)
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", sb.tmp.join("bin"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let host_fd = sb.host.ns.as_fd().as_raw_fd();
    // SAFETY: runs in the forked child before exec and only calls setns(2), which is
    // async-signal-safe; `host_fd` stays open in the parent for the whole call.
    unsafe {
        c.pre_exec(move || {
            if libc::setns(host_fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(conf).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{name} {cmd}: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn the_chain_never_executes_a_program() {
    let mut sb = Sandbox::new();
    let a = sb.pod("a");
    let traps = sb.tmp.join("traps");
    std::fs::create_dir_all(&traps).unwrap();
    let marker = sb.tmp.join("trap-fired");
    for tool in [
        "nft",
        "iptables",
        "ip6tables",
        "ip",
        "sh",
        "iptables-restore",
        "conntrack",
    ] {
        let script = traps.join(tool);
        let body = format!("#!/bin/sh\necho {tool} >> {}\nexit 1\n", marker.display());
        std::fs::write(&script, body).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = traps.to_string_lossy().into_owned();
    let netns = a.path_str();
    let bc = bridge_conf(&sb);
    let r = run_with_path(&sb, "bridge", "ADD", "a", &netns, &path, &bc);
    let m = json!([{"hostPort": 8080, "containerPort": 80},
                   {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    let pc = portmap_conf(&sb, &r, m, json!({}));
    run_with_path(&sb, "portmap", "ADD", "a", &netns, &path, &pc);
    assert_eq!(elements(&sb.host.path, "ip", "hostports").len(), 2);
    run_with_path(&sb, "portmap", "DEL", "a", &netns, &path, &pc);
    run_with_path(&sb, "bridge", "DEL", "a", &netns, &path, &bc);
    assert!(elements(&sb.host.path, "ip", "hostports").is_empty());
    assert!(
        !marker.exists(),
        "a plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

#[test]
fn a_thousand_add_del_cycles_leave_the_skeleton_exactly_as_installed() {
    let mut sb = Sandbox::new();
    let (a, ra) = pod(&mut sb, "a");
    let m = json!([{"hostPort": 8080, "containerPort": 80},
                   {"hostPort": 8443, "containerPort": 443, "hostIP": HOST},
                   {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    assert_eq!(elements(&sb.host.path, "ip", "hostports").len(), 2);
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    let skeleton = ruleset(&sb.host.path);
    assert!(skeleton.to_string().contains("twill_portmap"));
    for i in 0..1000 {
        let id = format!("ctr-{i}");
        sb.twill("portmap", "ADD", &id, &a.path, &c).ok();
        sb.twill("portmap", "DEL", &id, &a.path, &c).ok();
    }
    assert_eq!(ruleset(&sb.host.path), skeleton);
    // The network's record directory goes with its last record.
    let records = std::fs::read_dir(sb.tmp.join("portmap/testnet")).map_or(0, Iterator::count);
    assert_eq!(records, 0);
}
