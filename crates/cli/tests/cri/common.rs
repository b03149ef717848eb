//! What the CRI tests share: the node's network configuration, reachability, and a snapshot
//! of everything a pod's network leaves on a node.

use std::net::IpAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twill_kernel::tc::QdiscKind;
use twill_kernel::NetNs;
use twill_test_support::child::command_in;
use twill_test_support::cri::{CriNode, NodePaths};
use twill_test_support::files;

pub const SUBNET4: &str = "10.22.0.0/24";
pub const GW4: &str = "10.22.0.1";
pub const SUBNET6: &str = "fd00:22::/64";
pub const GW6: &str = "fd00:22::1";
pub const BRIDGE: &str = "cni0";

/// A kubelet-style bridge network: bridge (gateway, masquerade, hairpin) with host-local,
/// then portmap — IPv4, or dual stack.
pub fn bridge_list(p: &NodePaths, dual: bool) -> Value {
    let mut ranges = vec![json!([{"subnet": SUBNET4}])];
    let mut routes = vec![json!({"dst": "0.0.0.0/0"})];
    if dual {
        ranges.push(json!([{"subnet": SUBNET6}]));
        routes.push(json!({"dst": "::/0"}));
    }
    json!({
        "cniVersion": "1.0.0",
        "name": p.network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "dataDir": p.ipam(),
                    "ranges": ranges,
                    "routes": routes
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}, "dataDir": p.data("portmap")}
        ]
    })
}

/// Whether `ping` from `ns` reaches `to` within 10 s (IPv6 addresses need duplicate address
/// detection to finish first).
pub fn ping(ns: &NetNs, to: IpAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ok = command_in(ns, "ping")
            .args(["-c", "1", "-W", "1", &to.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The addresses (`addr/len`) on `ifname` in `ns`.
pub fn addresses(ns: &NetNs, ifname: &str) -> Vec<String> {
    let mut nl = ns.netlink().unwrap();
    let idx = nl.link_index(ifname).unwrap();
    nl.addr_list(None, Some(idx))
        .unwrap()
        .into_iter()
        .map(|a| a.prefix.to_string())
        .collect()
}

/// Everything of pods' networks a node can hold.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// veth links in the host namespace.
    pub veths: Vec<String>,
    /// ifb links in the host namespace (bandwidth's egress shaping).
    pub ifbs: Vec<String>,
    /// Shaping qdiscs (tbf, ingress, clsact) on any link of the host namespace, as
    /// `<link> <kind>`.
    pub shaping: Vec<String>,
    /// host-local's reservations.
    pub reservations: Vec<String>,
    /// libcni's cache entries of the node's sandboxes.
    pub cache: Vec<String>,
    /// Elements of every nf_tables set and map in the host namespace.
    pub nft_elements: Vec<String>,
    /// twill's per-attachment records (portmap's and the masquerade's).
    pub records: Vec<String>,
    /// Processes in the pods' cgroups.
    pub processes: usize,
    /// Mounts under containerd's directory (namespace pins, rootfs, shm).
    pub mounts: Vec<String>,
    /// Running shims.
    pub shims: usize,
}

impl Snapshot {
    /// The node as it is now.
    pub fn of(node: &CriNode) -> Snapshot {
        let p = node.paths();
        let mut nl = node.host.ns.netlink().unwrap();
        let links = nl.link_list().unwrap();
        let of_kind = |k: &str| {
            links
                .iter()
                .filter(|l| l.kind.as_deref() == Some(k))
                .map(|l| l.name.clone())
                .collect::<Vec<_>>()
        };
        let (veths, ifbs) = (of_kind("veth"), of_kind("ifb"));
        let mut shaping = Vec::new();
        for l in &links {
            for q in nl.qdisc_list(Some(l.index)).unwrap() {
                if matches!(
                    q.kind,
                    QdiscKind::Tbf(_) | QdiscKind::Ingress | QdiscKind::Clsact
                ) {
                    shaping.push(format!("{} {}", l.name, q.kind.name()));
                }
            }
        }
        let reservations = files::reservations(&p.ipam().join(&p.network));
        let ruleset = twill_test_support::nft::ruleset(&node.host.path);
        let mut nft_elements = Vec::new();
        for o in twill_test_support::nft::objects(&ruleset) {
            for kind in ["set", "map"] {
                // The skeleton's version marker is the table's, not a pod's.
                if o[kind]["name"] == "skeleton_version" {
                    continue;
                }
                if let Some(elems) = o[kind]["elem"].as_array() {
                    for e in elems {
                        nft_elements.push(format!(
                            "{} {} {}: {e}",
                            o[kind]["family"], o[kind]["table"], o[kind]["name"]
                        ));
                    }
                }
            }
        }
        let mut records = files::files_below(&p.data("portmap"));
        records.extend(files::files_below(
            &std::path::Path::new("/run/cni/twill-masq").join(&p.network),
        ));
        Snapshot {
            veths,
            ifbs,
            shaping,
            reservations,
            cache: node.containerd.cache_entries(),
            nft_elements,
            records,
            processes: node.containerd.pod_processes().len(),
            mounts: node
                .containerd
                .mounts()
                .iter()
                .map(|m| m.display().to_string())
                .collect(),
            shims: node.containerd.shim_count(),
        }
    }

    /// Fails unless nothing of any pod is left.
    pub fn assert_empty(&self, what: &str) {
        assert_eq!(self, &Snapshot::default(), "{what}: pods left state behind");
    }
}
