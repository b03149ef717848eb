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
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use twill_kernel::{Address, IpPrefix, LinkId, NetNs, NetNsDir, Netlink, NewLink, Route};

/// Where the multi-host worlds keep their namespaces.
pub const ROOT: &str = "/run/twill-multihost-tests";

/// The underlay's own address (etcd listens here).
pub const UNDERLAY_GW: &str = "198.18.0.254";
/// The outside namespace's address.
pub const OUTSIDE: &str = "198.19.0.1";

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap()
}

/// One namespace of the world.
pub struct Node {
    /// Its name.
    pub name: String,
    /// Its path (for `nsenter --net=`, `CNI_NETNS`).
    pub path: PathBuf,
    /// The open namespace.
    pub ns: NetNs,
    /// A socket inside it.
    pub nl: Netlink,
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
    dir: NetNsDir,
    id: String,
    names: Vec<String>,
    /// The underlay bridge's namespace (and the router to the outside).
    pub underlay: Node,
    /// The namespace beyond the cluster.
    pub outside: Node,
    /// Temporary files of the world.
    pub tmp: PathBuf,
    home: (u64, u64),
    children: Vec<Child>,
}

impl Node {
    /// The path as text.
    pub fn path_str(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// A command that runs `program` inside this namespace (network only: files are shared).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.path.display()))
            .arg("--")
            .arg(program);
        c
    }

    /// Runs `program args…` inside the namespace and returns its output; panics with the
    /// output when it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} in {}: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
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

    /// Sets a sysctl in this namespace.
    pub fn sysctl(&self, key: &str, value: &str) {
        let key = key.to_owned();
        let value = value.to_owned();
        self.ns
            .run(move || twill_kernel::sysctl::write(&key, &value))
            .unwrap()
            .unwrap();
    }
}

impl World {
    /// A world with `hosts` hosts.
    pub fn new(hosts: u8) -> (World, Vec<Host>) {
        crate::require_root();
        let home = NetNs::current().unwrap().identity().unwrap();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = NetNsDir::unshared(ROOT);
        let tmp = std::env::temp_dir().join(format!("twill-multihost-{id}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let mk = |name: &str| -> Node {
            let full = format!("{id}-{name}");
            let ns = dir.create(&full).unwrap();
            let mut nl = ns.netlink().unwrap();
            nl.link_set_up(LinkId::Index(1)).unwrap();
            Node {
                name: full.clone(),
                path: dir.path(&full).unwrap(),
                ns,
                nl,
            }
        };
        let mut underlay = mk("underlay");
        let mut outside = mk("outside");
        let mut names = vec![underlay.name.clone(), outside.name.clone()];
        // The underlay: a bridge holding 198.18.0.254, routing to the outside.
        underlay.nl.link_add(&NewLink::bridge("br0").up()).unwrap();
        let br = underlay.nl.link_index("br0").unwrap();
        underlay
            .nl
            .addr_add(&Address::new(br, prefix("198.18.0.254/24")))
            .unwrap();
        underlay.sysctl("net/ipv4/ip_forward", "1");
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
            dir,
            id,
            names: Vec::new(),
            underlay,
            outside,
            tmp,
            home,
            children: Vec::new(),
        };
        let mut hosts_out = Vec::new();
        for n in 1..=hosts {
            hosts_out.push(world.add_host(n));
        }
        names.append(&mut world.names);
        world.names = names;
        (world, hosts_out)
    }

    /// Adds host `n` (a node joining later).
    pub fn add_host(&mut self, n: u8) -> Host {
        let full = format!("{}-h{n}", self.id);
        let ns = self.dir.create(&full).unwrap();
        self.names.push(full.clone());
        let mut nl = ns.netlink().unwrap();
        nl.link_set_up(LinkId::Index(1)).unwrap();
        let port = format!("p{n}");
        self.underlay
            .nl
            .link_add(&NewLink::veth(&port, "eth0").peer_netns(ns.as_fd()).up())
            .unwrap();
        let br = self.underlay.nl.link_index("br0").unwrap();
        let p = self.underlay.nl.link_index(&port).unwrap();
        self.underlay
            .nl
            .link_set_master(LinkId::Index(p), Some(br))
            .unwrap();
        let eth = nl.link_index("eth0").unwrap();
        nl.link_set_up(LinkId::Index(eth)).unwrap();
        let addr = ip(&format!("198.18.0.{n}"));
        nl.addr_add(&Address::new(eth, IpPrefix::new(addr, 24).unwrap()))
            .unwrap();
        nl.route_add(
            &Route::new(prefix("0.0.0.0/0"))
                .via(ip(UNDERLAY_GW))
                .dev(eth),
        )
        .unwrap();
        let node = Node {
            name: full,
            path: self.dir.path(&format!("{}-h{n}", self.id)).unwrap(),
            ns,
            nl,
        };
        // A real container host's settings (strict rp_filter, br_netfilter's calls), and
        // forwarding on whatever TWILL_TEST_HOST_SETTINGS says: a host that networks pods
        // forwards, and the machine's own setting is nothing a test may rely on.
        crate::HostSettings::default()
            .forwarding(true)
            .apply(&node.ns);
        let dir = self.tmp.join(format!("h{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        Host { node, n, addr, dir }
    }

    /// A pod namespace on no host yet (plugins attach it).
    pub fn pod(&mut self, name: &str) -> Node {
        let full = format!("{}-{name}", self.id);
        let ns = self.dir.create(&full).unwrap();
        self.names.push(full.clone());
        let nl = ns.netlink().unwrap();
        Node {
            path: self.dir.path(&full).unwrap(),
            name: full,
            ns,
            nl,
        }
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
        for name in self.names.drain(..) {
            if let Err(e) = self.dir.delete(&name) {
                if !e.is_not_found() {
                    eprintln!("world cleanup: {e}");
                }
            }
        }
        self.dir.remove_if_empty();
        let _ = std::fs::remove_dir_all(&self.tmp);
        if !std::thread::panicking() {
            let now = NetNs::current().and_then(|ns| ns.identity()).unwrap();
            assert_eq!(now, self.home, "the test thread changed network namespace");
        }
    }
}
