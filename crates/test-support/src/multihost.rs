//! Several "hosts" on one machine: each a network namespace with an `eth0` on a shared
//! underlay bridge (in a namespace of its own), addresses 198.18.0.N/24, and the bridge's
//! namespace playing the rest of the network: it holds 198.18.0.254 (where etcd listens) and
//! routes to an "outside" namespace at 198.19.0.1/24, the world beyond the cluster.
//!
//! Everything lives under a test-only directory and is deleted on drop, also when the test
//! fails. The machine's own namespace is never touched.

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use twill_kernel::{Address, IpPrefix, LinkId, NewLink, Route};

use crate::host_settings::HostSettings;
use crate::namespaces::Namespaces;

/// A namespace of the world: the shared harness's [`crate::Ns`].
pub use crate::ns::Ns as Node;

/// The underlay's own address (etcd listens here).
pub const UNDERLAY_GW: &str = "198.18.0.254";
/// The outside namespace's address.
pub const OUTSIDE: &str = "198.19.0.1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap()
}

/// A host on the underlay.
pub struct Host {
    /// Its namespace.
    pub node: Node,
    /// Its number (1-based).
    pub n: u8,
    /// Its underlay address, 198.18.0.n.
    pub addr: IpAddr,
    /// A directory of its own (subnet.env, state, CNI config and cache).
    pub dir: PathBuf,
}

/// The world: underlay, outside, hosts, and a temporary directory.
pub struct World {
    /// The underlay bridge's namespace (and the router to the outside).
    pub underlay: Node,
    /// The namespace beyond the cluster.
    pub outside: Node,
    /// Temporary files of the world.
    pub tmp: PathBuf,
    children: Vec<Child>,
    // Last: the namespaces go after the processes in them are gone.
    namespaces: Namespaces,
}

impl Node {
    /// A command that runs `program` inside this namespace (network only: files are shared).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        crate::child::command_in(&self.ns, program)
    }

    /// Runs `program args…` inside the namespace and returns its output; fails the test
    /// with the output when it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        crate::child::in_ns(&self.ns, program, args)
    }

    /// Whether `ping -c 1` from this namespace to `to` succeeds within `secs`.
    pub fn ping(&self, to: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let ok = self
                .command("ping")
                .args(["-c", "1", "-W", "1", to])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl World {
    /// A world with `hosts` hosts.
    pub fn new(hosts: u8) -> (World, Vec<Host>) {
        let mut namespaces = Namespaces::new();
        let tmp = std::env::temp_dir().join(format!("twill-multihost-{}", namespaces.id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        // The underlay plays the network between the hosts: a bridge holding 198.18.0.254,
        // routing to the outside.
        let forwarding = HostSettings::inherited().with("net.ipv4.ip_forward", "1");
        let mut underlay = namespaces.host("underlay", &forwarding);
        let mut outside = namespaces.host("outside", &HostSettings::inherited());
        underlay.nl.link_add(&NewLink::bridge("br0").up()).unwrap();
        let br = underlay.nl.link_index("br0").unwrap();
        underlay
            .nl
            .addr_add(&Address::new(br, prefix("198.18.0.254/24")))
            .unwrap();
        underlay
            .nl
            .link_add(
                &NewLink::veth("out0", "eth0")
                    .peer_netns(outside.ns.as_fd())
                    .up(),
            )
            .unwrap();
        let out0 = underlay.nl.link_index("out0").unwrap();
        underlay
            .nl
            .addr_add(&Address::new(out0, prefix("198.19.0.254/24")))
            .unwrap();
        let oeth = outside.nl.link_index("eth0").unwrap();
        outside.nl.link_set_up(LinkId::Index(oeth)).unwrap();
        outside
            .nl
            .addr_add(&Address::new(oeth, prefix("198.19.0.1/24")))
            .unwrap();
        let mut world = World {
            underlay,
            outside,
            tmp,
            children: Vec::new(),
            namespaces,
        };
        let hosts = (1..=hosts).map(|n| world.add_host(n)).collect();
        (world, hosts)
    }

    /// Adds host `n` (a node joining later).
    pub fn add_host(&mut self, n: u8) -> Host {
        // A real container host's settings (strict rp_filter, br_netfilter's calls), and
        // forwarding on whatever TWILL_TEST_HOST_SETTINGS says: a host that networks pods
        // forwards, and the machine's own setting is nothing a test may rely on.
        let mut node = self
            .namespaces
            .host(&format!("h{n}"), &HostSettings::default().forwarding(true));
        let port = format!("p{n}");
        self.underlay
            .nl
            .link_add(
                &NewLink::veth(&port, "eth0")
                    .peer_netns(node.ns.as_fd())
                    .up(),
            )
            .unwrap();
        let br = self.underlay.nl.link_index("br0").unwrap();
        let p = self.underlay.nl.link_index(&port).unwrap();
        self.underlay
            .nl
            .link_set_master(LinkId::Index(p), Some(br))
            .unwrap();
        let eth = node.nl.link_index("eth0").unwrap();
        node.nl.link_set_up(LinkId::Index(eth)).unwrap();
        let addr = ip(&format!("198.18.0.{n}"));
        node.nl
            .addr_add(&Address::new(eth, IpPrefix::new(addr, 24).unwrap()))
            .unwrap();
        node.nl
            .route_add(
                &Route::new(prefix("0.0.0.0/0"))
                    .via(ip(UNDERLAY_GW))
                    .dev(eth),
            )
            .unwrap();
        let dir = self.tmp.join(format!("h{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        Host { node, n, addr, dir }
    }

    /// A pod namespace on no host yet (plugins attach it).
    pub fn pod(&mut self, name: &str) -> Node {
        self.namespaces.plain(name)
    }

    /// Keeps `child` to be killed when the world ends.
    pub fn adopt(&mut self, child: Child) -> u32 {
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// The temporary directory.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
        // The namespaces are deleted (and the test thread's namespace checked) when the
        // `namespaces` field drops, after this.
    }
}
