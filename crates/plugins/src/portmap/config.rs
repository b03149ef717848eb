//! portmap's configuration: the mappings from `runtimeConfig.portMappings`, `snat`,
//! `masqAll`, `dataDir`, the container's addresses from `prevResult`, and a decision for
//! each key that only makes sense with iptables (see `docs/plugins/portmap.md`).

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use twill_cni::config::{NetConf, PortMapping};
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::CniResult;
use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Code};

/// Where the per-attachment records live when `dataDir` is not set. Under `/run` because
/// the elements they describe live in the kernel and are gone after a reboot too.
pub const DEFAULT_DATA_DIR: &str = "/run/cni/twill-portmap";

/// A container address and the network it sits in (its prefix from the result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerIp {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length: the pod network whose other members hairpin through the host.
    pub prefix: u8,
}

/// Everything an ADD or CHECK needs, validated.
#[derive(Debug, Clone)]
pub struct PortmapConf {
    /// The network's name (state files are grouped by it).
    pub network: String,
    /// The mappings, in order.
    pub mappings: Vec<PortMapping>,
    /// Masquerade hairpin and localhost traffic to mapped ports (default true).
    pub snat: bool,
    /// Masquerade every connection to a mapped port.
    pub masq_all: bool,
    /// Where per-attachment records are kept.
    pub data_dir: PathBuf,
    /// The first IPv4 and IPv6 address on an interface inside a sandbox.
    pub v4: Option<ContainerIp>,
    /// See `v4`.
    pub v6: Option<ContainerIp>,
    /// Host-side interfaces of the result (no sandbox): where `route_localnet` goes.
    pub host_ifaces: Vec<String>,
}

fn unsupported(key: &str, why: &str) -> CniError {
    CniError::new(Code::UNSUPPORTED_FIELD, format!("{key}: {why}"))
}

/// `dataDir`, the one key DEL and GC read (they must not fail on keys ADD would refuse).
pub fn data_dir(o: &Obj<'_>) -> Result<PathBuf, CniError> {
    match o.str("dataDir")? {
        None | Some("") => Ok(PathBuf::from(DEFAULT_DATA_DIR)),
        Some(d) => Ok(PathBuf::from(d)),
    }
}

/// The iptables-only keys: accepted where nftables keeps their meaning, refused with code
/// 2 naming the key where it cannot.
fn iptables_keys(o: &Obj<'_>) -> Result<(), CniError> {
    match o.str("backend")? {
        None | Some("") | Some("nftables") => {}
        Some("iptables") => {
            return Err(unsupported(
                "backend",
                "\"iptables\" is not supported: twill programs host ports with nftables; \
                 remove the key or set it to \"nftables\"",
            ))
        }
        Some(other) => {
            return Err(FieldError::invalid(
                o.field_path("backend"),
                format!("unknown backend {other:?} (expected \"nftables\")"),
            )
            .into())
        }
    }
    // No packet mark is used: masquerading is decided by conntrack's DNAT status and a set
    // lookup, so the bit is validated as the reference does and otherwise has no effect.
    if let Some(bit) = o.i64("markMasqBit")? {
        if !(0..=31).contains(&bit) {
            return Err(FieldError::invalid(
                o.field_path("markMasqBit"),
                format!("{bit} is not between 0 and 31"),
            )
            .into());
        }
    }
    if o.str("externalSetMarkChain")?
        .is_some_and(|s| !s.is_empty())
    {
        return Err(unsupported(
            "externalSetMarkChain",
            "names an iptables chain, which nftables rules cannot jump to; remove the key \
             (twill masquerades without a packet mark)",
        ));
    }
    for key in ["conditionsV4", "conditionsV6"] {
        if o.array(key)?.is_some_and(|a| !a.is_empty()) {
            return Err(unsupported(
                key,
                "iptables match syntax cannot be applied to nftables rules; remove the key",
            ));
        }
    }
    Ok(())
}

/// A mapping bound to ::1 cannot work: the kernel drops a loopback-sourced IPv6 packet on
/// its way out of any other interface (IPv6 has no `route_localnet`), and the skeleton
/// leaves ::1 untranslated for that reason. Refused by name rather than added inert.
fn loopback_ipv6(mappings: &[PortMapping]) -> Result<(), CniError> {
    let lo = IpAddr::V6(Ipv6Addr::LOCALHOST);
    match mappings
        .iter()
        .position(|m| m.host_ip.as_deref().and_then(|h| h.parse().ok()) == Some(lo))
    {
        Some(i) => Err(unsupported(
            &format!("runtimeConfig.portMappings[{i}].hostIP"),
            "::1 cannot be forwarded to a container: the kernel does not route IPv6 \
             loopback traffic to another interface; use 127.0.0.1 or no hostIP",
        )),
        None => Ok(()),
    }
}

