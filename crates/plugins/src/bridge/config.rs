//! The bridge plugin's configuration: its own keys read from the raw object (matched as Go
//! matches them), the refused keys, and the MAC precedence.

use twill_cni::config::NetConf;
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::Dns;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::MacAddr;

use crate::common::{mac, masq, netconf};

/// The bridge used when the configuration names none.
pub const DEFAULT_BRIDGE: &str = "cni0";

/// A bridge configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeConf {
    /// The whole configuration.
    pub net: NetConf,
    /// `bridge`.
    pub bridge: String,
    /// `isGateway` (also true when `isDefaultGateway` is, with IPAM).
    pub is_gateway: bool,
    /// `isDefaultGateway`.
    pub is_default_gateway: bool,
    /// `forceAddress`.
    pub force_address: bool,
    /// `mtu`; `None` for the kernel's default.
    pub mtu: Option<u32>,
    /// `hairpinMode`.
    pub hairpin: bool,
    /// `promiscMode`.
    pub promisc: bool,
    /// `enabledad`.
    pub enable_dad: bool,
    /// `disableContainerInterface`.
    pub disable_container_interface: bool,
    /// `portIsolation`.
    pub port_isolation: bool,
    /// `ipam.type`, when IPAM is configured.
    pub ipam: Option<String>,
    /// `dns`, when any of its fields is set.
    pub dns: Option<Dns>,
    /// The container interface's MAC: `runtimeConfig.mac` > `args.cni.mac` > `CNI_ARGS` MAC.
    pub mac: Option<MacAddr>,
    /// `vlan`, `vlanTrunk`, `preserveDefaultVlan` (see `vlan.rs`).
    pub vlans: super::vlan::Vlans,
    /// `ipMasq` (nftables; `ipMasqBackend: "iptables"` is refused).
    pub ip_masq: bool,
}

fn flag(o: &Obj<'_>, key: &str) -> Result<bool, FieldError> {
    Ok(o.bool(key)?.unwrap_or(false))
}

fn invalid(path: &str, why: impl Into<String>) -> CniError {
    FieldError::invalid(path, why).into()
}

impl BridgeConf {
    /// Reads and validates everything ADD and CHECK need.
    pub fn parse(args: &CmdArgs) -> Result<BridgeConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let o = net.obj();
        let vlans = super::vlan::parse(&o)?;
        let bridge = o.str("bridge")?.unwrap_or(DEFAULT_BRIDGE).to_owned();
        twill_kernel::link::check_name(&bridge).map_err(|why| invalid("bridge", why))?;
        let mtu = netconf::mtu(&o)?;
        let ipam = net.plugin.ipam.as_ref().map(|i| i.ipam_type.clone());
        let is_default_gateway = flag(&o, "isDefaultGateway")?;
        // As the reference: a default gateway implies a gateway, when there are addresses.
        let is_gateway = flag(&o, "isGateway")? || (is_default_gateway && ipam.is_some());
        let hairpin = flag(&o, "hairpinMode")?;
        let promisc = flag(&o, "promiscMode")?;
        if hairpin && promisc {
            return Err(invalid(
                "promiscMode",
                "cannot set hairpin mode and promiscuous mode at the same time",
            ));
        }
        let disable_container_interface = flag(&o, "disableContainerInterface")?;
        if disable_container_interface && ipam.is_some() {
            return Err(invalid(
                "disableContainerInterface",
                "cannot be used with ipam: addresses need the interface up",
            ));
        }
        Ok(BridgeConf {
            bridge,
            is_gateway,
            is_default_gateway,
            force_address: flag(&o, "forceAddress")?,
            mtu,
            hairpin,
            promisc,
            enable_dad: flag(&o, "enabledad")?,
            disable_container_interface,
            port_isolation: flag(&o, "portIsolation")?,
            ipam,
            dns: netconf::dns(&net),
            mac: mac(args, &net)?,
            ip_masq: masq::enabled(&o)?,
            vlans,
            net,
        })
    }
}

/// The MAC for the container interface, by precedence; each source's value must be a
/// unicast Ethernet address, refused (code 7) naming the source otherwise.
fn mac(args: &CmdArgs, net: &NetConf) -> Result<Option<MacAddr>, CniError> {
    let (path, text) = match (mac::runtime_config(net), mac::args_cni(net)) {
        (Some(m), _) => ("runtimeConfig.mac", m),
        (_, Some(m)) => ("args.cni.mac", m),
        _ => {
            return args
                .args
                .mac()?
                .map(MacAddr)
                .map(checked_unicast)
                .transpose()
        }
    };
    mac::parse(path, &text).map(Some)
}

