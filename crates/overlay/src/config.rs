//! The network configuration at `<prefix>/config`: flannel's JSON, every key, read the way
//! flanneld's Go code reads it (keys match case-insensitively). A bad value is an error that
//! names the key, so an operator can fix the etcd entry without reading code.

use std::net::IpAddr;

use serde_json::Value;
use twill_cni::json::{FieldError, Obj};
use twill_kernel::{IpFamily, IpPrefix};

use crate::subnet::Range;

/// The default vxlan UDP port (the Linux kernel's own default is 8472 too).
pub const VXLAN_PORT: u16 = 8472;
/// The udp backend's port (flannel's).
pub const UDP_PORT: u16 = 8285;

/// Which data plane carries pod traffic between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendType {
    /// Kernel VXLAN with static neighbour, FDB and route entries per peer.
    Vxlan,
    /// Plain routes via each peer's public address (needs L2 adjacency).
    HostGw,
    /// A TUN device and userspace UDP encapsulation.
    Udp,
}

impl BackendType {
    /// The name in configs and lease attrs.
    pub fn name(self) -> &'static str {
        match self {
            BackendType::Vxlan => "vxlan",
            BackendType::HostGw => "host-gw",
            BackendType::Udp => "udp",
        }
    }

    /// The bytes of encapsulation the backend adds to a pod packet.
    pub fn overhead(self, underlay: IpFamily) -> u32 {
        let ip = match underlay {
            IpFamily::V4 => 20,
            IpFamily::V6 => 40,
        };
        match self {
            // outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14)
            BackendType::Vxlan => ip + 30,
            BackendType::HostGw => 0,
            // outer IP + UDP; the inner IP packet is the whole payload
            BackendType::Udp => ip + 8,
        }
    }
}

/// `Backend`: the data plane and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// `Type`: vxlan unless set. flannel's code defaults to udp while its documentation
    /// says vxlan; the documented default is the one people deploy expecting.
    pub kind: BackendType,
    /// `VNI` (vxlan): 1 unless set.
    pub vni: u32,
    /// `Port`: UDP port of the encapsulation (8472 vxlan, 8285 udp).
    pub port: u16,
    /// `DirectRouting` (vxlan): plain routes to peers on the same link.
    pub direct_routing: bool,
    /// `MTU`: the pod MTU, overriding the underlay's MTU minus the overhead.
    pub mtu: Option<u32>,
    /// `GBP` (vxlan): group-based policy extension.
    pub gbp: bool,
    /// `Learning` (vxlan): accepted and refused when true: twill programs every peer, and
    /// a learning device would add entries behind the reconciler's back.
    pub learning: bool,
}

/// The network: what `<prefix>/config` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// IPv4 pod network and its per-node subnets, when IPv4 is enabled.
    pub ipv4: Option<Range>,
    /// IPv6 pod network and its per-node subnets, when IPv6 is enabled.
    pub ipv6: Option<Range>,
    /// The data plane.
    pub backend: Backend,
}

/// A config that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network config: {0}")]
pub struct ConfigError(pub String);

impl From<FieldError> for ConfigError {
    fn from(e: FieldError) -> Self {
        ConfigError(e.to_string())
    }
}

fn invalid(key: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{key}: {why}"))
}

impl NetworkConfig {
    /// Parses and validates the JSON text of `<prefix>/config`.
    pub fn parse(text: &[u8]) -> Result<NetworkConfig, ConfigError> {
        let value = twill_cni::json::parse(text, "config")?;
        let o = Obj::root(&value)?;
        let enable4 = o.bool("EnableIPv4")?.unwrap_or(true);
        let enable6 = o.bool("EnableIPv6")?.unwrap_or(false);
        if !enable4 && !enable6 {
            return Err(invalid("EnableIPv4", "IPv4 and IPv6 are both disabled"));
        }
        let ipv4 = if enable4 {
            Some(range(&o, Family::V4)?)
        } else {
            None
        };
        let ipv6 = if enable6 {
            Some(range(&o, Family::V6)?)
        } else {
            None
        };
        let backend = backend(&o)?;
        Ok(NetworkConfig {
            ipv4,
            ipv6,
            backend,
        })
    }

    /// The built-in network of the embedded store when no config is given: flannel's usual
    /// 10.244.0.0/16 with /24 per node over vxlan.
    pub fn embedded_default() -> &'static str {
        r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#
    }
}

#[derive(Clone, Copy)]
enum Family {
    V4,
    V6,
}

/// The key names of one family.
struct Keys {
    network: &'static str,
    len: &'static str,
    min: &'static str,
    max: &'static str,
}

impl Family {
    fn keys(self) -> Keys {
        match self {
            Family::V4 => Keys {
                network: "Network",
                len: "SubnetLen",
                min: "SubnetMin",
                max: "SubnetMax",
            },
            Family::V6 => Keys {
                network: "IPv6Network",
                len: "IPv6SubnetLen",
                min: "IPv6SubnetMin",
                max: "IPv6SubnetMax",
            },
        }
    }

