//! One attachment's share of the firewall: its [`Record`] (what the record file holds) and
//! the elements computed from it (the bridge's own elements are `bridges`'), so DEL removes exactly what ADD added without reading the
//! configuration, `prevResult` or the netns; and the element operations ADD, DEL and CHECK
//! are made of.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use twill_cni::CniError;
use twill_kernel::nft::{Batch, Element, Nftables, SetRef, Value};

use super::config::{FirewallConf, Policy};
use super::skeleton::{inet_set, ports_set, ISOLATED4, ISOLATED6, ISOLATED_PORTS, PODS4, PODS6};
use crate::common::error::{internal, kernel};

/// Element comments are capped by the kernel (`NFT_USERDATA_MAXLEN`); the container ID is
/// shown for operators, never read back to find elements.
const MAX_COMMENT: usize = 120;

/// What one attachment added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// The inet table the elements are in.
    pub table: String,
    /// The pod's addresses: one element each, in `pods4` or `pods6`.
    pub addresses: Vec<IpAddr>,
    /// The ingress policy it was added with.
    pub policy: Policy,
    /// The bridge it holds a reference on (policy other than `open`).
    pub bridge: Option<String>,
    /// Its port on the bridge, an element of `isolated_ports` (`isolated` only).
    #[serde(default)]
    pub port: Option<String>,
}

impl Record {
    /// What `conf` asks for, for this attachment.
    pub fn plan(conf: &FirewallConf, container_id: &str, ifname: &str) -> Record {
        Record {
            container_id: container_id.to_owned(),
            ifname: ifname.to_owned(),
            table: conf.table.clone(),
            addresses: conf.addresses.clone(),
            policy: conf.policy,
            bridge: conf.bridge.clone(),
            port: conf.port.clone(),
        }
    }

    /// The attachment's own elements, each with its set: one per address in `pods4` or
    /// `pods6`; when isolated, one per address in `isolated4` or `isolated6` and its port
    /// in the bridge table's `isolated_ports`.
    pub fn elements(&self) -> Vec<(SetRef, Element)> {
        let comment: String = self.container_id.chars().take(MAX_COMMENT).collect();
        let el = |v: Value| Element::new(&[v]).comment(&comment);
        let isolated = self.policy == Policy::Isolated;
        let mut out = Vec::new();
        for &a in &self.addresses {
            let (pods, iso) = if a.is_ipv4() {
                (PODS4, ISOLATED4)
            } else {
                (PODS6, ISOLATED6)
            };
            out.push((inet_set(&self.table, pods), el(Value::ip(a))));
            if isolated {
                out.push((inet_set(&self.table, iso), el(Value::ip(a))));
            }
        }
        if let Some(port) = self.port.as_ref().filter(|_| isolated) {
            out.push((ports_set(&self.table), el(Value::IfName(port.clone()))));
        }
        out
    }

    /// How CHECK names element `el` of set `set`.
    pub fn describe(&self, set: &SetRef, el: &Element) -> String {
        if set.name == ISOLATED_PORTS {
            return format!("port {}", self.port.as_deref().unwrap_or_default());
        }
        let addr = self
            .addresses
            .iter()
            .find(|a| Value::ip(**a).bytes() == el.key);
        format!(
            "address {}",
            addr.map(ToString::to_string).unwrap_or_default()
        )
    }
}

/// Adds `elements` in one batch (idempotently: an element already there stays).
pub fn add(nft: &mut Nftables, elements: &[(SetRef, Element)]) -> Result<(), CniError> {
    if elements.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    for (set, el) in elements {
        batch.add_elements(set, std::slice::from_ref(el));
    }
    nft.apply(&batch).map_err(kernel)
}

/// Removes `elements`: one batch when all are present, else one by one, a missing element
/// (or set, or table) being no error.
pub fn remove(nft: &mut Nftables, elements: &[(SetRef, Element)]) -> Result<(), CniError> {
    if elements.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    for (set, el) in elements {
        batch.delete_elements(set, std::slice::from_ref(el));
    }
    match nft.apply(&batch) {
        Ok(()) => return Ok(()),
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(kernel(e)),
    }
    for (set, el) in elements {
        let mut one = Batch::new();
        one.delete_elements(set, std::slice::from_ref(el));
        match nft.apply(&one) {
            Err(e) if !e.is_not_found() => return Err(kernel(e)),
            _ => {}
        }
    }
    Ok(())
}

/// CHECK of one element: present in its set, or an error naming `what` and the set (a
/// missing table or set reads as a missing element).
pub fn expect(nft: &mut Nftables, set: &SetRef, el: &Element, what: &str) -> Result<(), CniError> {
    match nft.get_element(set, el) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(internal(format!(
            "firewall: {what} is missing from set {}",
            set.label()
        ))),
        Err(e) => Err(kernel(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn one_element_per_address_in_its_family_set_and_records_round_trip() {
        let rec = Record {
            container_id: "c".into(),
            ifname: "eth0".into(),
            table: "twill_firewall".into(),
            addresses: vec!["10.0.0.2".parse().unwrap(), "fd00::2".parse().unwrap()],
            policy: Policy::SameBridge,
            bridge: Some("cni0".into()),
            port: Some("veth1".into()),
        };
        let els = rec.elements();
        assert_eq!(els.len(), 2, "the port only counts when isolated");
        assert_eq!(els[0].0.name, PODS4);
        assert_eq!(els[0].1.key, vec![10, 0, 0, 2]);
        assert_eq!(els[1].0.name, PODS6);
        let text = serde_json::to_string(&rec).unwrap();
        assert!(text.contains("\"policy\":\"same-bridge\""), "{text}");
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), rec);
        let iso = Record {
            policy: Policy::Isolated,
            ..rec
        };
        let names: Vec<_> = iso.elements().iter().map(|e| e.0.name.clone()).collect();
        assert_eq!(
            names,
            [PODS4, ISOLATED4, PODS6, ISOLATED6, ISOLATED_PORTS].map(String::from)
        );
        let (set, el) = &iso.elements()[4];
        assert_eq!(iso.describe(set, el), "port veth1");
        let (set, el) = &iso.elements()[3];
        assert_eq!(iso.describe(set, el), "address fd00::2");
    }
}
