//! The bridge's VLAN keys: `vlan` (the pod's access VLAN: PVID, untagged), `vlanTrunk`
//! (tagged VLANs: `[{"id": N} | {"minID": A, "maxID": B}]`), `preserveDefaultVlan` (keep
//! VLAN 1 on the port; default true). Any of them turns VLAN filtering on for the bridge.
//! Validation and messages follow upstream's plugin (v1.4+); the reference packaged here
//! (v1.1.1) has `vlan` only.

use std::collections::BTreeSet;

use twill_cni::json::{FieldError, Obj};
use twill_cni::CniError;
use twill_kernel::bridge_vlan::PortVlan;
use twill_kernel::Netlink;

use crate::common::error::internal;

/// The VLAN keys, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vlans {
    /// `vlan`: the access VLAN (0 or absent: none).
    pub access: Option<u16>,
    /// `vlanTrunk`: tagged VLANs, ascending, each once.
    pub trunk: Vec<u16>,
    /// `preserveDefaultVlan`.
    pub preserve_default: bool,
    /// Whether `vlanTrunk` was given at all (an empty list still turns filtering on).
    pub trunk_given: bool,
}

impl Vlans {
    /// Whether the bridge must filter VLANs.
    pub fn filtering(&self) -> bool {
        self.access.is_some() || self.trunk_given
    }

    /// The port's VLAN entries to add: the access VLAN, then the trunk.
    pub fn entries(&self) -> Vec<PortVlan> {
        let mut out: Vec<PortVlan> = self.access.map(PortVlan::access).into_iter().collect();
        out.extend(self.trunk.iter().map(|v| PortVlan::tagged(*v)));
        out
    }
}

fn invalid(path: String, why: impl Into<String>) -> CniError {
    FieldError::invalid(path, why).into()
}

/// Reads the keys (code 7 naming the key, 6 for a wrong JSON type).
pub fn parse(o: &Obj<'_>) -> Result<Vlans, CniError> {
    let access = match o.i64("vlan")? {
        None | Some(0) => None,
        Some(v) if (1..=4094).contains(&v) => u16::try_from(v).ok(),
        Some(v) => {
            return Err(invalid(
                o.field_path("vlan"),
                format!("invalid VLAN ID {v} (must be between 0 and 4094)"),
            ))
        }
    };
    let mut trunk = BTreeSet::new();
    let list = o.array("vlanTrunk")?;
    for (i, item) in list.into_iter().flatten().enumerate() {
        let path = format!("{}[{i}]", o.field_path("vlanTrunk"));
        let entry = Obj::at(item, &path)?;
        let id = |key: &str| -> Result<Option<u16>, CniError> {
            match entry.i64(key)? {
                None => Ok(None),
                Some(v) if (1..=4094).contains(&v) => Ok(u16::try_from(v).ok()),
                Some(_) => Err(invalid(
                    entry.field_path(key),
                    format!("incorrect trunk {key} parameter (must be between 1 and 4094)"),
                )),
            }
        };
        match (id("minID")?, id("maxID")?) {
            (Some(min), Some(max)) if max < min => {
                return Err(invalid(
                    path,
                    "minID is greater than maxID in trunk parameter",
                ))
            }
            (Some(min), Some(max)) => trunk.extend(min..=max),
            (None, Some(_)) => {
                return Err(invalid(
                    path,
                    "minID and maxID should be configured simultaneously, minID is missing",
                ))
            }
            (Some(_), None) => {
                return Err(invalid(
                    path,
                    "minID and maxID should be configured simultaneously, maxID is missing",
                ))
            }
            (None, None) => {}
        }
        if let Some(v) = id("id")? {
            trunk.insert(v);
        }
    }
    if access.is_some() && list.is_some() {
        return Err(invalid(
            o.field_path("vlanTrunk"),
            "cannot set vlan and vlanTrunk at the same time (a port is an access port, \
             untagged, or a trunk port, tagged)",
        ));
    }
    Ok(Vlans {
        access,
        trunk: trunk.into_iter().collect(),
        preserve_default: o.bool("preserveDefaultVlan")?.unwrap_or(true),
        trunk_given: list.is_some(),
    })
}

