//! The chains measured. Each is a conflist template whose IPAM data lives in the run's own
//! scratch directory.

use std::path::Path;

use serde_json::{json, Map, Value};

/// A chain to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// bridge with host-local: the plugin pair every runtime's default starts with.
    Bridge,
    /// The chain `podman network create` writes (CNI backend, podman 4.3): bridge with
    /// ipMasq and hairpinMode over host-local, portmap, firewall, tuning — with one host
    /// port mapped per pod, as `podman run -p` asks.
    Podman,
    /// bridge with host-local followed by bandwidth, each pod shaped both ways through the
    /// `bandwidth` capability as Kubernetes' bandwidth annotations ask: a tbf on the host
    /// veth and an ifb with its own tbf per pod.
    Bandwidth,
    /// macvlan with host-local: a child of a parent device in the node's host namespace
    /// (a veth whose peer is up, so the parent has carrier) per pod.
    Macvlan,
}

/// The first pod's host port; pod i maps `HOST_PORT_BASE + i` (a run has at most 5,000 pods).
const HOST_PORT_BASE: usize = 20_000;

impl Scenario {
    /// Every scenario, by name.
    pub const ALL: [Scenario; 4] = [
        Scenario::Bridge,
        Scenario::Podman,
        Scenario::Bandwidth,
        Scenario::Macvlan,
    ];

    /// The parent device the macvlan scenario hangs pods off, made in each node.
    pub const PARENT: &'static str = "bench-up0";

    /// The scenario's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Bridge => "bridge",
            Scenario::Podman => "podman",
            Scenario::Bandwidth => "bandwidth",
            Scenario::Macvlan => "macvlan",
        }
    }

    /// A human description for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Bridge => "bridge + host-local (isGateway), exec'd directly",
            Scenario::Podman => {
                "podman's chain: bridge (ipMasq, hairpinMode) + host-local, portmap with one \
                 mapping per pod, firewall, tuning; run as libcni does"
            }
            Scenario::Bandwidth => {
                "bridge + host-local (isGateway), then bandwidth with both directions limited \
                 through the bandwidth capability; run as libcni does"
            }
            Scenario::Macvlan => {
                "macvlan (bridge mode) + host-local on a parent veth, exec'd directly"
            }
        }
    }

    /// The conflist, with host-local's data under `data_dir`. 1.0.0 is the newest version
    /// the reference plugins speak, so both sides run at it. A /16 holds every pod a run may
    /// create.
    pub fn conflist(self, data_dir: &Path) -> Value {
        match self {
            Scenario::Bridge => json!({
                "cniVersion": "1.0.0",
                "name": "twill-bench",
                "plugins": [bridge_plugin(data_dir)]
            }),
            // What podman 4.3 writes for `podman network create --subnet`, cniVersion and
            // all; the gateway route is host-local's, as in podman's file. Added: the
            // `dataDir`s that keep twill's records in the run's scratch directory.
            Scenario::Podman => json!({
                "cniVersion": "0.4.0",
                "name": "twill-bench",
                "plugins": [
                    {
                        "type": "bridge",
                        "bridge": "bench0",
                        "isGateway": true,
                        "ipMasq": true,
                        "hairpinMode": true,
                        "ipam": {
                            "type": "host-local",
                            "dataDir": data_dir,
                            "routes": [{"dst": "0.0.0.0/0"}],
                            "ranges": [[{"subnet": "10.128.0.0/16", "gateway": "10.128.0.1"}]]
                        }
                    },
                    {"type": "portmap", "capabilities": {"portMappings": true},
                     "dataDir": beside(data_dir, "portmap")},
                    {"type": "firewall", "backend": "", "dataDir": beside(data_dir, "firewall")},
                    {"type": "tuning"}
                ]
            }),
            Scenario::Bandwidth => json!({
                "cniVersion": "1.0.0",
                "name": "twill-bench",
                "plugins": [
                    bridge_plugin(data_dir),
                    {"type": "bandwidth", "capabilities": {"bandwidth": true}}
                ]
            }),
            Scenario::Macvlan => json!({
                "cniVersion": "1.0.0",
                "name": "twill-bench",
                "plugins": [{
                    "type": "macvlan",
                    "master": Scenario::PARENT,
                    "mode": "bridge",
                    "ipam": {
                        "type": "host-local",
                        "dataDir": data_dir,
                        "ranges": [[{"subnet": "10.128.0.0/16"}]]
                    }
                }]
            }),
        }
    }

    /// The runtime's capability arguments for pod `pod`: a host port of its own in the
    /// podman chain (the runtime passes the same on DEL), 10 Mbit/s each way in the
    /// bandwidth chain, none for bare bridge.
    pub fn capability_args(self, pod: usize) -> Map<String, Value> {
        let mut args = Map::new();
        if self == Scenario::Podman {
            args.insert(
                "portMappings".to_owned(),
                json!([{
                    "hostPort": HOST_PORT_BASE + pod,
                    "containerPort": 80,
                    "protocol": "tcp"
                }]),
            );
        }
        if self == Scenario::Bandwidth {
            args.insert(
                "bandwidth".to_owned(),
                json!({"ingressRate": 10_000_000, "ingressBurst": 1_000_000,
                       "egressRate": 10_000_000, "egressBurst": 1_000_000}),
            );
        }
        args
    }

    /// Plugin names the chain execs, which twill's directory must link to `twill-cni`.
    pub fn plugin_names(self) -> &'static [&'static str] {
        match self {
            Scenario::Bridge => &["bridge", "host-local"],
            Scenario::Podman => &["bridge", "host-local", "portmap", "firewall", "tuning"],
            Scenario::Bandwidth => &["bridge", "host-local", "bandwidth"],
            Scenario::Macvlan => &["macvlan", "host-local"],
        }
    }
}

impl Scenario {
    /// What the node's host namespace needs before the first pod: the macvlan scenario's
    /// parent device.
    pub fn prepare(self, node: &crate::node::Node) -> Result<(), twill_kernel::Error> {
        match self {
            Scenario::Macvlan => node.add_parent(Scenario::PARENT),
            Scenario::Bridge | Scenario::Podman | Scenario::Bandwidth => Ok(()),
        }
    }
}

/// A directory beside `dir` for `what`: the run's scratch directory holds every record twill's
/// plugins keep, so a run leaves nothing under /run/cni (the reference ignores `dataDir`).
fn beside(dir: &Path, what: &str) -> std::path::PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!("-{what}"));
    dir.with_file_name(name)
}

/// The bridge scenario's plugin, which the bandwidth scenario chains in front of bandwidth:
/// a gateway bridge with host-local over a /16.
fn bridge_plugin(data_dir: &Path) -> Value {
    json!({
        "type": "bridge",
        "bridge": "bench0",
        "isGateway": true,
        "ipam": {
            "type": "host-local",
            "dataDir": data_dir,
            "ranges": [[{"subnet": "10.128.0.0/16"}]]
        }
    })
}
