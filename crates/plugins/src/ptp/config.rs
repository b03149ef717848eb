//! The ptp plugin's configuration: `mtu`, `ipam` (required), `dns`, and the masquerading
//! keys refused until twill's nftables masquerade exists.

use twill_cni::config::NetConf;
use twill_cni::json::Obj;
use twill_cni::result::Dns;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use crate::common::netconf;

/// A ptp configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PtpConf {
    /// The whole configuration.
    pub net: NetConf,
    /// `mtu` of both ends of the pair; `None` for the kernel's default.
    pub mtu: Option<u32>,
    /// `ipam.type`.
    pub ipam: String,
    /// `dns`, when any of its fields is set.
    pub dns: Option<Dns>,
}

impl PtpConf {
    /// Reads and validates everything ADD and CHECK need.
    pub fn parse(args: &CmdArgs) -> Result<PtpConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        refuse_masquerade(&net.obj())?;
        let mtu = netconf::mtu(&net.obj())?;
        let ipam = required_ipam(&net)?;
        Ok(PtpConf {
            mtu,
            ipam,
            dns: netconf::dns(&net),
            net,
        })
    }
}

/// `ipam.type`: a ptp link without addresses routes nothing, so ADD, CHECK and STATUS refuse
/// a configuration without one (code 7).
pub fn required_ipam(net: &NetConf) -> Result<String, CniError> {
    net.plugin
        .ipam
        .as_ref()
        .map(|i| i.ipam_type.clone())
        .ok_or_else(|| {
            CniError::invalid_config(
                "ipam: required: ptp needs addresses from an IPAM plugin (\"ipam\": {\"type\": …})",
            )
        })
}

/// `ipMasq: true` and any `ipMasqBackend` are refused (code 2) rather than ignored: a pod
/// that should be masqueraded and is not loses its outbound traffic far from the cause.
/// Masquerading arrives with twill's nftables support.
fn refuse_masquerade(o: &Obj<'_>) -> Result<(), CniError> {
    if o.bool("ipMasq")? == Some(true) {
        return Err(CniError::unsupported_field(
            "ipMasq",
            "true (masquerading is not implemented yet by twill's ptp)",
        ));
    }
    if let Some(backend) = o.get("ipMasqBackend").filter(|v| !v.is_null()) {
        return Err(CniError::unsupported_field(
            "ipMasqBackend",
            format!("{backend} (masquerading is not implemented yet by twill's ptp)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use twill_cni::skel::{CniArgs, Command};
    use twill_cni::{Code, Version};

    fn parse(extra: Value) -> Result<PtpConf, CniError> {
        let mut c = json!({"cniVersion": "1.0.0", "name": "n", "type": "ptp",
                           "ipam": {"type": "host-local"}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        let args = CmdArgs {
            command: Command::Add,
            container_id: "c".into(),
            netns: Some("/run/netns/x".into()),
            netns_override: false,
            ifname: "eth0".into(),
            args: CniArgs::parse("").unwrap(),
            path: Vec::new(),
            stdin: serde_json::to_vec(&c).unwrap(),
            config: c,
            name: "n".into(),
            version: Version::V1_0_0,
        };
        PtpConf::parse(&args)
    }

    #[test]
    fn defaults_and_go_style_keys() {
        let c = parse(json!({})).unwrap();
        assert_eq!((c.mtu, c.ipam.as_str(), c.dns), (None, "host-local", None));
        let c = parse(json!({"MTU": 1400, "ipMasq": false, "dns": {"nameservers": ["10.0.0.53"]}}))
            .unwrap();
        assert_eq!(c.mtu, Some(1400));
        assert_eq!(c.dns.unwrap().nameservers, ["10.0.0.53"]);
        assert_eq!(parse(json!({"mtu": 0})).unwrap().mtu, None);
        assert!(parse(json!({"ipMasqBackend": null})).is_ok());
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (extra, code, key) in [
            (json!({"ipMasq": true}), Code::UNSUPPORTED_FIELD, "ipMasq"),
            (
                json!({"ipMasqBackend": "nftables"}),
                Code::UNSUPPORTED_FIELD,
                "ipMasqBackend",
            ),
            (json!({"ipMasq": "yes"}), Code::DECODING_FAILURE, "ipMasq"),
            (json!({"mtu": 67}), Code::INVALID_NETWORK_CONFIG, "mtu"),
            (json!({"mtu": "1500"}), Code::DECODING_FAILURE, "mtu"),
            (json!({"ipam": null}), Code::INVALID_NETWORK_CONFIG, "ipam"),
            (json!({"ipam": {}}), Code::INVALID_NETWORK_CONFIG, "ipam"),
            (
                json!({"ipam": {"subnet": "10.0.0.0/24"}}),
                Code::INVALID_NETWORK_CONFIG,
                "ipam.type",
            ),
        ] {
            let e = parse(extra.clone()).unwrap_err();
            assert_eq!(e.code, code, "{extra}: {e}");
            assert!(e.msg.contains(key), "{extra}: {e}");
        }
    }
}
