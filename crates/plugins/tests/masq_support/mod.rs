//! The ipMasq tests' world, on top of portmap's (outside namespace, TCP servers and
//! fetches): configurations with `ipMasq: true` under a network name unique to the test
//! process, the masquerade maps' elements and the records, as `nft -j` and the disk show.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::portmap_support::ruleset;
use crate::support::Sandbox;

/// A network name no other test process uses (records live in a machine-wide directory).
pub fn net_name(tag: &str) -> String {
    format!("mq{}{tag}", std::process::id())
}

/// A bridge network with `ipMasq: true` on `subnet`.
pub fn bridge_conf(sb: &Sandbox, name: &str, bridge: &str, subnet: &str) -> Value {
    sb.conf(json!({
        "cniVersion": "1.0.0", "name": name, "type": "bridge", "bridge": bridge,
        "isDefaultGateway": true, "ipMasq": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]]},
    }))
}

/// A ptp network with `ipMasq: true` on `subnet`.
pub fn ptp_conf(sb: &Sandbox, name: &str, subnet: &str) -> Value {
    sb.conf(json!({
        "cniVersion": "1.0.0", "name": name, "type": "ptp", "ipMasq": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                 "routes": [{"dst": "0.0.0.0/0"}]},
    }))
}

/// The first address of a result, without its prefix length.
pub fn addr_of(result: &Value) -> String {
    let a = result["ips"][0]["address"].as_str().unwrap();
    a.split('/').next().unwrap().to_owned()
}

/// Every element of map `name` in the masquerade tables of namespace `host`, as JSON text.
pub fn elements(host: &Path, name: &str) -> Vec<String> {
    let rs = ruleset(host);
    let mut out = Vec::new();
    for o in rs["nftables"].as_array().unwrap() {
        let m = &o["map"];
        let ours = m["family"] == "inet"
            && m["table"]
                .as_str()
                .is_some_and(|t| t.starts_with("twill_masq_"))
            && m["name"] == name;
        if ours {
            for e in m["elem"].as_array().cloned().unwrap_or_default() {
                out.push(e.to_string());
            }
        }
    }
    out
}

/// The rules and chains of the masquerade tables (no elements): the skeleton.
pub fn skeleton(host: &Path) -> Vec<Value> {
    let rs = ruleset(host);
    rs["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o.get("rule").is_some() || o.get("chain").is_some())
        .filter(|o| {
            let inner = o.get("rule").or_else(|| o.get("chain")).unwrap();
            inner["table"]
                .as_str()
                .is_some_and(|t| t.starts_with("twill_masq_"))
        })
        .map(|o| {
            let mut o = o.clone();
            // Handles are allocation order, not content.
            for k in ["rule", "chain"] {
                if let Some(inner) = o.get_mut(k).and_then(Value::as_object_mut) {
                    inner.remove("handle");
                }
            }
            o
        })
        .collect()
}

/// The record file of an attachment.
pub fn record(net: &str, id: &str) -> PathBuf {
    Path::new("/run/cni/twill-masq")
        .join(net)
        .join(format!("{id}-eth0"))
}