/// A `CNI_ARGS` MAC is refused with the reason alone, without a field name.
fn checked_unicast(mac: MacAddr) -> Result<MacAddr, CniError> {
    match mac::not_unicast(mac) {
        Some(why) => Err(CniError::invalid_config(why)),
        None => Ok(mac),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::test_args;
    use serde_json::{json, Value};
    use twill_cni::Code;

    fn args(config: Value, cni_args: &str) -> CmdArgs {
        test_args::add(config, "eth0", cni_args)
    }

    fn parse(extra: Value) -> Result<BridgeConf, CniError> {
        let c = test_args::merged(
            json!({"cniVersion": "1.0.0", "name": "n", "type": "bridge",
                           "ipam": {"type": "host-local"}}),
            extra,
        );
        BridgeConf::parse(&args(c, ""))
    }

    #[test]
    fn defaults_and_go_style_keys() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c.bridge, "cni0");
        assert!(!c.is_gateway && !c.hairpin && c.mtu.is_none() && c.mac.is_none());
        let c = parse(json!({"IsDefaultGateway": true, "MTU": 9000, "Bridge": "br9"})).unwrap();
        assert!(c.is_gateway && c.is_default_gateway);
        assert_eq!((c.mtu, c.bridge.as_str()), (Some(9000), "br9"));
    }

    #[test]
    fn default_gateway_implies_gateway_only_with_ipam() {
        let c = json!({"cniVersion": "1.0.0", "name": "n", "type": "bridge",
                       "isDefaultGateway": true});
        let c = BridgeConf::parse(&args(c, "")).unwrap();
        assert!(c.is_default_gateway && !c.is_gateway);
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (extra, code, key) in [
            (
                json!({"ipMasq": true, "ipMasqBackend": "iptables"}),
                Code::UNSUPPORTED_FIELD,
                "ipMasqBackend",
            ),
            (json!({"vlan": -1}), Code::INVALID_NETWORK_CONFIG, "vlan"),
            (json!({"mtu": 70000}), Code::INVALID_NETWORK_CONFIG, "mtu"),
            (
                json!({"bridge": "a/b"}),
                Code::INVALID_NETWORK_CONFIG,
                "bridge",
            ),
            (
                json!({"hairpinMode": true, "promiscMode": true}),
                Code::INVALID_NETWORK_CONFIG,
                "promiscMode",
            ),
            (
                json!({"hairpinMode": 1}),
                Code::DECODING_FAILURE,
                "hairpinMode",
            ),
            (
                json!({"args": {"cni": {"mac": "zz"}}}),
                Code::INVALID_NETWORK_CONFIG,
                "args.cni.mac",
            ),
        ] {
            let e = parse(extra.clone()).unwrap_err();
            assert_eq!(e.code, code, "{extra}: {e}");
            assert!(e.msg.contains(key), "{extra}: {e}");
        }
        for ok in [
            json!({"ipMasq": false}),
            json!({"ipMasq": true, "ipMasqBackend": "nftables"}),
            json!({"vlan": 0}),
            json!({"macspoofchk": false}),
        ] {
            assert!(parse(ok.clone()).is_ok(), "{ok}");
        }
    }

    #[test]
    fn mac_precedence() {
        let both = json!({"cniVersion": "1.0.0", "name": "n", "type": "bridge",
                          "runtimeConfig": {"mac": "02:00:00:00:00:01"},
                          "args": {"cni": {"mac": "02:00:00:00:00:02"}}});
        let env = "MAC=02:00:00:00:00:03";
        let mac = |c: Value| {
            BridgeConf::parse(&args(c, env))
                .unwrap()
                .mac
                .unwrap()
                .to_string()
        };
        assert_eq!(mac(both.clone()), "02:00:00:00:00:01");
        let mut c = both.clone();
        c.as_object_mut().unwrap().remove("runtimeConfig");
        assert_eq!(mac(c.clone()), "02:00:00:00:00:02");
        c.as_object_mut().unwrap().remove("args");
        assert_eq!(mac(c), "02:00:00:00:00:03");
        let bad = BridgeConf::parse(&args(
            json!({"cniVersion": "1.0.0", "name": "n",
            "type": "bridge"}),
            "MAC=01:00:00:00:00:01",
        ))
        .unwrap_err();
        assert_eq!(bad.code, Code::INVALID_NETWORK_CONFIG);
    }
}
