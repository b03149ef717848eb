//! A pod as a kubelet describes it to the runtime, and what a test reads back.

use std::collections::HashMap;
use std::net::IpAddr;

use k8s_cri::v1::{
    DnsConfig, LinuxPodSandboxConfig, PodSandboxConfig, PodSandboxMetadata,
    PodSandboxStatusResponse, PortMapping, Protocol,
};
use twill_kernel::NetNs;

use crate::ns::Ns;

/// The parts of a PodSandboxConfig the tests vary.
#[derive(Debug, Clone, Default)]
pub struct PodSpec {
    pub name: String,
    pub namespace: String,
    /// `(host_port, container_port, protocol)`; tcp, udp or sctp.
    pub port_mappings: Vec<(u16, u16, &'static str)>,
    pub dns: Option<(Vec<String>, Vec<String>, Vec<String>)>,
    pub annotations: HashMap<String, String>,
}

impl PodSpec {
    /// A pod `name` in namespace `default`.
    pub fn new(name: &str) -> PodSpec {
        PodSpec {
            name: name.to_owned(),
            namespace: "default".to_owned(),
            ..PodSpec::default()
        }
    }

    /// With a host port forwarded to `container_port` over `protocol`.
    pub fn port(mut self, host_port: u16, container_port: u16, protocol: &'static str) -> PodSpec {
        self.port_mappings
            .push((host_port, container_port, protocol));
        self
    }

    /// With a DNS configuration.
    pub fn dns(mut self, servers: &[&str], searches: &[&str], options: &[&str]) -> PodSpec {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        self.dns = Some((own(servers), own(searches), own(options)));
        self
    }

    /// With annotation `key: value`.
    pub fn annotation(mut self, key: &str, value: &str) -> PodSpec {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The CRI message, its cgroup under `cgroup_parent` (one tree per containerd, removed
    /// with it) and a uid unique on the machine.
    pub fn config(&self, cgroup_parent: &str, uid: &str) -> PodSandboxConfig {
        let port_mappings = self
            .port_mappings
            .iter()
            .map(|&(host, container, proto)| PortMapping {
                protocol: match proto {
                    "udp" => Protocol::Udp,
                    "sctp" => Protocol::Sctp,
                    _ => Protocol::Tcp,
                } as i32,
                container_port: i32::from(container),
                host_port: i32::from(host),
                host_ip: String::new(),
            })
            .collect();
        PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: self.name.clone(),
                uid: uid.to_owned(),
                namespace: self.namespace.clone(),
                attempt: 0,
            }),
            hostname: self.name.clone(),
            dns_config: self.dns.as_ref().map(|(s, q, o)| DnsConfig {
                servers: s.clone(),
                searches: q.clone(),
                options: o.clone(),
            }),
            port_mappings,
            annotations: self.annotations.clone(),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: cgroup_parent.to_owned(),
                ..LinuxPodSandboxConfig::default()
            }),
            ..PodSandboxConfig::default()
        }
    }
}

/// A sandbox that RunPodSandbox made, as PodSandboxStatus reports it.
#[derive(Debug)]
pub struct RunningPod {
    pub id: String,
    /// `network.ip` then `network.additional_ips`.
    pub ips: Vec<IpAddr>,
    /// The pause process (from the verbose `info`).
    pub pid: u32,
    /// Its network namespace, opened through the pause process (`/proc/<pid>/ns/net`).
    pub ns: Ns,
}

impl RunningPod {
    /// Reads `status` (verbose) of sandbox `id`.
    pub fn from_status(id: &str, status: &PodSandboxStatusResponse) -> RunningPod {
        let net = status
            .status
            .as_ref()
            .and_then(|s| s.network.clone())
            .unwrap_or_default();
        let mut ips: Vec<IpAddr> = Vec::new();
        if !net.ip.is_empty() {
            ips.push(net.ip.parse().unwrap());
        }
        for extra in &net.additional_ips {
            ips.push(extra.ip.parse().unwrap());
        }
        let pid = pause_pid(status).unwrap_or_else(|| panic!("no pid in {status:?}"));
        let path = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
        let netns = NetNs::open(&path).unwrap();
        let nl = netns.netlink().unwrap();
        let name = status
            .status
            .as_ref()
            .and_then(|s| s.metadata.as_ref())
            .map(|m| m.name.clone())
            .unwrap_or_else(|| id.to_owned());
        RunningPod {
            id: id.to_owned(),
            ips,
            pid,
            ns: Ns {
                name,
                path,
                ns: netns,
                nl,
            },
        }
    }

    /// The pod's first IPv4 address.
    pub fn ipv4(&self) -> IpAddr {
        *self.ips.iter().find(|a| a.is_ipv4()).unwrap()
    }

    /// The pod's first IPv6 address.
    pub fn ipv6(&self) -> Option<IpAddr> {
        self.ips.iter().copied().find(IpAddr::is_ipv6)
    }
}

/// The pause process' pid from a verbose status (`info["info"]` is containerd's JSON).
pub fn pause_pid(status: &PodSandboxStatusResponse) -> Option<u32> {
    let info: serde_json::Value = serde_json::from_str(status.info.get("info")?).ok()?;
    info["pid"].as_u64().and_then(|p| u32::try_from(p).ok())
}

/// Whether the sandbox is READY.
pub fn is_ready(status: &PodSandboxStatusResponse) -> bool {
    status.status.as_ref().map(|s| s.state)
        == Some(k8s_cri::v1::PodSandboxState::SandboxReady as i32)
}
