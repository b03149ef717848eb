//! The tap plugin's configuration: `mac`, `mtu`, `multiQueue`, `owner`, `group`, `bridge`,
//! `selinuxContext` (refused), `ipam` (optional), `dns`.

use twill_cni::config::NetConf;
use twill_cni::json::FieldError;
use twill_cni::result::Dns;
use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Code};
use twill_kernel::link::check_name;
use twill_kernel::MacAddr;

use crate::common::{mac, netconf};

/// A tap configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TapConf {
    /// The whole configuration.
    pub net: NetConf,
    /// The MAC: `runtimeConfig.mac` > `args.cni.mac` > `CNI_ARGS` MAC > `mac`.
    pub mac: Option<MacAddr>,
    /// `mtu`; `None` for the kernel's default.
    pub mtu: Option<u32>,
    /// `multiQueue`.
    pub multi_queue: bool,
    /// `owner`: the user allowed to open the device.
    pub owner: Option<u32>,
    /// `group`: the group allowed to open it.
    pub group: Option<u32>,
    /// `bridge`: a bridge in the container's namespace to attach it to.
    pub bridge: Option<String>,
    /// `ipam.type`.
    pub ipam: Option<String>,
    /// `dns`, when any of its fields is set.
    pub dns: Option<Dns>,
}

impl TapConf {
    /// Reads and validates everything ADD and CHECK need.
    pub fn parse(args: &CmdArgs) -> Result<TapConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let o = net.obj();
        let mtu = netconf::mtu(&o)?;
        let multi_queue = o.bool("multiQueue")?.unwrap_or(false);
        let owner = o.u32("owner")?;
        let group = o.u32("group")?;
        let bridge = o
            .str("bridge")?
            .filter(|b| !b.is_empty())
            .map(str::to_owned);
        if let Some(b) = &bridge {
            check_name(b).map_err(|why| FieldError::invalid(o.field_path("bridge"), why))?;
        }
        if o.str("selinuxContext")?.is_some_and(|s| !s.is_empty()) {
            return Err(CniError::new(
                Code::UNSUPPORTED_FIELD,
                "selinuxContext: not supported: the device would have to be made by a \
                 program running under that label, and twill starts no program",
            ));
        }
        Ok(TapConf {
            mac: mac(args, &net)?,
            mtu,
            multi_queue,
            owner,
            group,
            bridge,
            ipam: net.plugin.ipam.as_ref().map(|i| i.ipam_type.clone()),
            dns: netconf::dns(&net),
            net,
        })
    }
}

/// The MAC by precedence; each source must be a unicast Ethernet address (code 7 naming it).
fn mac(args: &CmdArgs, net: &NetConf) -> Result<Option<MacAddr>, CniError> {
    let runtime = mac::runtime_config(net);
    let cni_args = mac::args_cni(net);
    let key = net
        .obj()
        .str("mac")?
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let (path, text) = match (runtime, cni_args, args.args.mac()?, key) {
        (Some(m), _, _, _) => ("runtimeConfig.mac", m),
        (_, Some(m), _, _) => ("args.cni.mac", m),
        (_, _, Some(m), _) => return mac::unicast("CNI_ARGS MAC", MacAddr(m)).map(Some),
        (_, _, _, Some(m)) => ("mac", m),
        _ => return Ok(None),
    };
    mac::parse(path, &text).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::test_args;
    use serde_json::{json, Value};

    fn parse_with(extra: Value, cni_args: &str) -> Result<TapConf, CniError> {
        let c = test_args::merged(
            json!({"cniVersion": "1.0.0", "name": "n", "type": "tap"}),
            extra,
        );
        let args = test_args::add(c, "tap0", cni_args);
        TapConf::parse(&args)
    }

    fn parse(extra: Value) -> Result<TapConf, CniError> {
        parse_with(extra, "")
    }

    #[test]
    fn keys_and_defaults() {
        let c = parse(json!({})).unwrap();
        assert_eq!(
            (c.mac, c.mtu, c.multi_queue, c.owner, c.group),
            (None, None, false, None, None)
        );
        assert_eq!((c.bridge, c.ipam), (None, None));
        let c = parse(
            json!({"mac": "02:00:00:00:00:01", "mtu": 9000, "multiQueue": true,
                             "owner": 1000, "group": 0, "bridge": "br0",
                             "ipam": {"type": "host-local"}}),
        )
        .unwrap();
        assert_eq!(c.mac, Some("02:00:00:00:00:01".parse().unwrap()));
        assert_eq!(
            (c.mtu, c.multi_queue, c.owner, c.group),
            (Some(9000), true, Some(1000), Some(0))
        );
        assert_eq!(
            (c.bridge.as_deref(), c.ipam.as_deref()),
            (Some("br0"), Some("host-local"))
        );
    }

    #[test]
    fn mac_precedence() {
        let all = json!({"mac": "02:00:00:00:00:01",
                         "args": {"cni": {"mac": "02:00:00:00:00:02"}},
                         "runtimeConfig": {"mac": "02:00:00:00:00:03"}});
        let mac = |v: &Value, a: &str| parse_with(v.clone(), a).unwrap().mac.unwrap().to_string();
        assert_eq!(mac(&all, "MAC=02:00:00:00:00:04"), "02:00:00:00:00:03");
        let mut v = all.clone();
        v.as_object_mut().unwrap().remove("runtimeConfig");
        assert_eq!(mac(&v, "MAC=02:00:00:00:00:04"), "02:00:00:00:00:02");
        v.as_object_mut().unwrap().remove("args");
        assert_eq!(mac(&v, "MAC=02:00:00:00:00:04"), "02:00:00:00:00:04");
        assert_eq!(mac(&v, ""), "02:00:00:00:00:01");
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (extra, code, key) in [
            (json!({"mac": "zz"}), Code::INVALID_NETWORK_CONFIG, "mac"),
            (
                json!({"mac": "01:00:00:00:00:01"}),
                Code::INVALID_NETWORK_CONFIG,
                "mac",
            ),
            (
                json!({"runtimeConfig": {"mac": "x"}}),
                Code::INVALID_NETWORK_CONFIG,
                "runtimeConfig.mac",
            ),
            (json!({"mtu": 10}), Code::INVALID_NETWORK_CONFIG, "mtu"),
            (json!({"owner": -1}), Code::INVALID_NETWORK_CONFIG, "owner"),
            (json!({"group": "wheel"}), Code::DECODING_FAILURE, "group"),
            (
                json!({"multiQueue": "yes"}),
                Code::DECODING_FAILURE,
                "multiQueue",
            ),
            (
                json!({"bridge": "a/b"}),
                Code::INVALID_NETWORK_CONFIG,
                "bridge",
            ),
            (
                json!({"selinuxContext": "system_u:system_r:svirt_t:s0"}),
                Code::UNSUPPORTED_FIELD,
                "selinuxContext",
            ),
        ] {
            let e = parse(extra.clone()).unwrap_err();
            assert_eq!(e.code, code, "{extra}: {e}");
            assert!(e.msg.contains(key), "{extra}: {e}");
        }
    }
}
