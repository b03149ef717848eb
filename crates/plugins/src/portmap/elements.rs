//! One attachment's share of the skeleton: its DNAT map entries and masquerade ranges,
//! as a [`Record`] (what the state file holds) and as nf_tables elements (computed from
//! the record, so DEL removes exactly what ADD added without reading the configuration).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use twill_cni::config::Protocol;
use twill_kernel::nft::{Batch, Element, Family, SetRef, Value};

use super::config::{ContainerIp, PortmapConf};
use super::skeleton::{set_ref, ANY_MAP, HOSTIP_MAP, MASQ_SET};

/// Element comments are capped by the kernel (`NFT_USERDATA_MAXLEN`); the container ID is
/// shown for operators, never read back to find elements.
const MAX_COMMENT: usize = 120;

/// One host port forwarded to the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dnat {
    /// The host address it is bound to; `None` for every local address.
    pub host_ip: Option<IpAddr>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// The host port.
    pub host_port: u16,
    /// Where it goes.
    pub container_ip: IpAddr,
    /// The container's port.
    pub container_port: u16,
}

/// A range of sources masqueraded on their way to `dst`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Masq {
    /// First source address.
    pub src_first: IpAddr,
    /// Last source address.
    pub src_last: IpAddr,
    /// The container address.
    pub dst: IpAddr,
}

/// What one attachment added: the state file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// The forwarded ports.
    pub dnat: Vec<Dnat>,
    /// The masquerade ranges.
    pub masq: Vec<Masq>,
}

fn family_of(addr: IpAddr) -> Family {
    if addr.is_ipv4() {
        Family::Ip
    } else {
        Family::Ip6
    }
}

/// The first and last address of `addr/prefix`.
fn range(addr: IpAddr, prefix: u8) -> (IpAddr, IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let first = u32::from(a) & !host;
            (
                Ipv4Addr::from(first).into(),
                Ipv4Addr::from(first | host).into(),
            )
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let first = u128::from(a) & !host;
            (
                Ipv6Addr::from(first).into(),
                Ipv6Addr::from(first | host).into(),
            )
        }
    }
}

/// The transport protocol number of a mapping's protocol name.
pub fn protocol_number(name: &str) -> u8 {
    match Protocol::parse(name) {
        Some(Protocol::Udp) => 17,
        Some(Protocol::Sctp) => 132,
        Some(Protocol::Tcp) | None => 6,
    }
}

impl Record {
    /// What `conf` asks for, for this attachment. A mapping bound to a host address of
    /// one family only applies to the container address of that family; an unspecified
    /// host address (`0.0.0.0`, `::`) means every address of its family.
    pub fn plan(conf: &PortmapConf, container_id: &str, ifname: &str) -> Record {
        let mut rec = Record {
            container_id: container_id.to_owned(),
            ifname: ifname.to_owned(),
            dnat: Vec::new(),
            masq: Vec::new(),
        };
        for c in [conf.v4, conf.v6].into_iter().flatten() {
            let before = rec.dnat.len();
            for m in &conf.mappings {
                let host_ip = m.host_ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
                if host_ip.is_some_and(|h| h.is_ipv4() != c.addr.is_ipv4()) {
                    continue;
                }
                rec.dnat.push(Dnat {
                    host_ip: host_ip.filter(|h| !h.is_unspecified()),
                    protocol: m.protocol.as_str().to_owned(),
                    host_port: m.host_port,
                    container_ip: c.addr,
                    container_port: m.container_port,
                });
            }
            if rec.dnat.len() > before && conf.snat {
                rec.masq.extend(masq_ranges(c, conf.masq_all));
            }
        }
        rec
    }

    /// Every element, with the set it belongs to; the DNAT entries first.
    pub fn elements(&self) -> Vec<(SetRef, Element)> {
        let comment: String = self.container_id.chars().take(MAX_COMMENT).collect();
        let mut out = Vec::new();
        for d in &self.dnat {
            let target = [Value::ip(d.container_ip), Value::Port(d.container_port)];
            let proto = Value::Proto(protocol_number(&d.protocol));
            let port = Value::Port(d.host_port);
            let (map, key) = match d.host_ip {
                Some(h) => (HOSTIP_MAP, vec![Value::ip(h), proto, port]),
                None => (ANY_MAP, vec![proto, port]),
            };
            let el = Element::new(&key).to_values(&target).comment(&comment);
            out.push((set_ref(family_of(d.container_ip), map), el));
        }
        for m in &self.masq {
            let el = Element::new(&[Value::ip(m.src_first), Value::ip(m.dst)])
                .range_end(&[Value::ip(m.src_last), Value::ip(m.dst)])
                .comment(&comment);
            out.push((set_ref(family_of(m.dst), MASQ_SET), el));
        }
        out
    }

