//! The ptp plugin's configuration: `mtu`, `ipam` (required), `dns`, `ipMasq` and
//! `ipMasqBackend`.

use twill_cni::config::NetConf;
use twill_cni::result::Dns;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use crate::common::{masq, netconf};

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
    /// `ipMasq` (nftables; `ipMasqBackend: "iptables"` is refused).
    pub ip_masq: bool,
}

impl PtpConf {
    /// Reads and validates everything ADD and CHECK need.
    pub fn parse(args: &CmdArgs) -> Result<PtpConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let ip_masq = masq::enabled(&net.obj())?;
        let mtu = netconf::mtu(&net.obj())?;
        let ipam = required_ipam(&net)?;
        Ok(PtpConf {
            mtu,
            ipam,
            dns: netconf::dns(&net),
            ip_masq,
            net,
        })
    }
}

/// `ipam.type`: a ptp link without addresses routes nothing, so ADD, CHECK and STATUS refuse
/// a configuration without one (code 7).
pub fn required_ipam(net: &NetConf) -> Result<String, CniError> {
    netconf::required_ipam(net, "ptp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::test_args;
    use serde_json::{json, Value};
    use twill_cni::Code;

    fn parse(extra: Value) -> Result<PtpConf, CniError> {
        let c = test_args::merged(
            json!({"cniVersion": "1.0.0", "name": "n", "type": "ptp",
                           "ipam": {"type": "host-local"}}),
            extra,
        );
        let args = test_args::add(c, "eth0", "");
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
        assert!(!parse(json!({})).unwrap().ip_masq);
        let c = parse(json!({"ipMasq": true, "ipMasqBackend": "nftables"})).unwrap();
        assert!(c.ip_masq);
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (extra, code, key) in [
            (
                json!({"ipMasq": true, "ipMasqBackend": "iptables"}),
                Code::UNSUPPORTED_FIELD,
                "ipMasqBackend",
            ),
            (
                json!({"ipMasqBackend": "ebpf"}),
                Code::INVALID_NETWORK_CONFIG,
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
