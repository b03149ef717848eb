//! A DHCP "LAN" for the `dhcp` plugin's tests: a bridge in the sandbox's host namespace, a
//! server namespace on it running a real dnsmasq (Debian's `dnsmasq-base`, installed by
//! scripts/setup.sh) with a short lease, and the `dhcp` daemon under test. Pods join the LAN
//! through the bridge plugin (`ipam.type` `dhcp`).
//!
//! dnsmasq and the daemon are killed when their handles drop (also when the test fails),
//! before the sandbox deletes the namespaces and the temporary directory.

use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twill_kernel::{Address, LinkId, NewLink};

use crate::plugins::{link_plugins, reference_dir, twill_cni};
use crate::run::Impl;
use crate::sandbox::Sandbox;

/// The LAN's bridge in the host namespace.
pub const BRIDGE: &str = "dhcpbr0";
/// The server's address (and the router it announces).
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The first address dnsmasq hands out.
pub const RANGE_START: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
/// The last.
pub const RANGE_END: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 199);
/// The lease time (dnsmasq's minimum is two minutes) …
pub const LEASE_SECS: u64 = 120;
/// … and the renewal time it announces, short so that renewals happen within a test.
pub const T1_SECS: u64 = 4;
/// The rebinding time it announces.
pub const T2_SECS: u64 = 100;

/// One line of dnsmasq's lease file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLease {
    /// When it expires (seconds since the epoch).
    pub expires: u64,
    /// The client's MAC.
    pub mac: String,
    /// The address.
    pub ip: Ipv4Addr,
    /// The client identifier, as dnsmasq prints it (`00:61:62:…`).
    pub client_id: String,
}

