//! The macvlan plugin's configuration: `master`, `mode`, `mtu`, `mac`, `linkInContainer`,
//! `ipam` (optional: without it the interface is layer 2 only), `dns`, and the MAC's
//! overrides from `CNI_ARGS` and `runtimeConfig`.

use twill_cni::config::NetConf;
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::Dns;
use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Version};
use twill_kernel::{MacAddr, MacvlanMode};

use crate::common::lower::LowerKeys;
use crate::common::{mac, netconf};

/// A macvlan configuration, validated (without the kernel: the parent is looked up by ADD
/// and CHECK).
#[derive(Debug, Clone, PartialEq)]
pub struct MacvlanConf {
    /// The whole configuration.
    pub net: NetConf,
    /// `master`, `mtu`, `linkInContainer`.
    pub lower: LowerKeys,
    /// `mode`; bridge when absent or empty.
    pub mode: MacvlanMode,
    /// The interface's MAC: `runtimeConfig.mac` > `CNI_ARGS` `MAC` > `mac`; random when
    /// none is given (the parent's in passthru mode).
    pub mac: Option<MacAddr>,
    /// `ipam.type`; `None` for a layer 2 only interface.
    pub ipam: Option<String>,
    /// `dns`, when any of its fields is set.
    pub dns: Option<Dns>,
}

impl MacvlanConf {
    /// Reads and validates everything ADD and CHECK need.
    pub fn parse(args: &CmdArgs) -> Result<MacvlanConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let o = net.obj();
        let lower = LowerKeys::parse(&o)?;
        let mode = mode(&o)?;
        let ipam = net.plugin.ipam.as_ref().map(|i| i.ipam_type.clone());
        Ok(MacvlanConf {
            lower,
            mode,
            mac: mac(args, &net, &o)?,
            ipam,
            dns: netconf::dns(&net),
            net,
        })
    }

    /// ADD's extra rule: a layer 2 only interface has no addresses, which the 0.1.0 and
    /// 0.2.0 results cannot express. Refused before anything is created (code 1) — the
    /// reference creates the interface and then fails, leaving it behind.
    pub fn check_result_version(&self, version: Version) -> Result<(), CniError> {
        if self.ipam.is_none() && version < Version::V0_3_0 {
            return Err(CniError::incompatible_version(format!(
                "ipam: required at cniVersion {version}: a macvlan interface without \
                 addresses (no \"ipam\") has no {version} result (cannot convert: no valid \
                 IP addresses); use 0.3.0 or later"
            )));
        }
        Ok(())
    }
}

/// `mode`: bridge (the default), private, vepa or passthru.
pub fn mode(o: &Obj<'_>) -> Result<MacvlanMode, CniError> {
    Ok(match o.str("mode")? {
        None | Some("" | "bridge") => MacvlanMode::Bridge,
        Some("private") => MacvlanMode::Private,
        Some("vepa") => MacvlanMode::Vepa,
        Some("passthru") => MacvlanMode::Passthru,
        Some(other) => {
            return Err(FieldError::invalid(
                "mode",
                format!("unknown macvlan mode: {other:?} (bridge, private, vepa or passthru)"),
            )
            .into())
        }
    })
}

