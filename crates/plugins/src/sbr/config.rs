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
