//! The vlan plugin's configuration: `master` (required), `vlanId` (0–4094), `mtu`,
//! `linkInContainer`, `ipam` (required), `dns`.

use twill_cni::config::NetConf;
use twill_cni::json::FieldError;
use twill_cni::result::Dns;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::link::check_name;
use twill_kernel::link_kinds::MAX_VLAN_ID;

use crate::common::netconf;

/// A vlan configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct VlanConf {
    /// The whole configuration.
    pub net: NetConf,
    /// `master`: the interface the vlan is made on.
    pub master: String,
    /// `vlanId`.
    pub vlan_id: u16,
    /// `mtu`; `None` for the master's.
    pub mtu: Option<u32>,
    /// `linkInContainer`: the master is in the container's namespace.
    pub link_in_container: bool,
    /// `ipam.type`.
    pub ipam: String,
    /// `dns`, when any of its fields is set.
    pub dns: Option<Dns>,
}

impl VlanConf {
    /// Reads and validates everything ADD, CHECK, GC and STATUS need (code 7 naming the
    /// key, 6 for a wrong JSON type).
    pub fn parse(args: &CmdArgs) -> Result<VlanConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let o = net.obj();
        let master = o.str("master")?.filter(|m| !m.is_empty()).ok_or_else(|| {
            CniError::invalid_config(
                "master: required: it names the host interface to create the VLAN on",
            )
        })?;
        check_name(master).map_err(|why| FieldError::invalid(o.field_path("master"), why))?;
        let vlan_id = match o.i64("vlanId")? {
            None => 0,
            Some(id) => u16::try_from(id)
                .ok()
                .filter(|id| *id <= MAX_VLAN_ID)
                .ok_or_else(|| {
                    FieldError::invalid(
                        o.field_path("vlanId"),
                        format!("invalid VLAN ID {id} (must be between 0 and {MAX_VLAN_ID})"),
                    )
                })?,
        };
        let ipam = netconf::required_ipam(&net, "vlan")?;
        Ok(VlanConf {
            master: master.to_owned(),
            vlan_id,
            mtu: netconf::mtu(&o)?,
            link_in_container: o.bool("linkInContainer")?.unwrap_or(false),
            ipam,
            dns: netconf::dns(&net),
            net,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::test_args;
    use serde_json::{json, Value};
    use twill_cni::Code;

    fn parse(extra: Value) -> Result<VlanConf, CniError> {
        let c = test_args::merged(
            json!({"cniVersion": "1.0.0", "name": "n", "type": "vlan",
                           "master": "eth0", "ipam": {"type": "host-local"}}),
            extra,
        );
        let args = test_args::add(c, "eth0", "");
        VlanConf::parse(&args)
    }

    #[test]
    fn keys_and_defaults() {
        let c = parse(json!({})).unwrap();
        assert_eq!(
            (c.master.as_str(), c.vlan_id, c.mtu, c.link_in_container),
            ("eth0", 0, None, false)
        );
        let c = parse(json!({"vlanId": 4094, "MTU": 1400, "linkInContainer": true})).unwrap();
        assert_eq!(
            (c.vlan_id, c.mtu, c.link_in_container),
            (4094, Some(1400), true)
        );
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (extra, code, key) in [
            (
                json!({"master": null}),
                Code::INVALID_NETWORK_CONFIG,
                "master",
            ),
            (
                json!({"master": ""}),
                Code::INVALID_NETWORK_CONFIG,
                "master",
            ),
            (
                json!({"master": "a b"}),
                Code::INVALID_NETWORK_CONFIG,
                "master",
            ),
            (
                json!({"vlanId": 4095}),
                Code::INVALID_NETWORK_CONFIG,
                "vlanId",
            ),
            (
                json!({"vlanId": -1}),
                Code::INVALID_NETWORK_CONFIG,
                "vlanId",
            ),
            (json!({"vlanId": "10"}), Code::DECODING_FAILURE, "vlanId"),
            (json!({"mtu": 20}), Code::INVALID_NETWORK_CONFIG, "mtu"),
            (
                json!({"linkInContainer": 1}),
                Code::DECODING_FAILURE,
                "linkInContainer",
            ),
            (json!({"ipam": null}), Code::INVALID_NETWORK_CONFIG, "ipam"),
        ] {
            let e = parse(extra.clone()).unwrap_err();
            assert_eq!(e.code, code, "{extra}: {e}");
            assert!(e.msg.contains(key), "{extra}: {e}");
        }
    }
}
