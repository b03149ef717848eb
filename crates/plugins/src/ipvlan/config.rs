//! The ipvlan plugin's configuration: `master`, `mode`, `mtu`, `linkInContainer`, `ipam`,
//! `dns` — and, chained after another plugin without `ipam`, the previous result's
//! addresses (and its one interface as the default `master`).

use twill_cni::config::NetConf;
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::{CniResult, Dns, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::IpvlanMode;

use crate::common::lower::LowerKeys;
use crate::common::netconf;

/// An ipvlan configuration, validated (without the kernel).
#[derive(Debug, Clone, PartialEq)]
pub struct IpvlanConf {
    /// The whole configuration.
    pub net: NetConf,
    /// `master`, `mtu`, `linkInContainer`.
    pub lower: LowerKeys,
    /// `mode`; l2 when absent or empty.
    pub mode: IpvlanMode,
    /// `ipam.type`; `None` when chained onto a result with addresses.
    pub ipam: Option<String>,
    /// `dns`, when any of its fields is set.
    pub dns: Option<Dns>,
}

impl IpvlanConf {
    /// Reads and validates everything CHECK, GC and STATUS need.
    pub fn parse(args: &CmdArgs) -> Result<IpvlanConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let o = net.obj();
        Ok(IpvlanConf {
            lower: LowerKeys::parse(&o)?,
            mode: mode(&o)?,
            ipam: net.plugin.ipam.as_ref().map(|i| i.ipam_type.clone()),
            dns: netconf::dns(&net),
            net,
        })
    }

    /// ADD's reading: the configuration, plus the chained result whose addresses the
    /// interface takes when there is no `ipam`. Without `master`, a chained result's one
    /// named interface is the parent, as in the reference.
    pub fn parse_for_add(args: &CmdArgs) -> Result<(IpvlanConf, Option<V1Result>), CniError> {
        let mut conf = IpvlanConf::parse(args)?;
        let prev = match conf.net.plugin.prev_result.as_ref() {
            Some(p) => Some(CniResult::from_value_at(p, "prevResult", args.version)?.into_latest()),
            None => None,
        };
        if conf.lower.master.is_none() {
            if let Some(prev) = &prev {
                match prev.interfaces.as_slice() {
                    [only] if !only.name.is_empty() => {
                        conf.lower.master = Some(only.name.clone());
                    }
                    _ => {
                        return Err(FieldError::invalid(
                            "master",
                            "not set, and prevResult lacks a single named interface to use \
                             instead (chained master failure)",
                        )
                        .into())
                    }
                }
            }
        }
        let given = match (&conf.ipam, prev) {
            (Some(_), _) => None,
            (None, Some(prev)) if !prev.ips.is_empty() => Some(prev),
            (None, _) => {
                return Err(FieldError::invalid(
                    "ipam",
                    "required: an ipvlan interface needs addresses, from an IPAM plugin or \
                     from the previous plugin's result (prevResult.ips)",
                )
                .into())
            }
        };
        Ok((conf, given))
    }
}

/// `mode`: l2 (the default), l3 or l3s.
pub fn mode(o: &Obj<'_>) -> Result<IpvlanMode, CniError> {
    Ok(match o.str("mode")? {
        None | Some("" | "l2") => IpvlanMode::L2,
        Some("l3") => IpvlanMode::L3,
        Some("l3s") => IpvlanMode::L3s,
        Some(other) => {
            return Err(FieldError::invalid(
                "mode",
                format!("unknown ipvlan mode: {other:?} (l2, l3 or l3s)"),
            )
            .into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::test_args;
    use serde_json::{json, Value};
    use twill_cni::Code;

    fn args(extra: Value) -> CmdArgs {
        let c = test_args::merged(
            json!({"cniVersion": "1.0.0", "name": "n", "type": "ipvlan"}),
            extra,
        );
        test_args::add(c, "eth0", "")
    }

    fn prev(interfaces: Value, ips: Value) -> Value {
        json!({"cniVersion": "1.0.0", "interfaces": interfaces, "ips": ips})
    }

    #[test]
    fn keys_and_defaults() {
        let c = IpvlanConf::parse(&args(json!({}))).unwrap();
        assert_eq!(
            (c.mode, c.lower.master, c.ipam),
            (IpvlanMode::L2, None, None)
        );
        let c = IpvlanConf::parse(&args(json!({"mode": "l3s", "master": "up0", "mtu": 1400,
                                                "linkInContainer": true,
                                                "ipam": {"type": "static"}})))
        .unwrap();
        assert_eq!(c.mode, IpvlanMode::L3s);
        assert_eq!(c.lower.master.as_deref(), Some("up0"));
        assert_eq!((c.lower.mtu, c.lower.link_in_container), (Some(1400), true));
        assert_eq!(c.ipam.as_deref(), Some("static"));
        assert_eq!(
            IpvlanConf::parse(&args(json!({"mode": "l3"})))
                .unwrap()
                .mode,
            IpvlanMode::L3
        );
    }

    #[test]
    fn chained_takes_master_and_addresses_from_the_previous_result() {
        let p = prev(
            json!([{"name": "up7"}]),
            json!([{"address": "10.0.0.2/24", "interface": 0}]),
        );
        let (c, given) = IpvlanConf::parse_for_add(&args(json!({"prevResult": p}))).unwrap();
        assert_eq!(c.lower.master.as_deref(), Some("up7"));
        assert_eq!(given.unwrap().ips.len(), 1);
        // An explicit master wins; an IPAM means the previous addresses are not taken.
        let (c, given) = IpvlanConf::parse_for_add(&args(
            json!({"prevResult": p, "master": "up0", "ipam": {"type": "host-local"}}),
        ))
        .unwrap();
        assert_eq!((c.lower.master.as_deref(), given), (Some("up0"), None));
    }

    #[test]
    fn refusals_carry_code_and_key() {
        let two = prev(json!([{"name": "a"}, {"name": "b"}]), json!([]));
        let no_ips = prev(json!([{"name": "a"}]), json!([]));
        for (extra, code, key) in [
            (
                json!({"mode": "bridge"}),
                Code::INVALID_NETWORK_CONFIG,
                "mode",
            ),
            (json!({"mode": true}), Code::DECODING_FAILURE, "mode"),
            (json!({"mtu": 70000}), Code::INVALID_NETWORK_CONFIG, "mtu"),
            (
                json!({"master": "x y"}),
                Code::INVALID_NETWORK_CONFIG,
                "master",
            ),
            (json!({}), Code::INVALID_NETWORK_CONFIG, "ipam"),
            (
                json!({"prevResult": two}),
                Code::INVALID_NETWORK_CONFIG,
                "master",
            ),
            (
                json!({"prevResult": no_ips}),
                Code::INVALID_NETWORK_CONFIG,
                "ipam",
            ),
        ] {
            let e = IpvlanConf::parse_for_add(&args(extra.clone())).unwrap_err();
            assert_eq!(e.code, code, "{extra}: {e}");
            assert!(e.msg.contains(key), "{extra}: {e}");
        }
    }
}
