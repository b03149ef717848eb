//! A node's lease: its subnets and the attrs flannel stores as the key's value, so that
//! `etcdctl get --prefix /coreos.com/network` reads the same for twill and flannel nodes and
//! a cluster can move node by node.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{json, Map, Value};
use twill_cni::json::Obj;
use twill_kernel::{IpPrefix, MacAddr};

use crate::subnet;

/// What a node publishes about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attrs {
    /// `PublicIP`: the node's IPv4 underlay address.
    pub public_ip: Option<Ipv4Addr>,
    /// `PublicIPv6`: the node's IPv6 underlay address.
    pub public_ipv6: Option<Ipv6Addr>,
    /// `BackendType`: `vxlan`, `host-gw`, `udp`.
    pub backend_type: String,
    /// `BackendData.VNI` (vxlan).
    pub vni: Option<u32>,
    /// `BackendData.VtepMAC` (vxlan).
    pub vtep_mac: Option<MacAddr>,
}

impl Attrs {
    /// The JSON flannel writes.
    pub fn to_json(&self) -> String {
        let mut data = Map::new();
        if let Some(vni) = self.vni {
            data.insert("VNI".into(), json!(vni));
        }
        if let Some(mac) = self.vtep_mac {
            data.insert("VtepMAC".into(), json!(mac.to_string()));
        }
        let mut o = Map::new();
        o.insert(
            "PublicIP".into(),
            self.public_ip.map_or(Value::Null, |a| json!(a.to_string())),
        );
        if let Some(a) = self.public_ipv6 {
            o.insert("PublicIPv6".into(), json!(a.to_string()));
        }
        o.insert("BackendType".into(), json!(self.backend_type));
        o.insert("BackendData".into(), Value::Object(data));
        Value::Object(o).to_string()
    }

    /// Reads attrs written by twill or flannel. Unknown keys are ignored; a field of the
    /// wrong shape makes the whole lease unreadable (the caller reports and skips it).
    pub fn parse(text: &[u8]) -> Result<Attrs, String> {
        let value = twill_cni::json::parse(text, "lease").map_err(|e| e.to_string())?;
        let o = Obj::root(&value).map_err(|e| e.to_string())?;
        let addr = |key: &str| -> Result<Option<IpAddr>, String> {
            match o.str(key).map_err(|e| e.to_string())? {
                None | Some("") => Ok(None),
                Some(s) => s
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{key}: {s:?} is not an address")),
            }
        };
        let public_ip = match addr("PublicIP")? {
            Some(IpAddr::V4(a)) => Some(a),
            None => None,
            Some(a) => return Err(format!("PublicIP: {a} is not IPv4")),
        };
        let public_ipv6 = match addr("PublicIPv6")? {
            Some(IpAddr::V6(a)) => Some(a),
            None => None,
            Some(a) => return Err(format!("PublicIPv6: {a} is not IPv6")),
        };
        let backend_type = o
            .str("BackendType")
            .map_err(|e| e.to_string())?
            .unwrap_or_default()
            .to_owned();
        let (mut vni, mut vtep_mac) = (None, None);
        if let Some(Value::Object(m)) = o.get("BackendData") {
            let d = Obj::new(m, "BackendData");
            vni = d
                .i64("VNI")
                .map_err(|e| e.to_string())?
                .and_then(|n| u32::try_from(n).ok());
            if let Some(s) = d.str("VtepMAC").map_err(|e| e.to_string())? {
                vtep_mac = Some(
                    s.parse()
                        .map_err(|_| format!("BackendData.VtepMAC: {s:?} is not a MAC"))?,
                );
            }
        }
        Ok(Attrs {
            public_ip,
            public_ipv6,
            backend_type,
            vni,
            vtep_mac,
        })
    }

    /// Whether `other` was published by the node these attrs describe: the same public
    /// address (a node's identity in flannel's leases).
    pub fn same_node(&self, other: &Attrs) -> bool {
        (self.public_ip.is_some() && other.public_ip == self.public_ip)
            || (self.public_ipv6.is_some() && other.public_ipv6 == self.public_ipv6)
    }

    /// The underlay address peers send to: IPv4 when the node has one.
    pub fn underlay(&self) -> Option<IpAddr> {
        self.public_ip
            .map(IpAddr::V4)
            .or(self.public_ipv6.map(IpAddr::V6))
    }
}

/// One node's lease as read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The IPv4 subnet.
    pub ipv4: Option<IpPrefix>,
    /// The IPv6 subnet.
    pub ipv6: Option<IpPrefix>,
    /// What the node published.
    pub attrs: Attrs,
    /// Seconds until the store expires the lease; `None` for a reservation (no TTL).
    pub ttl: Option<i64>,
}

impl Lease {
    /// flannel's key for this lease.
    pub fn key(&self) -> String {
        subnet::lease_key(self.ipv4.as_ref(), self.ipv6.as_ref())
    }

    /// Builds a lease from a key (the last path component) and its value.
    pub fn from_entry(key: &str, value: &[u8], ttl: Option<i64>) -> Result<Lease, String> {
        let (ipv4, ipv6) =
            subnet::parse_lease_key(key).ok_or_else(|| format!("{key:?} is not a lease key"))?;
        let attrs = Attrs::parse(value).map_err(|e| format!("lease {key}: {e}"))?;
        Ok(Lease {
            ipv4,
            ipv6,
            attrs,
            ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flannels_json_reads_and_writes_back() {
        let text = br#"{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:3e:0a:11:02"}}"#;
        let a = Attrs::parse(text).unwrap();
        assert_eq!(a.public_ip, Some(Ipv4Addr::new(192, 168, 64, 3)));
        assert_eq!(a.vni, Some(1));
        assert_eq!(a.vtep_mac.unwrap().to_string(), "c6:d2:3e:0a:11:02");
        assert_eq!(Attrs::parse(a.to_json().as_bytes()).unwrap(), a);
        let v: Value = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(v["BackendData"]["VtepMAC"], "c6:d2:3e:0a:11:02");
        assert_eq!(v["PublicIP"], "192.168.64.3");
    }

    #[test]
    fn host_gw_and_ipv6_leases() {
        let text = br#"{"PublicIP":"198.18.0.2","PublicIPv6":"fd00::2","BackendType":"host-gw","BackendData":null}"#;
        let l = Lease::from_entry("10.244.3.0-24&fd00:0:0:3::-64", text, Some(30)).unwrap();
        assert_eq!(l.ipv4.unwrap().to_string(), "10.244.3.0/24");
        assert_eq!(l.ipv6.unwrap().to_string(), "fd00:0:0:3::/64");
        assert_eq!(l.attrs.public_ipv6.unwrap().to_string(), "fd00::2");
        assert_eq!(l.key(), "10.244.3.0-24&fd00:0:0:3::-64");
    }

    #[test]
    fn bad_leases_are_refused_with_a_reason() {
        for (key, text) in [
            ("nope", &br#"{}"#[..]),
            ("10.0.1.0-24", br#"{"PublicIP":"fd00::1"}"#),
            ("10.0.1.0-24", br#"{"PublicIP":"x"}"#),
            ("10.0.1.0-24", br#"{"BackendData":{"VtepMAC":"zz"}}"#),
            ("10.0.1.0-24", b"{"),
        ] {
            assert!(
                Lease::from_entry(key, text, None).is_err(),
                "{key} {text:?}"
            );
        }
    }
}
