//! Configuration pieces host-local and static share: `routes`, requested addresses, the
//! per-family limit of old spec versions, and reading the configuration itself.

use serde_json::Value;
use twill_cni::config::{ConfigError, NetConf};
use twill_cni::json::{index, FieldError, Obj};
use twill_cni::result::{parse_ip, IpFamily, IpNet, V1Route};
use twill_cni::{ResultFamily, Version};

use crate::error::IpamError;

/// The plugin configuration, typed, and its `ipam` object (required).
pub fn net_conf(config: &Value) -> Result<NetConf, IpamError> {
    let conf = NetConf::from_value(config).map_err(|e| match e {
        ConfigError::Field(f) => IpamError::Field(f),
        other => IpamError::invalid("cniVersion", other.to_string()),
    })?;
    if conf.plugin.ipam.is_none() {
        return Err(FieldError::Missing {
            path: "ipam".into(),
        }
        .into());
    }
    Ok(conf)
}

/// The `ipam` object of a configuration already read by [`net_conf`].
pub fn ipam_obj(conf: &NetConf) -> Obj<'_> {
    match &conf.plugin.ipam {
        Some(ipam) => Obj::new(&ipam.raw, "ipam"),
        None => Obj::new(&conf.plugin.raw, ""),
    }
}

/// `routes`: `[{dst, gw?, mtu?, advmss?, priority?, table?, scope?}]` under `o`.
pub fn routes(o: &Obj<'_>) -> Result<Vec<V1Route>, IpamError> {
    let Some(items) = o.array("routes")? else {
        return Ok(Vec::new());
    };
    let path = o.field_path("routes");
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = index(&path, i);
            let r = Obj::at(item, &here)?;
            let dst_text = r.required_str("dst")?;
            let dst: IpNet = dst_text.parse().map_err(|_| {
                IpamError::invalid(r.field_path("dst"), format!("{dst_text:?} is not a CIDR"))
            })?;
            let mut route = V1Route::new(dst);
            if let Some(gw) = r.str("gw")? {
                route.gw = Some(parse_ip(gw).ok_or_else(|| {
                    IpamError::invalid(r.field_path("gw"), format!("{gw:?} is not an IP address"))
                })?);
            }
            route.mtu = r.u32("mtu")?.unwrap_or(0);
            route.advmss = r.u32("advmss")?.unwrap_or(0);
            route.priority = r.u32("priority")?.unwrap_or(0);
            route.table = r.u32("table")?;
            route.scope = match r.u32("scope")? {
                None => None,
                Some(s) => Some(u8::try_from(s).map_err(|_| {
                    IpamError::invalid(r.field_path("scope"), format!("{s} is out of range"))
                })?),
            };
            Ok(route)
        })
        .collect()
}

/// A requested address written `ip` or `ip/prefix` (the prefix is ignored), found at `path`.
pub fn requested_ip(text: &str, path: &str) -> Result<std::net::IpAddr, IpamError> {
    let addr = text.split_once('/').map_or(text, |(a, _)| a);
    parse_ip(addr).ok_or_else(|| IpamError::invalid(path, format!("{text:?} is not an IP address")))
}

/// Spec versions before 0.3.0 carry one address per family; more is refused, naming `path`.
pub fn one_per_family(
    families: impl Iterator<Item = IpFamily>,
    version: Version,
    path: &str,
) -> Result<(), IpamError> {
    if version.family() != ResultFamily::Legacy {
        return Ok(());
    }
    let (mut v4, mut v6) = (0, 0);
    for f in families {
        match f {
            IpFamily::V4 => v4 += 1,
            IpFamily::V6 => v6 += 1,
        }
    }
    if v4 > 1 || v6 > 1 {
        return Err(IpamError::invalid(
            path,
            format!(
                "CNI version {} does not support more than 1 address per family",
                version.as_str()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use twill_cni::Code;

    fn code(e: IpamError) -> (Code, String) {
        let c = twill_cni::CniError::from(e);
        (c.code, c.msg)
    }

    #[test]
    fn routes_parse_with_their_paths() {
        let v = json!({"routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.9.0.0/16", "gw": "10.0.0.1", "priority": 5}]});
        let r = routes(&Obj::at(&v, "ipam").unwrap()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].gw.unwrap().to_string(), "10.0.0.1");
        assert_eq!(r[1].priority, 5);
        for (bad, want, c) in [
            (
                json!({"routes": [{"dst": "10.0.0.1"}]}),
                "ipam.routes[0].dst",
                7,
            ),
            (json!({"routes": [{}]}), "ipam.routes[0].dst", 7),
            (
                json!({"routes": [{"dst": "0.0.0.0/0", "gw": "x"}]}),
                "ipam.routes[0].gw",
                7,
            ),
            (json!({"routes": {}}), "ipam.routes", 6),
            (json!({"routes": [{"dst": 1}]}), "ipam.routes[0].dst", 6),
        ] {
            let (got, msg) = code(routes(&Obj::at(&bad, "ipam").unwrap()).unwrap_err());
            assert_eq!(got, Code(c), "{msg}");
            assert!(msg.starts_with(want), "{msg}");
        }
    }

    #[test]
    fn legacy_versions_take_one_address_per_family() {
        let two = [IpFamily::V4, IpFamily::V4];
        assert!(one_per_family(two.into_iter(), Version::V0_3_0, "x").is_ok());
        let (c, msg) =
            code(one_per_family(two.into_iter(), Version::V0_2_0, "ipam.ranges").unwrap_err());
        assert_eq!(c, Code::INVALID_NETWORK_CONFIG);
        assert!(msg.contains("0.2.0"), "{msg}");
        let mixed = [IpFamily::V4, IpFamily::V6];
        assert!(one_per_family(mixed.into_iter(), Version::V0_1_0, "x").is_ok());
    }
}
