//! The bandwidth tests' chain and the traffic-control state they compare: an interface
//! plugin (bridge or ptp, with host-local) followed by bandwidth, run as libcni runs a
//! list (each plugin given the previous result), and the qdiscs, filters and ifb the chain
//! leaves on the host, read through twill_kernel and written as JSON without indexes or
//! random names.

#![allow(dead_code)] // each test file uses a different part

use serde_json::{json, Value};
use twill_kernel::tc::{Action, QdiscKind, HANDLE_ROOT, INGRESS_HANDLE};
use twill_kernel::LinkId;

use crate::support::run::Request;
use crate::support::{Impl, Ns, Sandbox};

/// The network name of every chain here.
pub const NET: &str = "bwtest";

/// The interface plugin's configuration at `version`: `kind` is "bridge" or "ptp", its pod
/// addresses in 10.0.0.0/8.
pub fn first(sb: &Sandbox, kind: &str, version: &str) -> Value {
    let subnet = if kind == "bridge" {
        "10.31.0.0/24"
    } else {
        "10.32.0.0/24"
    };
    let mut c = json!({
        "cniVersion": version, "name": NET, "type": kind,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]]},
    });
    if kind == "bridge" {
        c["bridge"] = "br-bw".into();
        c["isGateway"] = true.into();
    }
    sb.conf(c)
}

/// bandwidth's configuration at `version` with `limits` (keys or a runtimeConfig).
pub fn bandwidth(version: &str, limits: &Value) -> Value {
    let mut c = json!({"cniVersion": version, "name": NET, "type": "bandwidth"});
    c.as_object_mut()
        .unwrap()
        .extend(limits.as_object().unwrap().clone());
    c
}

/// One attachment through the chain.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The interface plugin's result.
    pub first: Value,
    /// bandwidth's result (the chain's).
    pub result: Value,
    /// The host end of the pod's veth.
    pub host_if: String,
}

/// ADD through `kind` then bandwidth for container `id` in `pod`; asserts success.
pub fn add(
    sb: &Sandbox,
    imp: Impl,
    kind: &str,
    pod: &Ns,
    id: &str,
    version: &str,
    limits: &Value,
) -> Attached {
    let first_conf = first(sb, kind, version);
    let r1 = sb
        .exec(imp, kind, &Request::new("ADD", id, &pod.path), &first_conf)
        .ok();
    let mut bw = bandwidth(version, limits);
    bw["prevResult"] = r1.clone();
    let run = sb.exec(imp, "bandwidth", &Request::new("ADD", id, &pod.path), &bw);
    let result = run.ok();
    Attached {
        host_if: host_if(&r1),
        first: r1,
        result,
    }
}

/// bandwidth's `command` (CHECK or DEL) with the chain's result as prevResult.
pub fn bandwidth_cmd(
    sb: &Sandbox,
    imp: Impl,
    command: &str,
    pod: &Ns,
    id: &str,
    version: &str,
    limits: &Value,
    prev: &Value,
) -> twill_test_support::run::Run {
    let mut bw = bandwidth(version, limits);
    bw["prevResult"] = prev.clone();
    sb.exec(imp, "bandwidth", &Request::new(command, id, &pod.path), &bw)
}

/// DEL in reverse order (bandwidth by `bw_imp`, the interface plugin by `imp`); asserts
/// success.
pub fn del(
    sb: &Sandbox,
    imp: Impl,
    bw_imp: Impl,
    kind: &str,
    pod: &Ns,
    id: &str,
    version: &str,
    limits: &Value,
    a: &Attached,
) {
    bandwidth_cmd(sb, bw_imp, "DEL", pod, id, version, limits, &a.result).ok();
    let mut c = first(sb, kind, version);
    if version >= "0.4.0" {
        c["prevResult"] = a.first.clone();
    }
    sb.exec(imp, kind, &Request::new("DEL", id, &pod.path), &c)
        .ok();
}

