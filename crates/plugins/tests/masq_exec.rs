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

use masq_support::*;
use serde_json::json;
use support::Sandbox;

#[test]
fn masquerading_never_executes_a_program() {
    let mut sb = Sandbox::new();
    let (path, marker) = sb.traps(&[
        "nft",
        "iptables",
        "ip6tables",
        "ip",
        "sh",
        "iptables-restore",
    ]);
    for (plugin, conf) in [
        (
            "bridge",
            bridge_conf(&sb, &net_name("xb"), "br-x", "10.5.0.0/24"),
        ),
        ("ptp", ptp_conf(&sb, &net_name("xp"), "10.6.0.0/24")),
    ] {
        let pod = sb.pod(plugin);
        let netns = pod.path_str();
        let r = sb.run_with_path(plugin, "ADD", "a", &netns, &path, &conf);
        assert_eq!(elements(&sb.host.path, "pods4").len(), 1);
        let mut chk = conf.clone();
        chk["prevResult"] = r;
        sb.run_with_path(plugin, "CHECK", "a", &netns, &path, &chk);
        let mut gc = conf.clone();
        gc["cniVersion"] = "1.1.0".into();
        gc["cni.dev/valid-attachments"] = json!([{"containerID": "a", "ifname": "eth0"}]);
        sb.run_with_path(plugin, "GC", "a", &netns, &path, &gc);
        assert_eq!(elements(&sb.host.path, "pods4").len(), 1);
        sb.run_with_path(plugin, "DEL", "a", &netns, &path, &conf);
        assert!(elements(&sb.host.path, "pods4").is_empty());
    }
    assert!(
        !marker.exists(),
        "a plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}
