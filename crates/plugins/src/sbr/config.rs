//! sbr's input: its keys (`table`, `gateways`, `addSourceHints`) and the addresses of the
//! interface, from `prevResult`.

use std::net::IpAddr;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::{CniResult, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::IpPrefix;

/// Tables the kernel reserves: unspec, default, main, local (and 0).
const RESERVED_TABLES: [u32; 4] = [0, 253, 254, 255];

/// sbr's keys, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbrConf {
    /// `table`: a fixed table for the rules (later reference versions' key); `None` for
    /// sbr's own numbering.
    pub table: Option<u32>,
    /// `gateways`: at most one gateway per family, used instead of `prevResult`'s for the
    /// tables' default routes.
    pub gateways: Vec<IpAddr>,
    /// `addSourceHints`: keep the subnet routes in the main table (with the address as
    /// preferred source) instead of moving them out.
    pub source_hints: bool,
}

impl SbrConf {
    /// Reads the keys of an ADD or CHECK.
    ///
    /// # Errors
    ///
    /// Code 6 for a value of the wrong JSON type, 7 for an invalid one, naming the key.
    pub fn parse(config: &Value) -> Result<SbrConf, CniError> {
        NetConf::from_value(config)?;
        let o = Obj::root(config)?;
        let mut gateways: Vec<IpAddr> = Vec::new();
        let path = o.field_path("gateways");
        for (i, g) in o
            .str_array("gateways")?
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = twill_cni::json::index(&path, i);
            let ip: IpAddr = g.parse().map_err(|_| {
                FieldError::invalid(at.clone(), format!("{g:?} is not an IP address"))
            })?;
            if let Some(other) = gateways.iter().find(|x| x.is_ipv4() == ip.is_ipv4()) {
                return Err(FieldError::invalid(
                    at,
                    format!("a second gateway of one family ({other} and {ip}): at most one IPv4 and one IPv6 gateway"),
                )
                .into());
            }
            gateways.push(ip);
        }
        Ok(SbrConf {
            table: table(&o)?,
            gateways,
            source_hints: o.bool("addSourceHints")?.unwrap_or(false),
        })
    }

    /// The gateway for `ip`'s table: a configured one of its family, else `prevResult`'s.
    pub fn gateway_for(&self, ip: &SourceIp) -> Option<IpAddr> {
        let v4 = ip.net.addr().is_ipv4();
        self.gateways
            .iter()
            .find(|g| g.is_ipv4() == v4)
            .copied()
            .or(ip.gateway)
    }
}

/// Reads only `table`, for DEL, which must not fail on keys an ADD would refuse.
pub fn del_table(config: &Value) -> Option<u32> {
    Obj::root(config)
        .ok()
        .and_then(|o| table(&o).ok().flatten())
}

fn table(o: &Obj<'_>) -> Result<Option<u32>, CniError> {
    match o.u32("table")? {
        None => Ok(None),
        Some(t) if RESERVED_TABLES.contains(&t) => Err(FieldError::invalid(
            o.field_path("table"),
            format!("{t} is a table the kernel reserves (unspec, default, main or local)"),
        )
        .into()),
        Some(t) => Ok(Some(t)),
    }
}

/// `prevResult`, which sbr requires for ADD and CHECK, in its own version (the
/// configuration's when it has none).
pub fn prev_result(args: &CmdArgs) -> Result<CniResult, CniError> {
    let o = Obj::root(&args.config)?;
    let Some(prev) = o.get("prevResult") else {
        return Err(CniError::invalid_config(
            "prevResult: required: sbr is a chained plugin and must follow the plugin that configures the interface",
        ));
    };
    CniResult::from_value_at(prev, &o.field_path("prevResult"), args.version)
}

/// One address to route by source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIp {
    /// The address with its subnet's prefix length.
    pub net: IpPrefix,
    /// The gateway of its subnet.
    pub gateway: Option<IpAddr>,
}

impl SourceIp {
    /// The address alone, as the rule matches it (`/32` or `/128`).
    pub fn host(&self) -> IpPrefix {
        IpPrefix::host(self.net.addr())
    }

    /// Whether `ip` is inside the address's subnet.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let same = IpPrefix::new(*ip, self.net.len()).map(|p| p.network());
        same.is_ok_and(|p| p == self.net.network())
    }
}

/// The addresses of `prev` on `ifname`, as the reference picks them: those on that
/// interface, those without an interface, and those whose interface index is out of range.
pub fn source_ips(prev: &V1Result, ifname: &str) -> Result<Vec<SourceIp>, CniError> {
    if prev.ips.is_empty() {
        return Err(CniError::invalid_config(format!(
            "prevResult.ips: no IP addresses supplied on interface {ifname}"
        )));
    }
    let mut out = Vec::new();
    for ip in &prev.ips {
        let other = ip.interface.and_then(|i| {
            let i = usize::try_from(i).ok()?;
            prev.interfaces.get(i).filter(|iface| iface.name != ifname)
        });
        if other.is_some() {
            continue;
        }
        let net = IpPrefix::new(ip.address.addr(), ip.address.prefix_len())
            .map_err(|e| CniError::invalid_config(format!("prevResult.ips: {e}")))?;
        out.push(SourceIp {
            net,
            gateway: ip.gateway,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use serde_json::json;
    use twill_cni::Version;

    fn prev(v: Value) -> V1Result {
        CniResult::from_value(&v, Version::V1_0_0)
            .unwrap()
            .into_latest()
    }

    #[test]
    fn addresses_are_picked_as_the_reference_picks_them() {
        let p = prev(json!({"cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0"}, {"name": "net1", "sandbox": "/x"}],
        "ips": [
            {"address": "10.1.0.2/24", "interface": 1, "gateway": "10.1.0.1"},
            {"address": "10.2.0.2/24", "interface": 0},
            {"address": "10.3.0.2/24"},
            {"address": "10.4.0.2/24", "interface": 7}
        ]}));
        let got: Vec<String> = source_ips(&p, "net1")
            .unwrap()
            .iter()
            .map(|s| s.net.to_string())
            .collect();
        assert_eq!(got, ["10.1.0.2/24", "10.3.0.2/24", "10.4.0.2/24"]);
        let none = prev(json!({"cniVersion": "1.0.0", "ips": []}));
        let e = source_ips(&none, "eth0").unwrap_err();
        assert_eq!((e.code.0, e.msg.contains("prevResult.ips")), (7, true));
    }

    #[test]
    fn configured_gateways_win_per_family() {
        let conf = json!({"cniVersion": "1.0.0", "name": "n", "type": "sbr",
                          "gateways": ["fd00::1"], "addSourceHints": true, "table": 300});
        let c = SbrConf::parse(&conf).unwrap();
        assert_eq!((c.table, c.source_hints), (Some(300), true));
        let v4 = SourceIp {
            net: "10.1.0.2/24".parse().unwrap(),
            gateway: Some("10.1.0.1".parse().unwrap()),
        };
        let v6 = SourceIp {
            net: "fd00::2/64".parse().unwrap(),
            gateway: None,
        };
        assert_eq!(c.gateway_for(&v4), v4.gateway);
        assert_eq!(c.gateway_for(&v6), Some("fd00::1".parse().unwrap()));
        assert!(v4.contains(&"10.1.0.200".parse().unwrap()));
        assert!(!v4.contains(&"10.1.1.1".parse().unwrap()));
        assert!(!v4.contains(&"fd00::1".parse().unwrap()));
        assert_eq!(del_table(&json!({"table": "bad"})), None);
    }
}