/// The MAC by precedence, as the reference takes it: `runtimeConfig.mac` over `CNI_ARGS`
/// `MAC` over the `mac` key. Each must be a unicast Ethernet address, refused (code 7)
/// naming its source otherwise.
fn mac(args: &CmdArgs, net: &NetConf, o: &Obj<'_>) -> Result<Option<MacAddr>, CniError> {
    if let Some(text) = mac::runtime_config(net) {
        return mac::parse("runtimeConfig.mac", &text).map(Some);
    }
    if let Some(bytes) = args.args.mac()? {
        return mac::unicast("CNI_ARGS MAC", MacAddr(bytes)).map(Some);
    }
    match o.str("mac")? {
        None | Some("") => Ok(None),
        Some(text) => mac::parse("mac", text).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::test_args;
    use serde_json::{json, Value};
    use twill_cni::Code;

    fn parse_with(extra: Value, cni_args: &str) -> Result<MacvlanConf, CniError> {
        let c = test_args::merged(
            json!({"cniVersion": "1.0.0", "name": "n", "type": "macvlan"}),
            extra,
        );
        let args = test_args::add(c, "eth0", cni_args);
        MacvlanConf::parse(&args)
    }

    fn parse(extra: Value) -> Result<MacvlanConf, CniError> {
        parse_with(extra, "")
    }

    #[test]
    fn defaults() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c.mode, MacvlanMode::Bridge);
        assert_eq!(c.lower.master, None);
        assert_eq!((c.lower.mtu, c.lower.link_in_container), (None, false));
        assert_eq!((c.mac, c.ipam, c.dns), (None, None, None));
        let c = parse(json!({"master": "", "mode": "", "mtu": 0})).unwrap();
        assert_eq!(
            (c.mode, c.lower.master, c.lower.mtu),
            (MacvlanMode::Bridge, None, None)
        );
    }

    #[test]
    fn every_key() {
        let c = parse(json!({"master": "up0", "mode": "vepa", "mtu": 1400,
                             "linkInContainer": true, "mac": "02:00:00:00:00:01",
                             "ipam": {"type": "host-local"},
                             "dns": {"nameservers": ["10.0.0.53"]}}))
        .unwrap();
        assert_eq!(c.lower.master.as_deref(), Some("up0"));
        assert_eq!((c.mode, c.lower.mtu), (MacvlanMode::Vepa, Some(1400)));
        assert!(c.lower.link_in_container);
        assert_eq!(c.mac.unwrap().to_string(), "02:00:00:00:00:01");
        assert_eq!(c.ipam.as_deref(), Some("host-local"));
        assert_eq!(c.dns.unwrap().nameservers, ["10.0.0.53"]);
        for (name, mode) in [
            ("private", MacvlanMode::Private),
            ("passthru", MacvlanMode::Passthru),
            ("bridge", MacvlanMode::Bridge),
        ] {
            assert_eq!(parse(json!({"mode": name})).unwrap().mode, mode);
        }
    }

    #[test]
    fn mac_precedence() {
        let conf = json!({"mac": "02:00:00:00:00:01"});
        let c = parse_with(conf.clone(), "MAC=02:00:00:00:00:02").unwrap();
        assert_eq!(c.mac.unwrap().to_string(), "02:00:00:00:00:02");
        let mut rc = conf.clone();
        rc["runtimeConfig"] = json!({"mac": "02:00:00:00:00:03"});
        let c = parse_with(rc, "MAC=02:00:00:00:00:02").unwrap();
        assert_eq!(c.mac.unwrap().to_string(), "02:00:00:00:00:03");
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (extra, args, code, key) in [
            (
                json!({"mode": "l2"}),
                "",
                Code::INVALID_NETWORK_CONFIG,
                "mode",
            ),
            (json!({"mode": 1}), "", Code::DECODING_FAILURE, "mode"),
            (json!({"mtu": -1}), "", Code::INVALID_NETWORK_CONFIG, "mtu"),
            (json!({"mtu": "9000"}), "", Code::DECODING_FAILURE, "mtu"),
            (
                json!({"master": "a/b"}),
                "",
                Code::INVALID_NETWORK_CONFIG,
                "master",
            ),
            (json!({"master": 3}), "", Code::DECODING_FAILURE, "master"),
            (
                json!({"linkInContainer": "yes"}),
                "",
                Code::DECODING_FAILURE,
                "linkInContainer",
            ),
            (
                json!({"mac": "zz"}),
                "",
                Code::INVALID_NETWORK_CONFIG,
                "mac",
            ),
            (
                json!({"mac": "01:00:00:00:00:01"}),
                "",
                Code::INVALID_NETWORK_CONFIG,
                "mac",
            ),
            (
                json!({"runtimeConfig": {"mac": "nope"}}),
                "",
                Code::INVALID_NETWORK_CONFIG,
                "runtimeConfig.mac",
            ),
            (
                json!({}),
                "MAC=ff:ff:ff:ff:ff:ff",
                Code::INVALID_NETWORK_CONFIG,
                "MAC",
            ),
        ] {
            let e = parse_with(extra.clone(), args).unwrap_err();
            assert_eq!(e.code, code, "{extra}: {e}");
            assert!(e.msg.contains(key), "{extra}: {e}");
        }
    }

    #[test]
    fn layer_2_needs_a_result_with_interfaces() {
        let c = parse(json!({})).unwrap();
        let e = c.check_result_version(Version::V0_2_0).unwrap_err();
        assert_eq!(e.code, Code::INCOMPATIBLE_VERSION);
        assert!(e.msg.contains("ipam"), "{e}");
        assert!(c.check_result_version(Version::V0_3_0).is_ok());
        let c = parse(json!({"ipam": {"type": "host-local"}})).unwrap();
        assert!(c.check_result_version(Version::V0_1_0).is_ok());
    }
}
