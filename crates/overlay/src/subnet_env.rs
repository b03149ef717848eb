//! `subnet.env`: what the flannel CNI plugin reads to build each pod's bridge and IPAM
//! config. Written atomically (a plugin reading it mid-write would fail a pod's ADD), with
//! flannel's variables, IPv6 ones included.

use std::fmt::Write as _;
use std::path::Path;

use twill_kernel::IpPrefix;

use crate::subnet::nth_addr;

/// What the file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetEnv {
    /// `FLANNEL_NETWORK`.
    pub network: Option<IpPrefix>,
    /// `FLANNEL_SUBNET` (the network of it; the file carries the gateway `.1`).
    pub subnet: Option<IpPrefix>,
    /// `FLANNEL_IPV6_NETWORK`.
    pub ipv6_network: Option<IpPrefix>,
    /// `FLANNEL_IPV6_SUBNET`.
    pub ipv6_subnet: Option<IpPrefix>,
    /// `FLANNEL_MTU`.
    pub mtu: u32,
    /// `FLANNEL_IPMASQ`.
    pub ip_masq: bool,
}

fn gateway(p: &IpPrefix) -> String {
    format!("{}/{}", nth_addr(p, 1), p.len())
}

impl SubnetEnv {
    /// The file's text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some(n) = &self.network {
            let _ = writeln!(s, "FLANNEL_NETWORK={n}");
        }
        if let Some(n) = &self.subnet {
            let _ = writeln!(s, "FLANNEL_SUBNET={}", gateway(n));
        }
        if let Some(n) = &self.ipv6_network {
            let _ = writeln!(s, "FLANNEL_IPV6_NETWORK={n}");
        }
        if let Some(n) = &self.ipv6_subnet {
            let _ = writeln!(s, "FLANNEL_IPV6_SUBNET={}", gateway(n));
        }
        let _ = writeln!(s, "FLANNEL_MTU={}", self.mtu);
        let _ = writeln!(s, "FLANNEL_IPMASQ={}", self.ip_masq);
        s
    }

    /// Writes the file atomically (mode 0644: the plugin may run as another user).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::files::write_atomic(path, self.render().as_bytes(), 0o644)
    }

    /// The subnets a previous run wrote (`None` when the file is absent or unreadable):
    /// the agent asks for them again first, so a restarted node keeps its pods' addresses.
    pub fn previous(path: &Path) -> Option<(Option<IpPrefix>, Option<IpPrefix>)> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut v4 = None;
        let mut v6 = None;
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let p = v.trim().parse::<IpPrefix>().ok().map(|p| p.network());
            match k.trim() {
                "FLANNEL_SUBNET" => v4 = p,
                "FLANNEL_IPV6_SUBNET" => v6 = p,
                _ => {}
            }
        }
        (v4.is_some() || v6.is_some()).then_some((v4, v6))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_flannels_variables_and_reads_them_back() {
        let env = SubnetEnv {
            network: Some("10.244.0.0/16".parse().unwrap()),
            subnet: Some("10.244.1.0/24".parse().unwrap()),
            ipv6_network: Some("fd00:10::/48".parse().unwrap()),
            ipv6_subnet: Some("fd00:10:0:1::/64".parse().unwrap()),
            mtu: 1450,
            ip_masq: true,
        };
        let text = env.render();
        assert_eq!(
            text,
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n\
             FLANNEL_IPV6_NETWORK=fd00:10::/48\nFLANNEL_IPV6_SUBNET=fd00:10:0:1::1/64\n\
             FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
        );
        let dir = std::env::temp_dir().join(format!("twill-subnetenv-{}", std::process::id()));
        let f = dir.join("subnet.env");
        env.write(&f).unwrap();
        let (a, b) = SubnetEnv::previous(&f).unwrap();
        assert_eq!(a, env.subnet);
        assert_eq!(b, env.ipv6_subnet);
        assert!(SubnetEnv::previous(&dir.join("none")).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