impl PortmapConf {
    /// Reads the configuration of an ADD or CHECK (prevResult required).
    pub fn parse(args: &CmdArgs) -> Result<PortmapConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let o = Obj::root(&args.config)?;
        iptables_keys(&o)?;
        let mappings = net
            .plugin
            .runtime_config
            .as_ref()
            .map(|rc| rc.port_mappings.clone())
            .unwrap_or_default();
        loopback_ipv6(&mappings)?;
        let prev = o.get("prevResult").ok_or_else(|| {
            CniError::invalid_config(
                "prevResult: required: portmap is a chained plugin and must follow a plugin \
                 that creates the interface",
            )
        })?;
        let prev = CniResult::from_value_at(prev, &o.field_path("prevResult"), args.version)?;
        let mut conf = PortmapConf {
            network: net.name.clone(),
            mappings,
            snat: o.bool("snat")?.unwrap_or(true),
            masq_all: o.bool("masqAll")?.unwrap_or(false),
            data_dir: data_dir(&o)?,
            v4: None,
            v6: None,
            host_ifaces: Vec::new(),
        };
        conf.read_result(&prev);
        Ok(conf)
    }

    /// The container's addresses as the reference picks them: the first of each family on
    /// an interface that has a sandbox.
    fn read_result(&mut self, prev: &CniResult) {
        let latest = prev.clone().into_latest();
        for iface in latest.interfaces.iter().filter(|i| i.sandbox.is_empty()) {
            self.host_ifaces.push(iface.name.clone());
        }
        for ip in &latest.ips {
            let in_sandbox = ip
                .interface
                .and_then(|i| latest.interfaces.get(usize::try_from(i).ok()?))
                .is_some_and(|i| !i.sandbox.is_empty());
            if !in_sandbox {
                continue;
            }
            let found = ContainerIp {
                addr: ip.address.addr(),
                prefix: ip.address.prefix_len(),
            };
            let slot = if found.addr.is_ipv4() {
                &mut self.v4
            } else {
                &mut self.v6
            };
            slot.get_or_insert(found);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn obj_err(v: serde_json::Value) -> Option<CniError> {
        iptables_keys(&Obj::root(&v).unwrap()).err()
    }

    #[test]
    fn iptables_keys_mapped_or_refused_by_name() {
        assert!(obj_err(json!({"markMasqBit": 13, "backend": "nftables"})).is_none());
        assert!(obj_err(json!({"conditionsV4": [], "externalSetMarkChain": ""})).is_none());
        let e = obj_err(json!({"backend": "iptables"})).unwrap();
        assert_eq!(e.code, Code::UNSUPPORTED_FIELD);
        assert!(e.msg.starts_with("backend:"), "{}", e.msg);
        let e = obj_err(json!({"externalSetMarkChain": "KUBE-MARK-MASQ"})).unwrap();
        assert_eq!(e.code, Code::UNSUPPORTED_FIELD);
        assert!(e.msg.contains("externalSetMarkChain"));
        let e = obj_err(json!({"conditionsV6": ["-d", "::1"]})).unwrap();
        assert!(e.msg.starts_with("conditionsV6"), "{}", e.msg);
        let e = obj_err(json!({"markMasqBit": 32})).unwrap();
        assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
        assert!(e.msg.contains("markMasqBit"));
        let e = obj_err(json!({"backend": "pf"})).unwrap();
        assert!(e.msg.contains("backend"));
    }

    #[test]
    fn a_mapping_bound_to_ipv6_loopback_is_refused_by_name() {
        let m = |host_ip: &str| PortMapping {
            host_port: 8080,
            container_port: 80,
            protocol: twill_cni::config::Protocol::Tcp,
            host_ip: Some(host_ip.into()),
        };
        assert!(loopback_ipv6(&[m("127.0.0.1"), m("::"), m("fd00::1")]).is_ok());
        let e = loopback_ipv6(&[m("::"), m("0:0::1")]).unwrap_err();
        assert_eq!(e.code, Code::UNSUPPORTED_FIELD);
        assert!(
            e.msg.starts_with("runtimeConfig.portMappings[1].hostIP:"),
            "{}",
            e.msg
        );
    }
}
