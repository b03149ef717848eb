//! The world of one tuning test: a "host" namespace and a pod namespace joined by a veth
//! (`eth0` in the pod), a private data directory, and the plugin binaries run as real
//! processes inside the host namespace. The namespaces are the shared harness's (the host
//! with a real host's settings), deleted on drop also when the test fails; the machine's own
//! namespace is never changed.

#![allow(dead_code)] // each test file uses a different part

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use twill_kernel::link::LinkTunables;
use twill_kernel::{sysctl, LinkId, NetNs, Netlink, NewLink};
use twill_test_support::child::enter_in_child;
use twill_test_support::{HostSettings, Namespaces};

/// The reference plugin (Debian's containernetworking-plugins).
pub const REFERENCE: &str = "/usr/lib/cni/tuning";
/// The interface tuning works on, inside the pod.
pub const IFNAME: &str = "eth0";
/// The per-interface IPv4 sysctl the tests have tuning set; it starts at 0.
pub const ARP_FILTER: &str = "arp_filter";

/// Which implementation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// `twill-cni` through a symlink named `tuning`.
    Twill,
    /// The reference plugin.
    Reference,
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
    pub host: NetNs,
    pub host_nl: Netlink,
    pub pod: NetNs,
    pub pod_path: PathBuf,
    pub pod_nl: Netlink,
    pub tmp: PathBuf,
    pub container_id: String,
    pod_name: Option<String>,
    /// Last, so the namespaces go after the sockets and descriptors above.
    nss: Namespaces,
}

impl World {
    /// Fresh namespaces with `veth` in the host and `eth0` in the pod, both up.
    pub fn new() -> World {
        let mut nss = Namespaces::new();
        let tag = nss.id().to_owned();
        let host = nss.host("host", &HostSettings::default());
        let pod = nss.plain("pod");
        let (mut host_nl, mut pod_nl) = (host.nl, pod.nl);
        host_nl
            .link_add(
                &NewLink::veth("veth0", IFNAME)
                    .peer_netns(pod.ns.as_fd())
                    .up(),
            )
            .unwrap();
        pod_nl.link_set_up(IFNAME.into()).unwrap();
        // A new namespace copies the machine's IPv4 `default` settings into its interfaces:
        // the IPv4 sysctl the tests have tuning set starts off here, whatever the machine has,
        // so that tuning turning it on shows.
        sysctl::write_in(
            &pod.ns,
            &format!("net/ipv4/conf/{IFNAME}/{ARP_FILTER}"),
            "0",
        )
        .unwrap();
        let tmp = std::env::temp_dir().join(format!("twill-tuning-test-{tag}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("bin")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_twill-cni"), tmp.join("bin/tuning"))
            .unwrap();
        World {
            pod_path: pod.path,
            pod_name: Some(pod.name),
            host: host.ns,
            host_nl,
            pod: pod.ns,
            pod_nl,
            tmp,
            container_id: format!("cid-{tag}"),
            nss,
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
        enter_in_child(&mut cmd, self.host.as_fd().try_clone_to_owned().unwrap());
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
        let name = self.pod_name.take().unwrap();
        self.nss.delete(&name);
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // The namespaces go when `nss` drops, right after this.
        let _ = std::fs::remove_dir_all(&self.tmp);
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