    /// The families this record has elements in.
    pub fn families(&self) -> Vec<Family> {
        let mut out = Vec::new();
        for f in self.dnat.iter().map(|d| family_of(d.container_ip)) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// One batch adding everything: host ports exclusively (a port someone holds fails
    /// the whole batch), masquerade ranges idempotently.
    pub fn add_batch(&self) -> Batch {
        let mut batch = Batch::new();
        for (set, el) in self.elements() {
            if set.name == MASQ_SET {
                batch.add_elements(&set, &[el]);
            } else {
                batch.create_elements(&set, &[el]);
            }
        }
        batch
    }

    /// How a DNAT entry is named in messages: `8080/tcp on 198.18.0.1` / `on every address`.
    pub fn describe(d: &Dnat) -> String {
        match d.host_ip {
            Some(h) => format!("host port {}/{} on {h}", d.host_port, d.protocol),
            None => format!("host port {}/{}", d.host_port, d.protocol),
        }
    }
}

/// The sources masqueraded towards container address `c`: its pod network and, for IPv4,
/// loopback; or every source with `masqAll`.
fn masq_ranges(c: ContainerIp, masq_all: bool) -> Vec<Masq> {
    let mk = |(src_first, src_last)| Masq {
        src_first,
        src_last,
        dst: c.addr,
    };
    if masq_all {
        return vec![mk(range(c.addr, 0))];
    }
    let mut out = vec![mk(range(c.addr, c.prefix))];
    if c.addr.is_ipv4() {
        out.push(mk(range(Ipv4Addr::LOCALHOST.into(), 8)));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use twill_cni::config::PortMapping;

    fn conf(mappings: Vec<PortMapping>, snat: bool) -> PortmapConf {
        PortmapConf {
            network: "n".into(),
            mappings,
            snat,
            masq_all: false,
            data_dir: "/nonexistent".into(),
            v4: Some(ContainerIp {
                addr: "10.1.0.2".parse().unwrap(),
                prefix: 24,
            }),
            v6: Some(ContainerIp {
                addr: "fd00::2".parse().unwrap(),
                prefix: 64,
            }),
            host_ifaces: vec![],
        }
    }

    fn pm(host_ip: Option<&str>, proto: Protocol) -> PortMapping {
        PortMapping {
            host_port: 8080,
            container_port: 80,
            protocol: proto,
            host_ip: host_ip.map(str::to_owned),
        }
    }

    #[test]
    fn plan_per_family_and_masquerade_ranges() {
        let c = conf(
            vec![
                pm(None, Protocol::Tcp),
                pm(Some("198.18.0.1"), Protocol::Udp),
            ],
            true,
        );
        let r = Record::plan(&c, "ctr", "eth0");
        // Unbound: both families; bound v4: only the v4 container address.
        assert_eq!(r.dnat.len(), 3);
        assert_eq!(r.families(), vec![Family::Ip, Family::Ip6]);
        let v4net = r.masq.iter().find(|m| m.dst == c.v4.unwrap().addr).unwrap();
        assert_eq!(v4net.src_first.to_string(), "10.1.0.0");
        assert_eq!(v4net.src_last.to_string(), "10.1.0.255");
        assert!(r
            .masq
            .iter()
            .any(|m| m.src_last.to_string() == "127.255.255.255"));
        assert_eq!(r.masq.len(), 3);
        let els = r.elements();
        assert_eq!(els.len(), 6);
        assert_eq!(els[0].0.name, ANY_MAP);
        assert_eq!(els[0].1.key, vec![6, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(els[1].0.name, HOSTIP_MAP);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
    }

    #[test]
    fn no_snat_no_masquerade_and_unspecified_host_ip_is_unbound() {
        let r = Record::plan(
            &conf(vec![pm(Some("0.0.0.0"), Protocol::Sctp)], false),
            "c",
            "e",
        );
        assert_eq!(r.dnat.len(), 1);
        assert_eq!(r.dnat[0].host_ip, None);
        assert!(r.masq.is_empty());
        let mut all = conf(vec![pm(None, Protocol::Tcp)], true);
        all.masq_all = true;
        let r = Record::plan(&all, "c", "e");
        assert_eq!(r.masq.len(), 2);
        assert!(r.masq.iter().all(|m| m.src_first.is_unspecified()));
    }
}
