//! firewall's configuration: `ingressPolicy`, the admin chain (`iptablesAdminChainName`),
//! `backend` and `firewalldZone` decided per key (see `docs/plugins/firewall.md`), twill's
//! own `dataDir`, and what ADD and CHECK read from `prevResult`: every address and, for a
//! policy other than `open`, the bridge.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::{CniResult, V1Interface};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use super::skeleton::{table_name, FORWARD_CHAIN};

/// Where per-attachment records live when `dataDir` is not set. Under `/run` because the
/// elements they describe live in the kernel and are gone after a reboot too.
pub const DEFAULT_DATA_DIR: &str = "/run/cni/twill-firewall";
/// The admin chain's name when `iptablesAdminChainName` is absent: the reference's.
pub const DEFAULT_ADMIN_CHAIN: &str = "CNI-ADMIN";
/// Longest admin chain name accepted (the table's name carries it; see `table_name`).
const MAX_ADMIN_CHAIN: usize = 64;
/// The kernel's interface name limit (`IFNAMSIZ` minus the NUL).
const MAX_IFNAME: usize = 15;

/// `ingressPolicy`: who may open connections to the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Everyone (the default).
    Open,
    /// Not pods of other bridges that are themselves `same-bridge` or `isolated`.
    SameBridge,
    /// As `same-bridge`, and not pods of the same bridge either.
    Isolated,
}

impl Policy {
    /// The name the configuration uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Open => "open",
            Policy::SameBridge => "same-bridge",
            Policy::Isolated => "isolated",
        }
    }
}

/// Everything an ADD or CHECK needs, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallConf {
    /// The network's name (records are grouped by it).
    pub network: String,
    /// The ingress policy.
    pub policy: Policy,
    /// The operator's chain, jumped to first.
    pub admin_chain: String,
    /// The table: one per admin chain name.
    pub table: String,
    /// Where per-attachment records are kept.
    pub data_dir: PathBuf,
    /// Every address of `prevResult`, as the reference takes them.
    pub addresses: Vec<IpAddr>,
    /// The bridge (the first host-side interface of `prevResult`); set when the policy is
    /// not `open`.
    pub bridge: Option<String>,
    /// The pod's port on the bridge (the next host-side interface, bridge's host veth);
    /// set for `isolated` when there is one (ptp's result has none).
    pub port: Option<String>,
    /// `prevResult`, as given: what ADD prints (converted to the configuration's version).
    pub prev: CniResult,
}

fn invalid(o: &Obj<'_>, key: &str, why: String) -> CniError {
    FieldError::invalid(o.field_path(key), why).into()
}

/// `dataDir`, the one key DEL and GC read (they must not fail on keys ADD would refuse).
pub fn data_dir(o: &Obj<'_>) -> Result<PathBuf, CniError> {
    match o.str("dataDir")? {
        None | Some("") => Ok(PathBuf::from(DEFAULT_DATA_DIR)),
        Some(d) => Ok(PathBuf::from(d)),
    }
}

/// `backend`: twill speaks nftables, and maps `iptables` onto the same rules (the effect,
/// accepting a pod's forwarded traffic, is the same); firewalld is D-Bus, which twill does
/// not speak. `firewalldZone` only means something to firewalld; it is type-checked and,
/// as the reference does with every other backend, ignored.
fn backend(o: &Obj<'_>) -> Result<(), CniError> {
    match o.str("backend")? {
        None | Some("" | "nftables" | "iptables") => {}
        Some("firewalld") => {
            return Err(CniError::unsupported_field(
                "backend",
                "\"firewalld\" (twill programs nftables over netlink and does not speak \
                 D-Bus; leave it unset or use \"nftables\")",
            ))
        }
        Some(other) => {
            return Err(invalid(
                o,
                "backend",
                format!("unknown backend {other:?} (expected \"nftables\" or \"iptables\")"),
            ))
        }
    }
    o.str("firewalldZone")?;
    Ok(())
}

/// `ingressPolicy`: absent, `""` and `"open"` are open.
fn policy(o: &Obj<'_>) -> Result<Policy, CniError> {
    match o.str("ingressPolicy")? {
        None | Some("" | "open") => Ok(Policy::Open),
        Some("same-bridge") => Ok(Policy::SameBridge),
        Some("isolated") => Ok(Policy::Isolated),
        Some(other) => Err(invalid(
            o,
            "ingressPolicy",
            format!(
                "unknown policy {other:?} (expected \"open\", \"same-bridge\" or \"isolated\")"
            ),
        )),
    }
}

/// `iptablesAdminChainName`: the admin chain inside twill's table. Restricted to what `nft`
/// reads as a bare identifier, so an operator can type the name without quoting.
fn admin_chain(o: &Obj<'_>) -> Result<String, CniError> {
    let name = match o.str("iptablesAdminChainName")? {
        None | Some("") => return Ok(DEFAULT_ADMIN_CHAIN.to_owned()),
        Some(n) => n,
    };
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let key = "iptablesAdminChainName";
    if !first_ok || !rest_ok {
        return Err(invalid(
            o,
            key,
            format!(
                "{name:?}: a chain name starts with a letter or '_' and has only letters, \
                 digits, '_', '-' and '.'"
            ),
        ));
    }
    if name.len() > MAX_ADMIN_CHAIN {
        return Err(invalid(
            o,
            key,
            format!("{name:?} is longer than {MAX_ADMIN_CHAIN} characters"),
        ));
    }
    if name == FORWARD_CHAIN {
        return Err(invalid(
            o,
            key,
            format!("{name:?} is twill's own base chain; choose another name"),
        ));
    }
    Ok(name.to_owned())
}