    fn family(self) -> IpFamily {
        match self {
            Family::V4 => IpFamily::V4,
            Family::V6 => IpFamily::V6,
        }
    }
}

fn prefix(o: &Obj<'_>, key: &str, family: IpFamily) -> Result<Option<IpPrefix>, ConfigError> {
    let Some(text) = o.str(key)? else {
        return Ok(None);
    };
    let p: IpPrefix = text
        .parse()
        .map_err(|_| invalid(key, format!("{text:?} is not a CIDR")))?;
    if p.family() != family {
        return Err(invalid(key, format!("{text:?} is not an {family:?} CIDR")));
    }
    Ok(Some(p))
}

fn address(o: &Obj<'_>, key: &str, family: IpFamily) -> Result<Option<IpAddr>, ConfigError> {
    let Some(text) = o.str(key)? else {
        return Ok(None);
    };
    // flannel writes SubnetMin/Max as bare addresses; a CIDR's address part is accepted too.
    let addr_text = text.split_once('/').map_or(text, |(a, _)| a);
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| invalid(key, format!("{text:?} is not an address")))?;
    if IpFamily::of(&addr) != family {
        return Err(invalid(
            key,
            format!("{text:?} is not an {family:?} address"),
        ));
    }
    Ok(Some(addr))
}

fn u8_field(o: &Obj<'_>, key: &str) -> Result<Option<u8>, ConfigError> {
    match o.i64(key)? {
        None | Some(0) => Ok(None),
        Some(n) => u8::try_from(n)
            .map(Some)
            .map_err(|_| invalid(key, format!("{n} is not a prefix length"))),
    }
}

fn range(o: &Obj<'_>, f: Family) -> Result<Range, ConfigError> {
    let k = f.keys();
    let family = f.family();
    let network = prefix(o, k.network, family)?
        .ok_or_else(|| ConfigError(format!("{}: required field is missing", k.network)))?;
    if network.network() != network {
        return Err(invalid(
            k.network,
            format!(
                "{network} has host bits set (did you mean {}?)",
                network.network()
            ),
        ));
    }
    let net_len = network.len();
    let sub_len = match (u8_field(o, k.len)?, family) {
        (Some(l), _) => l,
        (None, IpFamily::V4) if net_len <= 22 => 24,
        (None, IpFamily::V4) => net_len.saturating_add(2),
        (None, IpFamily::V6) => 64.max(net_len.saturating_add(2)),
    };
    let max = family.max_prefix();
    // A node's subnet holds its gateway and at least one pod: /30 (IPv4) and /126 at most.
    if sub_len <= net_len || sub_len > max - 2 {
        return Err(invalid(
            k.len,
            format!(
                "{sub_len} must be longer than the network's /{net_len} and at most /{}",
                max - 2
            ),
        ));
    }
    let mut r = Range::new(network, sub_len).map_err(|e| invalid(k.len, e))?;
    if let Some(a) = address(o, k.min, family)? {
        let i = r
            .index_of_addr(a)
            .ok_or_else(|| invalid(k.min, format!("{a} is not a subnet start in {network}")))?;
        r.min = i;
    }
    if let Some(a) = address(o, k.max, family)? {
        let i = r
            .index_of_addr(a)
            .ok_or_else(|| invalid(k.max, format!("{a} is not a subnet start in {network}")))?;
        r.max = i;
    }
    if r.min > r.max {
        return Err(invalid(k.min, format!("is above {}", k.max)));
    }
    Ok(r)
}

