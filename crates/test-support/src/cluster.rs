//! The overlay's test cluster: a [`World`] of hosts, one etcd on the underlay, one twilld per
//! host, and pods attached through the stock flannel conflist by twill's CLI. The overlay's
//! tests and its benchmark both drive it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::{binary, plugin_dir};
use crate::etcd::Etcd;
use crate::multihost::{Host, Node, World, UNDERLAY_GW};
use serde_json::Value;

pub const PREFIX: &str = "/coreos.com/network";

/// A cluster: the world, etcd, the hosts and their agents.
pub struct Cluster {
    pub hosts: Vec<Host>,
    pub agents: Vec<Option<Child>>,
    pub etcd: Etcd,
    pub world: World,
    pub bin: PathBuf,
    pub ttl: u32,
}

/// A pod attached to a host.
pub struct Pod {
    pub node: Node,
    pub ip: IpAddr,
    pub ip6: Option<IpAddr>,
    pub host: usize,
    pub id: String,
}

impl Cluster {
    /// `hosts` hosts, etcd holding `config`, agents not started yet.
    pub fn new(hosts: u8, config: &str) -> Cluster {
        let (world, hosts) = World::new(hosts);
        let etcd = Etcd::start(&world.underlay, UNDERLAY_GW, world.tmp());
        etcd.put(&format!("{PREFIX}/config"), config);
        let bin = plugin_dir(
            &world.tmp().join("bin"),
            &["flannel", "bridge", "host-local", "portmap", "loopback"],
        );
        let agents = hosts.iter().map(|_| None).collect();
        Cluster {
            hosts,
            agents,
            etcd,
            world,
            bin,
            ttl: 30,
        }
    }

    /// twilld for host `i` with the cluster's flags (etcd, underlay, TTL, paths).
    pub fn agent_command(&self, i: usize) -> Command {
        let h = &self.hosts[i];
        let mut c = h.node.command(binary("twilld"));
        c.arg(format!("--etcd-endpoints={}", self.etcd.endpoint()))
            .args(["--iface", "eth0", "--ip-masq", "--resync", "5"])
            .arg(format!("--subnet-lease-ttl={}", self.ttl))
            .arg(format!(
                "--subnet-file={}",
                h.dir.join("subnet.env").display()
            ))
            .arg(format!("--state-dir={}", h.dir.join("state").display()));
        c
    }