/// The host end named in an interface plugin's result: the interface without a sandbox
/// whose name starts with "veth".
pub fn host_if(result: &Value) -> String {
    result["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i.get("sandbox").is_none() && i["name"].as_str().unwrap().starts_with("veth"))
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The ifb named in a result, if any.
pub fn ifb_of(result: &Value) -> Option<String> {
    result["interfaces"]
        .as_array()?
        .iter()
        .filter_map(|i| i["name"].as_str())
        .find(|n| n.starts_with("bwp"))
        .map(str::to_owned)
}

/// Every ifb in `host`'s namespace, by name.
pub fn ifbs(host: &mut Ns) -> Vec<String> {
    let mut v: Vec<String> = host
        .nl
        .ifb_list()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    v.sort();
    v
}

fn qdiscs(host: &mut Ns, index: u32) -> Vec<Value> {
    let mut out: Vec<Value> = host
        .nl
        .qdisc_list(Some(index))
        .unwrap()
        .into_iter()
        .filter(|q| !matches!(&q.kind, QdiscKind::Other(k) if k == "noqueue"))
        .map(|q| {
            let params = match &q.kind {
                QdiscKind::Tbf(t) => json!({"rate": t.rate, "buffer": t.buffer, "limit": t.limit}),
                _ => Value::Null,
            };
            json!({"kind": q.kind.name(), "handle": q.handle, "root": q.parent == HANDLE_ROOT,
                   "parent": q.parent, "params": params})
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

/// The shaping state around `host_if`: its qdiscs, the filters of its ingress qdisc (the
/// first action of each, with its target device named; the reference adds a second,
/// unreachable action after a redirect that steals the packet, see
/// docs/plugins/bandwidth.md), and every ifb with its MTU, state and qdiscs. The ifb's
/// queue length is left out: the reference creates it with none (0).
pub fn tc_state(host: &mut Ns, host_if: &str) -> Value {
    let Ok(link) = host.nl.link_get(LinkId::Name(host_if)) else {
        return json!({"host_if": null, "ifbs": ifb_state(host)});
    };
    let names: Vec<(u32, String)> = host
        .nl
        .link_list()
        .unwrap()
        .into_iter()
        .map(|l| (l.index, l.name))
        .collect();
    let name_of = |i: u32| {
        names
            .iter()
            .find(|(x, _)| *x == i)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("index {i}"))
    };
    let has_ingress = host
        .nl
        .qdisc_list(Some(link.index))
        .unwrap()
        .iter()
        .any(|q| q.kind == QdiscKind::Ingress);
    let filters: Vec<Value> = if has_ingress {
        host.nl
            .filter_list(link.index, INGRESS_HANDLE)
            .unwrap()
            .into_iter()
            .filter_map(|f| {
                let u = f.u32.clone()?;
                u.has_selector.then(|| {
                    let first = match u.actions.first() {
                        Some(Action::Mirred(m)) => json!({"mirred": {"verdict": m.verdict,
                            "eaction": m.eaction, "dev": name_of(m.ifindex)}}),
                        Some(Action::Other(k)) => json!(k),
                        None => Value::Null,
                    };
                    json!({"prio": f.priority, "protocol": f.protocol, "kind": f.kind,
                           "classid": u.classid, "terminal": u.terminal,
                           "keys": u.keys.iter().map(|k| json!([k.mask, k.val, k.off])).collect::<Vec<_>>(),
                           "first_action": first})
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "host_if": {"qdiscs": qdiscs(host, link.index), "filters": filters},
        "ifbs": ifb_state(host),
    })
}

fn ifb_state(host: &mut Ns) -> Vec<Value> {
    let list = host.nl.ifb_list().unwrap();
    let mut out = Vec::new();
    for l in list {
        out.push(json!({"name": l.name, "mtu": l.mtu, "up": l.flags & 1 != 0,
                        "qdiscs": qdiscs(host, l.index)}));
    }
    out.sort_by_key(|v| v.to_string());
    out
}

/// A result with its random parts (veth names, MACs, the sandbox path) replaced.
pub fn normalized(result: &Value) -> Value {
    crate::support::state::normalized(result.clone())
}