/// A bridge name that is also safe as a directory name (it keys the reference counts).
fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0'])
        && !name.chars().any(char::is_whitespace)
}

/// The bridge and, for `isolated`, the pod's port on it: `prevResult`'s first and second
/// host-side interfaces (the bridge plugin's `[bridge, host veth, container]`). The
/// reference takes `interfaces[0]` whatever it is; a sandboxed interface names no bridge.
fn host_side(
    ifaces: &[V1Interface],
    path: &str,
    policy: Policy,
) -> Result<(Option<String>, Option<String>), CniError> {
    let mut host = ifaces
        .iter()
        .enumerate()
        .filter(|(_, i)| i.sandbox.is_empty());
    let Some((index, bridge)) = host.next() else {
        return Err(CniError::invalid_config(format!(
            "{path}.interfaces: ingressPolicy {:?} needs the bridge, a host-side interface \
             (one without a sandbox); chain firewall after bridge",
            policy.as_str()
        )));
    };
    let name = |(index, iface): (usize, &V1Interface)| {
        if valid_ifname(&iface.name) {
            Ok(iface.name.clone())
        } else {
            Err(CniError::invalid_config(format!(
                "{path}.interfaces[{index}].name: {:?} is not an interface name",
                iface.name
            )))
        }
    };
    let bridge = name((index, bridge))?;
    let port = match host.next() {
        Some(p) if policy == Policy::Isolated => Some(name(p)?),
        _ => None,
    };
    Ok((Some(bridge), port))
}

impl FirewallConf {
    /// Reads the configuration of an ADD or CHECK (`prevResult` required).
    pub fn parse(args: &CmdArgs) -> Result<FirewallConf, CniError> {
        let o = Obj::root(&args.config)?;
        backend(&o)?;
        let policy = policy(&o)?;
        let admin_chain = admin_chain(&o)?;
        let prev = o.get("prevResult").ok_or_else(|| {
            CniError::invalid_config(
                "prevResult: required: firewall is a chained plugin and must follow a plugin \
                 that creates the interface (e.g. bridge)",
            )
        })?;
        let path = o.field_path("prevResult");
        let given = CniResult::from_value_at(prev, &path, args.version)?;
        let prev = given.to_latest();
        let addresses = prev.ips.iter().map(|ip| ip.address.addr()).collect();
        let (bridge, port) = if policy == Policy::Open {
            (None, None)
        } else {
            host_side(&prev.interfaces, &path, policy)?
        };
        Ok(FirewallConf {
            network: args.name.clone(),
            policy,
            table: table_name(&admin_chain),
            admin_chain,
            data_dir: data_dir(&o)?,
            addresses,
            bridge,
            port,
            prev: given,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use twill_cni::Code;

    fn err<T>(f: fn(&Obj<'_>) -> Result<T, CniError>, v: serde_json::Value) -> CniError {
        f(&Obj::root(&v).unwrap()).err().unwrap()
    }

    #[test]
    fn backend_mapped_or_refused_by_name() {
        for ok in [
            json!({}),
            json!({"backend": ""}),
            json!({"backend": "iptables"}),
            json!({"backend": "nftables", "firewalldZone": "public"}),
        ] {
            assert!(backend(&Obj::root(&ok).unwrap()).is_ok(), "{ok}");
        }
        let e = err(backend, json!({"backend": "firewalld"}));
        assert_eq!(e.code, Code::UNSUPPORTED_FIELD);
        assert!(e.msg.contains("\"backend\""), "{}", e.msg);
        let e = err(backend, json!({"backend": "pf"}));
        assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
        assert!(e.msg.contains("backend"), "{}", e.msg);
        let e = err(backend, json!({"firewalldZone": 3}));
        assert!(e.msg.contains("firewalldZone"), "{}", e.msg);
    }

    #[test]
    fn policies_and_admin_chain_names() {
        let p = |v| policy(&Obj::root(&v).unwrap()).unwrap();
        assert_eq!(p(json!({})), Policy::Open);
        assert_eq!(
            p(json!({"ingressPolicy": "same-bridge"})),
            Policy::SameBridge
        );
        assert_eq!(p(json!({"ingressPolicy": "isolated"})), Policy::Isolated);
        let e = err(policy, json!({"ingressPolicy": "closed"}));
        assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
        assert!(e.msg.contains("ingressPolicy"), "{}", e.msg);
        let a = |v| admin_chain(&Obj::root(&v).unwrap());
        assert_eq!(a(json!({})).unwrap(), "CNI-ADMIN");
        assert_eq!(
            a(json!({"iptablesAdminChainName": "MY_ADMIN-2.x"})).unwrap(),
            "MY_ADMIN-2.x"
        );
        for bad in ["1abc", "a b", "a;b", "forward", &"x".repeat(65)] {
            let e = a(json!({ "iptablesAdminChainName": bad })).unwrap_err();
            assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG, "{bad}");
            assert!(e.msg.contains("iptablesAdminChainName"), "{}", e.msg);
        }
    }

    #[test]
    fn interface_names_that_are_safe_directory_names() {
        assert!(valid_ifname("cni-podman0"));
        for bad in ["", ".", "..", "a/b", "sixteen_chars_xx", "a b"] {
            assert!(!valid_ifname(bad), "{bad}");
        }
    }
}