/// Gives host port `index` its VLANs: VLAN 1 removed first unless preserved (only when the
/// configuration asks for VLANs), then the access VLAN or the trunk, in one request.
pub fn apply(host: &mut Netlink, index: u32, port: &str, vlans: &Vlans) -> Result<(), CniError> {
    if !vlans.filtering() {
        return Ok(());
    }
    if !vlans.preserve_default {
        match host.bridge_port_vlans_del(index, &[PortVlan::tagged(1)]) {
            Err(e) if !e.is_not_found() => {
                return Err(internal(format!(
                    "failed to remove default vlan on interface {port}: {e}"
                )))
            }
            _ => {}
        }
    }
    let entries = vlans.entries();
    if entries.is_empty() {
        return Ok(());
    }
    host.bridge_port_vlans_add(index, &entries).map_err(|e| {
        internal(format!(
            "failed to setup vlan tag on interface {port:?}: {e}"
        ))
    })
}

/// CHECK: every configured VLAN is on port `index` with its flags; VLAN 1 is gone when it
/// was not to be preserved.
pub fn check(host: &mut Netlink, index: u32, port: &str, vlans: &Vlans) -> Result<(), CniError> {
    if !vlans.filtering() {
        return Ok(());
    }
    let have = host
        .bridge_port_vlans(index)
        .map_err(|e| internal(format!("vlans of {port}: {e}")))?;
    for want in vlans.entries() {
        if !have.contains(&want) {
            return Err(internal(format!(
                "port {port}: vlan {} missing or not as configured",
                want.vid
            )));
        }
    }
    if !vlans.preserve_default && vlans.access != Some(1) && have.iter().any(|v| v.vid == 1) {
        return Err(internal(format!(
            "port {port}: default vlan 1 still present"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use twill_cni::Code;

    fn parse_v(v: Value) -> Result<Vlans, CniError> {
        parse(&Obj::root(&v).unwrap())
    }

    #[test]
    fn access_trunk_and_default() {
        let v = parse_v(json!({})).unwrap();
        assert!(!v.filtering() && v.preserve_default && v.entries().is_empty());
        let v = parse_v(json!({"vlan": 10, "preserveDefaultVlan": false})).unwrap();
        assert!(v.filtering() && !v.preserve_default);
        assert_eq!(v.entries(), vec![PortVlan::access(10)]);
        let v =
            parse_v(json!({"vlanTrunk": [{"id": 101}, {"minID": 200, "maxID": 202}, {"id": 201}]}))
                .unwrap();
        assert_eq!(v.trunk, vec![101, 200, 201, 202]);
        assert!(v.entries().iter().all(|e| !e.pvid && !e.untagged));
        assert!(parse_v(json!({"vlanTrunk": []})).unwrap().filtering());
        assert!(!parse_v(json!({"vlan": 0})).unwrap().filtering());
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (v, code, key) in [
            (json!({"vlan": 4095}), Code::INVALID_NETWORK_CONFIG, "vlan"),
            (json!({"vlan": "10"}), Code::DECODING_FAILURE, "vlan"),
            (
                json!({"vlanTrunk": [{"id": 0}]}),
                Code::INVALID_NETWORK_CONFIG,
                "vlanTrunk[0].id",
            ),
            (
                json!({"vlanTrunk": [{"minID": 5}]}),
                Code::INVALID_NETWORK_CONFIG,
                "maxID is missing",
            ),
            (
                json!({"vlanTrunk": [{"maxID": 5}]}),
                Code::INVALID_NETWORK_CONFIG,
                "minID is missing",
            ),
            (
                json!({"vlanTrunk": [{"minID": 9, "maxID": 5}]}),
                Code::INVALID_NETWORK_CONFIG,
                "vlanTrunk[0]",
            ),
            (
                json!({"vlanTrunk": [{"minID": 1, "maxID": 4095}]}),
                Code::INVALID_NETWORK_CONFIG,
                "maxID",
            ),
            (
                json!({"vlanTrunk": {"id": 3}}),
                Code::DECODING_FAILURE,
                "vlanTrunk",
            ),
            (
                json!({"vlan": 5, "vlanTrunk": [{"id": 3}]}),
                Code::INVALID_NETWORK_CONFIG,
                "vlanTrunk",
            ),
            (
                json!({"preserveDefaultVlan": "no"}),
                Code::DECODING_FAILURE,
                "preserveDefaultVlan",
            ),
        ] {
            let e = parse_v(v.clone()).unwrap_err();
            assert_eq!(e.code, code, "{v}: {e}");
            assert!(e.msg.contains(key), "{v}: {e}");
        }
    }
}
