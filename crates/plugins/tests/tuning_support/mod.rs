//! The world of one tuning test: a "host" namespace and a pod namespace joined by a veth
//! (`eth0` in the pod), a private data directory, and the plugin binaries run as real
//! processes inside the host namespace. Everything is deleted on drop, also when the test
//! fails; the machine's own namespace is never changed.

#![allow(dead_code)] // each test file uses a different part

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{json, Value};
use twill_kernel::link::LinkTunables;
use twill_kernel::{sysctl, LinkId, NetNs, NetNsDir, Netlink, NewLink};

/// Where the tests keep their named namespaces.
pub const NS_DIR: &str = "/run/twill-tuning-tests";
/// The reference plugin (Debian's containernetworking-plugins).
pub const REFERENCE: &str = "/usr/lib/cni/tuning";
/// The interface tuning works on, inside the pod.
pub const IFNAME: &str = "eth0";

/// Which implementation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// `twill-cni` through a symlink named `tuning`.
    Twill,
    /// The reference plugin.
    Reference,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Fails (never skips) without root.
pub fn require_root() {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the tuning integration tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN) to create network namespaces; run them as root"
    );
}

/// What a plugin process did.
#[derive(Debug)]
pub struct Run {
    pub exit: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts success and returns the printed JSON (ADD) or nothing.
    pub fn ok(&self) -> &Self {
        assert_eq!(self.exit, 0, "plugin failed: {self:?}");
        self
    }

    /// Asserts failure and returns the error's code and message.
    pub fn err(&self) -> (u64, String) {
        assert_ne!(
            self.exit, 0,
            "plugin succeeded but should have failed: {self:?}"
        );
        let v = self.json();
        (
            v["code"].as_u64().unwrap(),
            v["msg"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

/// One test's namespaces, veth, directories and container ID.
pub struct World {
    dir: NetNsDir,
    names: Vec<String>,
    home: (u64, u64),
    pub host: NetNs,
    pub host_nl: Netlink,
    pub pod: NetNs,
    pub pod_path: PathBuf,
    pub pod_nl: Netlink,
    pub tmp: PathBuf,
    pub container_id: String,
}

impl World {
    /// Fresh namespaces with `veth` in the host and `eth0` in the pod, both up.
    pub fn new() -> World {
        require_root();
        let home = NetNs::current().unwrap().identity().unwrap();
        let dir = NetNsDir::unshared(NS_DIR);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}-{n}", std::process::id());
        let (host_name, pod_name) = (format!("tth-{tag}"), format!("ttp-{tag}"));
        let mut names = Vec::new();
        let host = dir.create(&host_name).unwrap();
        names.push(host_name);
        let pod = dir.create(&pod_name).unwrap();
        names.push(pod_name.clone());
        let mut host_nl = host.netlink().unwrap();
        let mut pod_nl = pod.netlink().unwrap();
        host_nl
            .link_add(&NewLink::veth("veth0", IFNAME).peer_netns(pod.as_fd()).up())
            .unwrap();
        pod_nl.link_set_up(IFNAME.into()).unwrap();
        let tmp = std::env::temp_dir().join(format!("twill-tuning-test-{tag}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("bin")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_twill-cni"), tmp.join("bin/tuning"))
            .unwrap();
        World {
            pod_path: dir.path(&pod_name).unwrap(),
            dir,
            names,
            home,
            host,
            host_nl,
            pod,
            pod_nl,
            tmp,
            container_id: format!("cid-{tag}"),
        }
    }

    /// The data directory the configurations of this world use.
    pub fn data_dir(&self) -> PathBuf {
        self.tmp.join("data")
    }

    /// The backup file of this world's attachment (the reference's name).
    pub fn backup_file(&self) -> PathBuf {
        self.data_dir()
            .join(format!("{}_{IFNAME}.json", self.container_id))
    }

    /// A tuning configuration at `version` with `extra` keys, this world's dataDir and a
    /// prevResult naming the pod's interface.
    pub fn config(&self, version: &str, extra: Value) -> Value {
        let mut c = json!({
            "cniVersion": version,
            "name": "tuningnet",
            "type": "tuning",
            "dataDir": self.data_dir(),
            "prevResult": prev_result(version, &self.pod_path),
        });
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    }

    /// Runs `command` of `which` with `config` on stdin, inside the host namespace.
    pub fn run(&self, which: Impl, command: &str, config: &Value, env: &[(&str, &str)]) -> Run {
        self.run_in(which, command, config, env, Some(&self.pod_path))
    }

    /// As [`World::run`], with any `CNI_NETNS` (or none).
    pub fn run_in(
        &self,
        which: Impl,
        command: &str,
        config: &Value,
        env: &[(&str, &str)],
        netns: Option<&Path>,
    ) -> Run {
        let program = match which {
            Impl::Twill => self.tmp.join("bin/tuning"),
            Impl::Reference => {
                assert!(
                    Path::new(REFERENCE).is_file(),
                    "{REFERENCE} is missing: run scripts/setup.sh (Debian's containernetworking-plugins)"
                );
                PathBuf::from(REFERENCE)
            }
        };
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", &self.container_id)
            .env("CNI_IFNAME", IFNAME)
            .env("CNI_PATH", self.tmp.join("bin"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(ns) = netns {
            cmd.env("CNI_NETNS", ns);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let fd = self.host.as_fd().as_raw_fd();
        // SAFETY: the closure runs in the forked child before exec and only makes setns(2),
        // an async-signal-safe system call, on a descriptor the parent keeps open.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = serde_json::to_vec(config).unwrap();
        child.stdin.take().unwrap().write_all(&stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            exit: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The pod interface's attributes as the kernel reports them.
    pub fn link(&mut self) -> LinkTunables {
        self.pod_nl.link_tunables(LinkId::Name(IFNAME)).unwrap()
    }

    /// A sysctl of the pod's namespace (slash or dotted key).
    pub fn sysctl(&self, key: &str) -> String {
        sysctl::read_in(&self.pod, key).unwrap()
    }

    /// Deletes the pod's namespace (as a runtime does before a late DEL).
    pub fn delete_pod_netns(&mut self) {
        let name = self.names.pop().unwrap();
        self.dir.delete(&name).unwrap();
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for name in self.names.drain(..) {
            if let Err(e) = self.dir.delete(&name) {
                if !e.is_not_found() {
                    eprintln!("cleanup: {e}");
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

/// A previous result as bridge would print it at `version`: host veth, pod interface, an
/// address in 10.0.0.0/8.
pub fn prev_result(version: &str, netns: &Path) -> Value {
    let legacy = version == "0.1.0" || version == "0.2.0";
    if legacy {
        return json!({"cniVersion": version, "ip4": {"ip": "10.88.0.2/24", "gateway": "10.88.0.1"}});
    }
    let mut ip = json!({"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 1});
    if version.starts_with("0.") {
        ip["version"] = json!("4");
    }
    json!({
        "cniVersion": version,
        "interfaces": [
            {"name": "veth0", "mac": "02:11:11:11:11:11"},
            {"name": IFNAME, "mac": "02:22:22:22:22:22", "sandbox": netns}
        ],
        "ips": [ip],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dns": {}
    })
}