fn backend(o: &Obj<'_>) -> Result<Backend, ConfigError> {
    let empty = serde_json::Map::new();
    let b = match o.get("Backend") {
        None => Obj::new(&empty, "Backend"),
        Some(Value::Object(m)) => Obj::new(m, "Backend"),
        Some(_) => return Err(invalid("Backend", "must be an object")),
    };
    let kind = match b.str("Type")?.unwrap_or("vxlan") {
        "vxlan" => BackendType::Vxlan,
        "host-gw" => BackendType::HostGw,
        "udp" => BackendType::Udp,
        other => {
            return Err(invalid(
                "Backend.Type",
                format!("{other:?} is not one of vxlan, host-gw, udp"),
            ))
        }
    };
    let vni = match b.i64("VNI")? {
        None => 1,
        Some(n) if (0..=0xff_ffff).contains(&n) => u32::try_from(n).unwrap_or(1),
        Some(n) => return Err(invalid("Backend.VNI", format!("{n} is not a 24-bit VNI"))),
    };
    let default_port = match kind {
        BackendType::Udp => UDP_PORT,
        _ => VXLAN_PORT,
    };
    let port = match b.i64("Port")? {
        None | Some(0) => default_port,
        Some(n) => u16::try_from(n)
            .map_err(|_| invalid("Backend.Port", format!("{n} is not a UDP port")))?,
    };
    let mtu = match b.i64("MTU")? {
        None | Some(0) => None,
        Some(n) if (68..=65_535).contains(&n) => u32::try_from(n).ok(),
        Some(n) => {
            return Err(invalid(
                "Backend.MTU",
                format!("{n} is not between 68 and 65535"),
            ))
        }
    };
    let learning = b.bool("Learning")?.unwrap_or(false);
    if learning {
        return Err(invalid(
            "Backend.Learning",
            "true is not supported: twill programs every peer's entries itself",
        ));
    }
    Ok(Backend {
        kind,
        vni,
        port,
        direct_routing: b.bool("DirectRouting")?.unwrap_or(false),
        mtu,
        gbp: b.bool("GBP")?.unwrap_or(false),
        learning,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(s: &str) -> Result<NetworkConfig, ConfigError> {
        NetworkConfig::parse(s.as_bytes())
    }

    #[test]
    fn defaults_follow_flannel() {
        let c = parse(r#"{"Network":"10.244.0.0/16"}"#).unwrap();
        let r = c.ipv4.unwrap();
        assert_eq!(r.sub_len, 24);
        assert_eq!(r.subnet(r.min).to_string(), "10.244.1.0/24");
        assert_eq!(r.subnet(r.max).to_string(), "10.244.255.0/24");
        assert_eq!(c.backend.kind, BackendType::Vxlan);
        assert_eq!((c.backend.vni, c.backend.port), (1, 8472));
        assert!(c.ipv6.is_none());
        let small = parse(r#"{"Network":"10.1.0.0/23"}"#).unwrap().ipv4.unwrap();
        assert_eq!(small.sub_len, 25);
    }

    #[test]
    fn keys_match_case_insensitively_and_all_are_read() {
        let c = parse(
            r#"{"network":"10.5.0.0/16","subnetlen":26,"SubnetMin":"10.5.4.0","SubnetMax":"10.5.8.0",
                "EnableIPv6":true,"IPv6Network":"fd00:10::/48","IPv6SubnetLen":64,
                "backend":{"type":"udp","MTU":1400}}"#,
        )
        .unwrap();
        let r = c.ipv4.unwrap();
        assert_eq!(r.sub_len, 26);
        assert_eq!(r.subnet(r.min).to_string(), "10.5.4.0/26");
        assert_eq!(r.subnet(r.max).to_string(), "10.5.8.0/26");
        let r6 = c.ipv6.unwrap();
        assert_eq!(r6.subnet(r6.min).to_string(), "fd00:10:0:1::/64");
        assert_eq!(c.backend.kind, BackendType::Udp);
        assert_eq!(c.backend.port, 8285);
        assert_eq!(c.backend.mtu, Some(1400));
    }

    #[test]
    fn ipv6_only() {
        let c =
            parse(r#"{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00::/56"}"#).unwrap();
        assert!(c.ipv4.is_none());
        assert_eq!(c.ipv6.unwrap().sub_len, 64);
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            (r#"{}"#, "Network"),
            (r#"{"Network":"10.0.0.0/33"}"#, "Network"),
            (r#"{"Network":"10.0.0.1/16"}"#, "Network"),
            (r#"{"Network":"fd00::/16"}"#, "Network"),
            (r#"{"Network":7}"#, "Network"),
            (r#"{"Network":"10.0.0.0/16","SubnetLen":16}"#, "SubnetLen"),
            (r#"{"Network":"10.0.0.0/16","SubnetLen":31}"#, "SubnetLen"),
            (
                r#"{"Network":"10.0.0.0/16","SubnetMin":"10.1.0.0"}"#,
                "SubnetMin",
            ),
            (
                r#"{"Network":"10.0.0.0/16","SubnetMax":"10.0.0.7"}"#,
                "SubnetMax",
            ),
            (
                r#"{"Network":"10.0.0.0/16","SubnetMin":"10.0.9.0","SubnetMax":"10.0.8.0"}"#,
                "SubnetMin",
            ),
            (
                r#"{"Network":"10.0.0.0/16","Backend":{"Type":"ipip"}}"#,
                "Backend.Type",
            ),
            (
                r#"{"Network":"10.0.0.0/16","Backend":{"VNI":16777216}}"#,
                "Backend.VNI",
            ),
            (
                r#"{"Network":"10.0.0.0/16","Backend":{"Port":70000}}"#,
                "Backend.Port",
            ),
            (
                r#"{"Network":"10.0.0.0/16","Backend":{"MTU":20}}"#,
                "Backend.MTU",
            ),
            (
                r#"{"Network":"10.0.0.0/16","Backend":{"Learning":true}}"#,
                "Backend.Learning",
            ),
            (r#"{"Network":"10.0.0.0/16","Backend":[]}"#, "Backend"),
            (r#"{"EnableIPv4":false}"#, "EnableIPv4"),
            (r#"{"EnableIPv4":false,"EnableIPv6":true}"#, "IPv6Network"),
            (r#"not json"#, "config"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e} should name {key}");
        }
    }
}
