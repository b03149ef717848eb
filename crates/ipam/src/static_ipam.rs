//! static: the addresses, routes and DNS written in the configuration, or given by the runtime.
//!
//! Where the addresses come from (checked against the reference binary): `ipam.addresses`,
//! with CNI_ARGS `IP` (a comma list of CIDRs) appended and CNI_ARGS `GATEWAY` (a comma list)
//! setting the gateway of each `IP` address whose subnet holds it; `args.cni.ips` replaces all
//! of that, and `runtimeConfig.ips` replaces everything. Every address must carry a prefix.

use serde_json::Value;
use twill_cni::json::{index, FieldError, Obj};
use twill_cni::result::{parse_ip, Dns, IpConfig, IpNet, V1Result, V1Route};
use twill_cni::skel::CniArgs;
use twill_cni::Version;

use crate::common::{ipam_obj, net_conf, one_per_family, routes};
use crate::error::IpamError;

/// static's configuration, validated, with the request's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticConf {
    /// The addresses to hand out, with their gateways.
    pub addresses: Vec<IpConfig>,
    /// `ipam.routes`.
    pub routes: Vec<V1Route>,
    /// `ipam.dns`.
    pub dns: Dns,
    /// The configuration's spec version.
    pub version: Version,
}

impl StaticConf {
    /// Reads the configuration and applies CNI_ARGS, `args.cni.ips` and `runtimeConfig.ips`.
    pub fn parse(config: &Value, cni_args: &CniArgs) -> Result<StaticConf, IpamError> {
        let conf = net_conf(config)?;
        let ipam = ipam_obj(&conf);
        let mut addresses = configured(&ipam)?;
        let from_args = ip_arg(cni_args)?;
        let first_arg = addresses.len();
        addresses.extend(from_args);
        if let Some(gateways) = cni_args.get("GATEWAY").filter(|g| !g.is_empty()) {
            for item in gateways.split(',') {
                let gw = parse_ip(item.trim()).ok_or_else(|| {
                    IpamError::invalid("CNI_ARGS GATEWAY", format!("{item:?} is not an IP address"))
                })?;
                for a in addresses.iter_mut().skip(first_arg) {
                    if a.address.contains(gw) {
                        a.gateway = Some(gw);
                    }
                }
            }
        }
        if let Some(ips) = conf
            .plugin
            .args
            .as_ref()
            .and_then(|a| a.cni.as_ref())
            .map(|c| &c.ips)
        {
            if !ips.is_empty() {
                addresses = cidrs(ips, "args.cni.ips")?;
            }
        }
        if let Some(rc) = &conf.plugin.runtime_config {
            if !rc.ips.is_empty() {
                addresses = cidrs(&rc.ips, "runtimeConfig.ips")?;
            }
        }
        one_per_family(
            addresses.iter().map(IpConfig::family),
            conf.cni_version,
            "ipam.addresses",
        )?;
        Ok(StaticConf {
            addresses,
            routes: routes(&ipam)?,
            dns: dns(&ipam)?,
            version: conf.cni_version,
        })
    }

    /// The ADD result.
    pub fn result(&self) -> V1Result {
        V1Result {
            interfaces: Vec::new(),
            ips: self.addresses.clone(),
            routes: self.routes.clone(),
            dns: self.dns.clone(),
        }
    }

    /// CHECK: every configured address is in the previous result, with the same gateway.
    pub fn check(&self, prev: Option<&V1Result>, ifname: &str) -> Result<(), IpamError> {
        let prev = prev.ok_or_else(|| FieldError::Missing {
            path: "prevResult".into(),
        })?;
        for want in &self.addresses {
            let found = prev
                .ips
                .iter()
                .any(|ip| ip.address.addr() == want.address.addr() && ip.gateway == want.gateway);
            if !found {
                return Err(IpamError::Mismatch(format!(
                    "static: failed to match addr {} on interface {ifname}",
                    want.address.addr()
                )));
            }
        }
        Ok(())
    }
}

fn cidr(text: &str, path: &str) -> Result<IpNet, IpamError> {
    text.trim().parse().map_err(|_| {
        IpamError::invalid(
            path,
            format!("{text:?} is not in CIDR notation (address/prefix)"),
        )
    })
}

fn cidrs(items: &[String], path: &str) -> Result<Vec<IpConfig>, IpamError> {
    items
        .iter()
        .enumerate()
        .map(|(i, s)| cidr(s, &index(path, i)).map(IpConfig::new))
        .collect()
}

fn configured(ipam: &Obj<'_>) -> Result<Vec<IpConfig>, IpamError> {
    let Some(items) = ipam.array("addresses")? else {
        return Ok(Vec::new());
    };
    let path = ipam.field_path("addresses");
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = index(&path, i);
            let o = Obj::at(item, &here)?;
            let address = cidr(o.required_str("address")?, &o.field_path("address"))?;
            let mut ip = IpConfig::new(address);
            if let Some(gw) = o.str("gateway")? {
                ip.gateway = Some(parse_ip(gw).ok_or_else(|| {
                    IpamError::invalid(
                        o.field_path("gateway"),
                        format!("{gw:?} is not an IP address"),
                    )
                })?);
            }
            Ok(ip)
        })
        .collect()
}

fn ip_arg(cni_args: &CniArgs) -> Result<Vec<IpConfig>, IpamError> {
    let Some(value) = cni_args.get("IP").filter(|v| !v.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(|item| cidr(item, "CNI_ARGS IP").map(IpConfig::new))
        .collect()
}

fn dns(ipam: &Obj<'_>) -> Result<Dns, IpamError> {
    let path = ipam.field_path("dns");
    let Some(v) = ipam.get("dns") else {
        return Ok(Dns::default());
    };
    let o = Obj::at(v, &path)?;
    let list = |k: &str| -> Result<Vec<String>, FieldError> {
        Ok(o.str_array(k)?
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect())
    };
    Ok(Dns {
        nameservers: list("nameservers")?,
        domain: o.str("domain")?.unwrap_or_default().to_owned(),
        search: list("search")?,
        options: list("options")?,
    })
}
