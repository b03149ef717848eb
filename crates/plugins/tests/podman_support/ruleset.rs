//! The nf_tables rule set of podman's host namespace, read back with `nft -j list ruleset`,
//! and what in it still refers to a container.

use serde_json::Value;

/// Every string and number anywhere in `v`, as text: set and map elements, rule operands,
/// comments (twill's elements carry the container ID as their comment).
fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        Value::Object(o) => o.values().for_each(|x| leaves(x, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// What in `ruleset` names one of `ips` (as an address or the address of a prefix) or
/// contains one of `ids` (container IDs): each hit with the object it was found in.
pub fn references(ruleset: &Value, ips: &[String], ids: &[String]) -> Vec<String> {
    let mut hits = Vec::new();
    let Some(objects) = ruleset["nftables"].as_array() else {
        panic!("not nft's JSON: {ruleset}");
    };
    for obj in objects {
        let mut l = Vec::new();
        leaves(obj, &mut l);
        let names_one = l
            .iter()
            .any(|s| ips.iter().any(|ip| s == ip) || ids.iter().any(|id| s.contains(id.as_str())));
        if names_one {
            hits.push(obj.to_string());
        }
    }
    hits
}
