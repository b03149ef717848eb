//! ipMasq's per-pod work is elements only: bridge and ptp ADD, CHECK, DEL and GC with
//! `ipMasq: true` run with `nft`, `iptables`, `ip` and `sh` on PATH replaced by traps.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod masq_support;
mod portmap_support;
mod support;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use masq_support::*;
use serde_json::{json, Value};
#[allow(unused_imports)]
use support::{Impl, Sandbox};

/// Runs our plugin `name` in the sandbox's host namespace with `PATH` set to `path`.
fn run_with_path(
    sb: &Sandbox,
    name: &str,
    cmd: &str,
    netns: &str,
    path: &str,
    conf: &Value,
) -> Value {
    let mut c = Command::new(sb.tmp.join("bin").join(name));
    c.env_clear()
        .env("PATH", path)
        .env("CNI_COMMAND", cmd)
        .env("CNI_CONTAINERID", "a")
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
fn masquerading_never_executes_a_program() {
    let mut sb = Sandbox::new();
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
    ] {
        let script = traps.join(tool);
        let body = format!("#!/bin/sh\necho {tool} >> {}\nexit 1\n", marker.display());
        std::fs::write(&script, body).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = traps.to_string_lossy().into_owned();
    for (plugin, conf) in [
        (
            "bridge",
            bridge_conf(&sb, &net_name("xb"), "br-x", "10.5.0.0/24"),
        ),
        ("ptp", ptp_conf(&sb, &net_name("xp"), "10.6.0.0/24")),
    ] {
        let pod = sb.pod(plugin);
        let netns = pod.path_str();
        let r = run_with_path(&sb, plugin, "ADD", &netns, &path, &conf);
        assert_eq!(elements(&sb.host.path, "pods4").len(), 1);
        let mut chk = conf.clone();
        chk["prevResult"] = r;
        run_with_path(&sb, plugin, "CHECK", &netns, &path, &chk);
        let mut gc = conf.clone();
        gc["cniVersion"] = "1.1.0".into();
        gc["cni.dev/valid-attachments"] = json!([{"containerID": "a", "ifname": "eth0"}]);
        run_with_path(&sb, plugin, "GC", &netns, &path, &gc);
        assert_eq!(elements(&sb.host.path, "pods4").len(), 1);
        run_with_path(&sb, plugin, "DEL", &netns, &path, &conf);
        assert!(elements(&sb.host.path, "pods4").is_empty());
    }
    assert!(
        !marker.exists(),
        "a plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}