/// The client identifier of an attachment as dnsmasq prints it: the reference's
/// `\0<container>/<network>/<ifname>`, colon-separated hex.
pub fn printed_client_id(container_id: &str, network: &str, ifname: &str) -> String {
    let mut bytes = vec![0u8];
    bytes.extend(format!("{container_id}/{network}/{ifname}").bytes());
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The LAN: bridge, server namespace and dnsmasq.
pub struct DhcpLan {
    /// dnsmasq's files: lease file, log.
    pub dir: PathBuf,
    dnsmasq: Child,
}

impl DhcpLan {
    /// Builds the LAN in `sb` and starts dnsmasq; `extra` are more dnsmasq arguments
    /// (`--dhcp-option=…`).
    pub fn start(sb: &mut Sandbox, extra: &[&str]) -> DhcpLan {
        DhcpLan::start_with_t2(sb, T2_SECS, extra)
    }

    /// [`DhcpLan::start`] with rebinding time `t2` instead of [`T2_SECS`].
    pub fn start_with_t2(sb: &mut Sandbox, t2: u64, extra: &[&str]) -> DhcpLan {
        let dir = sb.tmp.join("dnsmasq");
        std::fs::create_dir_all(&dir).unwrap();
        let server = sb.pod("dhcp-server");
        sb.host.nl.link_add(&NewLink::bridge(BRIDGE).up()).unwrap();
        let br = sb.host.nl.link_index(BRIDGE).unwrap();
        sb.host
            .nl
            .link_add(
                &NewLink::veth("dhcpsrv0", "eth0")
                    .peer_netns(server.ns.as_fd())
                    .up(),
            )
            .unwrap();
        let port = sb.host.nl.link_index("dhcpsrv0").unwrap();
        sb.host
            .nl
            .link_set_master(LinkId::Index(port), Some(br))
            .unwrap();
        let mut snl = server.ns.netlink().unwrap();
        snl.link_set_up(LinkId::Index(1)).unwrap();
        let eth = snl.link_index("eth0").unwrap();
        snl.link_set_up(LinkId::Index(eth)).unwrap();
        snl.addr_add(&Address::new(eth, format!("{SERVER}/24").parse().unwrap()))
            .unwrap();
        let mut args: Vec<String> = vec![
            "--keep-in-foreground".into(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--no-ping".into(),
            "--user=root".into(),
            "--group=root".into(),
            "--interface=eth0".into(),
            "--dhcp-authoritative".into(),
            "--log-dhcp".into(),
            format!("--dhcp-range={RANGE_START},{RANGE_END},255.255.255.0,{LEASE_SECS}s"),
            format!("--dhcp-option=option:router,{SERVER}"),
            format!("--dhcp-option=option:T1,{T1_SECS}"),
            format!("--dhcp-option=option:T2,{t2}"),
            format!("--dhcp-leasefile={}", dir.join("leases").display()),
            format!("--pid-file={}", dir.join("pid").display()),
            format!("--log-facility={}", dir.join("log").display()),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let dnsmasq = crate::child::command_in(&server.ns, "dnsmasq")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dnsmasq ({e}): run scripts/setup.sh (as root)"));
        // The server's namespace stays in the sandbox (deleted with it); only its handle goes.
        drop(server);
        let lan = DhcpLan { dir, dnsmasq };
        lan.wait_ready();
        lan
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.dir.join("pid").exists() {
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// dnsmasq's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// The leases dnsmasq holds, from its lease file.
    pub fn leases(&self) -> Vec<ServerLease> {
        let text = std::fs::read_to_string(self.dir.join("leases")).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Some(ServerLease {
                    expires: f.first()?.parse().ok()?,
                    mac: (*f.get(1)?).to_owned(),
                    ip: f.get(2)?.parse().ok()?,
                    client_id: (*f.get(4)?).to_owned(),
                })
            })
            .collect()
    }

    /// The lease of `client_id` (as printed), if dnsmasq holds one.
    pub fn lease_of(&self, client_id: &str) -> Option<ServerLease> {
        self.leases().into_iter().find(|l| l.client_id == client_id)
    }

    /// Waits up to `secs` for `pred` over the lease file; returns the leases then. Fails
    /// the test with dnsmasq's log when it never holds.
    pub fn wait_for(
        &self,
        secs: u64,
        what: &str,
        pred: impl Fn(&[ServerLease]) -> bool,
    ) -> Vec<ServerLease> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let leases = self.leases();
            if pred(&leases) {
                return leases;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq: {what} not seen within {secs}s; leases {leases:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DhcpLan {
    fn drop(&mut self) {
        let _ = self.dnsmasq.kill();
        let _ = self.dnsmasq.wait();
    }
}

/// A `dhcp` daemon in the sandbox's host namespace: ours (`twill-cni dhcp daemon`) or the
/// reference's (`/usr/lib/cni/dhcp daemon`), side by side on sockets of their own.
pub struct DhcpDaemon {
    /// Whose daemon it is.
    pub imp: Impl,
    /// Its socket.
    pub socket: PathBuf,
    /// Its lease files.
    pub state_dir: PathBuf,
    log: PathBuf,
    extra: Vec<String>,
    path: Option<String>,
    child: Option<Child>,
}

impl DhcpDaemon {
    /// Starts the daemon with its socket and state under the sandbox, and links `dhcp` into
    /// the sandbox's plugin directory (once).
    pub fn start(sb: &Sandbox) -> DhcpDaemon {
        DhcpDaemon::start_impl(sb, Impl::Twill)
    }

    /// Starts `imp`'s daemon.
    pub fn start_impl(sb: &Sandbox, imp: Impl) -> DhcpDaemon {
        DhcpDaemon::start_with(sb, imp, &[])
    }

    /// Starts our daemon with `path` as its PATH (the exec-trap tests' traps).
    pub fn start_with_path(sb: &Sandbox, path: &str) -> DhcpDaemon {
        DhcpDaemon::start_inner(sb, Impl::Twill, &[], Some(path.to_owned()))
    }

    /// Starts `imp`'s daemon with more flags (`-hostprefix`, `-pidfile`, …).
    pub fn start_with(sb: &Sandbox, imp: Impl, extra: &[&str]) -> DhcpDaemon {
        DhcpDaemon::start_inner(sb, imp, extra, None)
    }

    fn start_inner(sb: &Sandbox, imp: Impl, extra: &[&str], path: Option<String>) -> DhcpDaemon {
        let link = sb.bin_dir().join("dhcp");
        if !link.exists() {
            link_plugins(&sb.bin_dir(), &["dhcp"]);
        }
        let tag = match imp {
            Impl::Twill => "dhcp",
            Impl::Reference => "ref-dhcp",
        };
        let mut d = DhcpDaemon {
            imp,
            socket: sb.tmp.join(format!("{tag}.sock")),
            state_dir: sb.tmp.join(format!("{tag}-state")),
            log: sb.tmp.join(format!("{tag}-daemon.log")),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            path,
            child: None,
        };
        d.restart(sb);
        d
    }

    /// Starts the daemon again (after [`DhcpDaemon::kill`]) on the same socket and state.
    pub fn restart(&mut self, sb: &Sandbox) {
        assert!(self.child.is_none(), "daemon already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = match self.imp {
            Impl::Twill => {
                let mut c = crate::child::command_in(&sb.host.ns, twill_cni());
                c.arg("dhcp")
                    .arg("daemon")
                    .arg("-statedir")
                    .arg(&self.state_dir);
                c
            }
            Impl::Reference => {
                let bin = reference_dir(&["dhcp"]).join("dhcp");
                let mut c = crate::child::command_in(&sb.host.ns, bin);
                c.arg("daemon");
                c
            }
        };
        let child = cmd
            .arg("-socketpath")
            .arg(&self.socket)
            .args(["-timeout", "3s", "-resendmax", "2s"])
            .args(&self.extra)
            .envs(self.path.iter().map(|p| ("PATH", p)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "dhcp daemon did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the daemon with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the daemon with SIGTERM, as a service manager does; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("daemon not running");
        let pid = i32::try_from(c.id()).unwrap();
        // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        c.wait().unwrap()
    }

    /// The daemon's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its lease files.
    pub fn lease_files(&self) -> Vec<String> {
        crate::files::names(&self.state_dir)
    }

    /// A bridge configuration on the LAN with `ipam` `dhcp` asking this daemon (at the
    /// highest version the reference knows, for its daemon).
    pub fn bridge_conf(&self, network: &str) -> Value {
        let version = match self.imp {
            Impl::Twill => "1.1.0",
            Impl::Reference => "1.0.0",
        };
        json!({
            "cniVersion": version,
            "name": network,
            "type": "bridge",
            "bridge": BRIDGE,
            "ipam": {"type": "dhcp", "daemonSocketPath": self.socket},
        })
    }
}

impl Drop for DhcpDaemon {
    fn drop(&mut self) {
        self.kill();
    }
}