    /// Starts twilld on host `i` with `extra` flags.
    pub fn start_agent(&mut self, i: usize, extra: &[&str]) {
        assert!(self.agents[i].is_none(), "agent {i} already runs");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.hosts[i].dir.join("twilld.log"))
            .unwrap();
        let child = self
            .agent_command(i)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.agents[i] = Some(child);
    }

    /// Starts every agent and waits for each subnet.env.
    pub fn start_all(&mut self, extra: &[&str]) {
        for i in 0..self.hosts.len() {
            self.start_agent(i, extra);
        }
        for i in 0..self.hosts.len() {
            self.wait_subnet_env(i);
        }
    }

    /// Stops agent `i` with `signal` and waits for it.
    pub fn stop_agent(&mut self, i: usize, signal: i32) {
        if let Some(mut c) = self.agents[i].take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, signal) };
            let _ = c.wait();
        }
    }

    /// The agent's log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.hosts[i].dir.join("twilld.log")).unwrap_or_default()
    }

    /// subnet.env of host `i`, once written.
    pub fn wait_subnet_env(&self, i: usize) -> String {
        let f = self.hosts[i].dir.join("subnet.env");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(t) = std::fs::read_to_string(&f) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "host {i}: no subnet.env after 30 s; log:\n{}",
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Host `i`'s subnet (FLANNEL_SUBNET's network) as text.
    pub fn subnet(&self, i: usize) -> String {
        let env = self.wait_subnet_env(i);
        let line = env
            .lines()
            .find_map(|l| l.strip_prefix("FLANNEL_SUBNET="))
            .unwrap();
        let (addr, len) = line.split_once('/').unwrap();
        let a: std::net::Ipv4Addr = addr.parse().unwrap();
        let net = u32::from(a) & (u32::MAX << (32 - len.parse::<u32>().unwrap()));
        format!("{}/{len}", std::net::Ipv4Addr::from(net))
    }

    /// The stock kube-flannel conflist (flannel delegating to bridge, then portmap) for host
    /// `i`, with the host's own paths for what the stock file leaves at machine-wide defaults
    /// (subnet.env, flannel's and host-local's data directories).
    pub fn flannel_conflist(&self, i: usize) -> Value {
        let h = &self.hosts[i];
        serde_json::json!({
            "name": "cbr0",
            "cniVersion": "1.0.0",
            "plugins": [
                {
                    "type": "flannel",
                    "subnetFile": h.dir.join("subnet.env"),
                    "dataDir": h.dir.join("flannel"),
                    "ipam": {"dataDir": h.dir.join("ipam")},
                    "delegate": {"hairpinMode": true, "isDefaultGateway": true}
                },
                {"type": "portmap", "capabilities": {"portMappings": true}}
            ]
        })
    }

    fn cni_env(&self, i: usize, c: &mut Command) {
        let h = &self.hosts[i];
        let netd = h.dir.join("net.d");
        std::fs::create_dir_all(&netd).unwrap();
        let conflist = self.flannel_conflist(i);
        std::fs::write(netd.join("10-flannel.conflist"), conflist.to_string()).unwrap();
        c.env("NETCONFPATH", &netd)
            .env("CNI_PATH", &self.bin)
            .env("TWILL_CACHE_DIR", h.dir.join("cache"))
            .env("TWILL_STATE_DIR", h.dir.join("run"));
    }

    /// Attaches a new pod to host `i` through twill's CLI and the stock conflist.
    pub fn pod(&mut self, i: usize, name: &str) -> Pod {
        self.attach(i, name, false)
    }

    /// Attaches a new pod to host `i` through the reference runtime (Go's libcni driving
    /// twill's plugins) and the stock conflist.
    pub fn pod_libcni(&mut self, i: usize, name: &str) -> Pod {
        self.attach(i, name, true)
    }

    fn attach(&mut self, i: usize, name: &str, libcni: bool) -> Pod {
        let node = self.world.pod(name);
        let id = format!("{}-{name}", std::process::id());
        let mut c = if libcni {
            let h = &self.hosts[i];
            let mut c = h.node.command(crate::libcni::driver());
            c.arg("add")
                .arg(h.dir.join("net.d"))
                .args(["cbr0", &id])
                .arg(&node.path)
                .arg("eth0")
                .env("DRIVER_CNI_PATH", &self.bin)
                .env("DRIVER_CACHE_DIR", h.dir.join("libcni-cache"));
            c
        } else {
            let mut c = self.hosts[i].node.command(binary("twill"));
            c.args(["add", "cbr0"])
                .arg(&node.path)
                .args(["--container-id", &id]);
            c
        };
        self.cni_env(i, &mut c);
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "ADD on host {i}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        let addrs: Vec<IpAddr> = result["ips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ip| {
                let a = ip["address"].as_str().unwrap();
                a.split_once('/').unwrap().0.parse().unwrap()
            })
            .collect();
        Pod {
            node,
            ip: *addrs.iter().find(|a| a.is_ipv4()).unwrap_or(&addrs[0]),
            ip6: addrs.iter().find(|a| a.is_ipv6()).copied(),
            host: i,
            id,
        }
    }

    /// Detaches a pod.
    pub fn del(&self, pod: &Pod) {
        let mut c = self.hosts[pod.host].node.command(binary("twill"));
        c.args(["del", "cbr0"])
            .arg(&pod.node.path)
            .args(["--container-id", &pod.id]);
        self.cni_env(pod.host, &mut c);
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "DEL: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Leases in etcd: key (last path component) → value.
    pub fn leases(&self) -> Vec<(String, Value)> {
        self.etcd
            .get_prefix(&format!("{PREFIX}/subnets/"))
            .into_iter()
            .map(|(k, v)| {
                let key = k.rsplit('/').next().unwrap().to_owned();
                (key, serde_json::from_str(&v).unwrap())
            })
            .collect()
    }

    /// Waits until host `i` routes `dst` (a route line containing it shows in `ip route`).
    pub fn wait_route(&self, i: usize, dst: &str, present: bool, secs: u64) -> Duration {
        let started = Instant::now();
        loop {
            let routes = self.hosts[i].node.run("ip", &["route", "show"]);
            if routes.lines().any(|l| l.starts_with(dst)) == present {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(secs),
                "host {i}: route {dst} present={} not reached in {secs} s:\n{routes}\nlog:\n{}",
                present,
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.agents.len() {
            self.stop_agent(i, libc::SIGKILL);
        }
    }
}

/// Sends UDP datagrams from inside `from` to `to:port` (a socket bound inside `at`) until
/// one arrives; returns the source address the receiver saw.
pub fn udp_source(from: &Node, at: &Node, to: IpAddr, port: u16) -> Option<IpAddr> {
    use std::net::{SocketAddr, UdpSocket};
    let rx = at
        .ns
        .run(move || UdpSocket::bind(SocketAddr::new(to, port)))
        .unwrap()
        .unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let family_any: IpAddr = if to.is_ipv4() {
        "0.0.0.0".parse().unwrap()
    } else {
        "::".parse().unwrap()
    };
    let tx = from
        .ns
        .run(move || UdpSocket::bind(SocketAddr::new(family_any, 0)))
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 64];
    for _ in 0..20 {
        let _ = tx.send_to(b"twill", SocketAddr::new(to, port));
        if let Ok((_, src)) = rx.recv_from(&mut buf) {
            return Some(src.ip());
        }
    }
    None
}

/// A TCP echo conversation between two pods that can be kept going across events.
pub struct Stream {
    conn: std::net::TcpStream,
    server: Option<std::thread::JoinHandle<()>>,
    pub exchanged: usize,
}

impl Stream {
    /// Opens a connection from `client` to a server in `server` at `addr:port`.
    pub fn open(client: &Node, server: &Node, addr: IpAddr, port: u16) -> Stream {
        use std::io::{Read, Write};
        use std::net::{SocketAddr, TcpListener, TcpStream};
        let l = server
            .ns
            .run(move || TcpListener::bind(SocketAddr::new(addr, port)))
            .unwrap()
            .unwrap();
        let handle = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if c.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let conn = client
            .ns
            .run(move || {
                TcpStream::connect_timeout(&SocketAddr::new(addr, port), Duration::from_secs(5))
            })
            .unwrap()
            .unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut s = Stream {
            conn,
            server: Some(handle),
            exchanged: 0,
        };
        s.exchange();
        s
    }

    /// One round trip of 1 KiB; panics on a reset or a timeout.
    pub fn exchange(&mut self) {
        use std::io::{Read, Write};
        let msg = [0x5au8; 1024];
        self.conn.write_all(&msg).expect("the stream broke (write)");
        let mut back = [0u8; 1024];
        self.conn
            .read_exact(&mut back)
            .expect("the stream broke (read)");
        assert_eq!(back, msg);
        self.exchanged += 1;
    }

    /// Keeps exchanging for `d`.
    pub fn keep_going(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.exchange();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.conn.shutdown(std::net::Shutdown::Both);
        if let Some(h) = self.server.take() {
            let _ = h.join();
        }
    }
}

/// The VTEP MAC of host `i`'s vxlan device.
pub fn vtep_mac(c: &Cluster, i: usize) -> String {
    let out = c.hosts[i]
        .node
        .run("ip", &["-o", "link", "show", "twill.1"]);
    out.split("link/ether ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned()
}
