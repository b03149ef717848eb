//! The `dhcp` plugin's configuration (the reference's keys): `ipam.daemonSocketPath`,
//! `ipam.request [{option, skipDefault}]` and `ipam.provide [{option, value, fromArg}]`.
//! Every refusal names the field.

use std::path::PathBuf;

use serde_json::Value;
use twill_cni::json::{index, Obj};
use twill_cni::skel::CniArgs;

use super::options::{code, parse_name};
use crate::common::{ipam_obj, net_conf};
use crate::error::IpamError;

/// Where the daemon listens unless `daemonSocketPath` says otherwise.
pub const DEFAULT_SOCKET_PATH: &str = "/run/cni/dhcp.sock";

/// Options asked for unless a `request` entry has `skipDefault`: subnet mask and routers.
pub const DEFAULT_REQUESTED: [u8; 2] = [code::SUBNET_MASK, code::ROUTER];

/// The configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpConf {
    /// The daemon's socket.
    pub socket_path: PathBuf,
    /// Option 55's list, in order, without repeats.
    pub requested: Vec<u8>,
    /// Options to send, with their values.
    pub provided: Vec<(u8, Vec<u8>)>,
}

/// Only the socket path: what DEL, GC and STATUS need, so that a configuration ADD would
/// refuse for other reasons can still be cleaned up.
pub fn socket_path(config: &Value) -> Result<PathBuf, IpamError> {
    let ipam = Obj::root(config)?.get("ipam");
    let path = match ipam {
        Some(v) => Obj::at(v, "ipam")?.str("daemonSocketPath")?,
        None => None,
    };
    Ok(PathBuf::from(
        path.filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_SOCKET_PATH),
    ))
}

fn option_at(o: &Obj<'_>) -> Result<u8, IpamError> {
    let name = o.required_str("option")?;
    parse_name(name).ok_or_else(|| {
        IpamError::invalid(
            o.field_path("option"),
            format!("{name:?} is not a DHCP option name or number (1-254)"),
        )
    })
}

impl DhcpConf {
    /// Reads the configuration; `fromArg` values come from `CNI_ARGS`.
    pub fn parse(config: &Value, cni_args: &CniArgs) -> Result<DhcpConf, IpamError> {
        let conf = net_conf(config)?;
        let ipam = ipam_obj(&conf);
        let socket_path = socket_path(config)?;

        let mut provided: Vec<(u8, Vec<u8>)> = Vec::new();
        let path = ipam.field_path("provide");
        for (i, item) in ipam.array("provide")?.into_iter().flatten().enumerate() {
            let here = index(&path, i);
            let o = Obj::at(item, &here)?;
            let c = option_at(&o)?;
            let mut value = o.str("value")?.filter(|v| !v.is_empty()).map(str::to_owned);
            if let Some(arg) = o.str("fromArg")? {
                if let Some(v) = cni_args.get(arg) {
                    value = Some(v.to_owned());
                }
            }
            let Some(value) = value else { continue };
            if value.len() > 255 {
                return Err(IpamError::invalid(
                    o.field_path("value"),
                    format!(
                        "value of option {c} is {} bytes, at most 255 fit",
                        value.len()
                    ),
                ));
            }
            provided.retain(|(k, _)| *k != c);
            provided.push((c, value.into_bytes()));
        }

        let mut requested: Vec<u8> = Vec::new();
        let mut skip_default = false;
        let path = ipam.field_path("request");
        for (i, item) in ipam.array("request")?.into_iter().flatten().enumerate() {
            let here = index(&path, i);
            let o = Obj::at(item, &here)?;
            skip_default |= o.bool("skipDefault")?.unwrap_or(false);
            let c = option_at(&o)?;
            if !requested.contains(&c) {
                requested.push(c);
            }
        }
        if !skip_default {
            for c in DEFAULT_REQUESTED {
                if !requested.contains(&c) {
                    requested.push(c);
                }
            }
        }
        Ok(DhcpConf {
            socket_path,
            requested,
            provided,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use twill_cni::CniError;

    fn conf(ipam: Value) -> Value {
        json!({"cniVersion": "1.0.0", "name": "net", "type": "bridge", "ipam": ipam})
    }

    fn args(s: &str) -> CniArgs {
        CniArgs::parse(s).unwrap()
    }

    #[test]
    fn defaults() {
        let c = DhcpConf::parse(&conf(json!({"type": "dhcp"})), &args("")).unwrap();
        assert_eq!(c.socket_path, PathBuf::from(DEFAULT_SOCKET_PATH));
        assert_eq!(c.requested, [1, 3]);
        assert!(c.provided.is_empty());
    }

    #[test]
    fn request_and_provide() {
        let c = DhcpConf::parse(
            &conf(json!({
                "type": "dhcp",
                "daemonSocketPath": "/tmp/d.sock",
                "request": [{"option": "121"}, {"option": "routers"}],
                "provide": [
                    {"option": "host-name", "value": "a"},
                    {"option": "host-name", "fromArg": "K8S_POD_NAME"},
                    {"option": "60", "value": "x"},
                    {"option": "77", "fromArg": "MISSING"}
                ]
            })),
            &args("IgnoreUnknown=1;K8S_POD_NAME=web-0"),
        )
        .unwrap();
        assert_eq!(c.socket_path, PathBuf::from("/tmp/d.sock"));
        assert_eq!(c.requested, [121, 3, 1]);
        assert_eq!(c.provided, [(12, b"web-0".to_vec()), (60, b"x".to_vec())]);
        let skip = DhcpConf::parse(
            &conf(json!({"type": "dhcp", "request": [{"option": "6", "skipDefault": true}]})),
            &args(""),
        )
        .unwrap();
        assert_eq!(skip.requested, [6]);
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                json!({"type": "dhcp", "request": [{"option": "nope"}]}),
                "ipam.request[0].option",
                7,
            ),
            (
                json!({"type": "dhcp", "request": [{}]}),
                "ipam.request[0].option",
                7,
            ),
            (
                json!({"type": "dhcp", "request": "routers"}),
                "ipam.request",
                6,
            ),
            (
                json!({"type": "dhcp", "provide": [{"option": "12", "value": "x".repeat(256)}]}),
                "ipam.provide[0].value",
                7,
            ),
            (
                json!({"type": "dhcp", "daemonSocketPath": 5}),
                "ipam.daemonSocketPath",
                6,
            ),
            (
                json!({"type": "dhcp", "request": [{"option": "3", "skipDefault": "yes"}]}),
                "ipam.request[0].skipDefault",
                6,
            ),
        ];
        for (ipam, field, code) in cases {
            let e = CniError::from(DhcpConf::parse(&conf(ipam), &args("")).unwrap_err());
            assert!(e.msg.contains(field), "{field}: {}", e.msg);
            assert_eq!(e.code.0, code, "{field}: {}", e.msg);
        }
    }

    #[test]
    fn socket_path_alone_tolerates_the_rest() {
        let c = conf(json!({"type": "dhcp", "daemonSocketPath": "/x.sock", "request": 3}));
        assert_eq!(socket_path(&c).unwrap(), PathBuf::from("/x.sock"));
        let none = json!({"cniVersion": "1.0.0", "name": "n"});
        assert_eq!(
            socket_path(&none).unwrap(),
            PathBuf::from(DEFAULT_SOCKET_PATH)
        );
    }
}
