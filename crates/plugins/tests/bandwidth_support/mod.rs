//! The bandwidth tests' chain and the traffic-control state they compare: an interface
//! plugin (bridge or ptp, with host-local) followed by bandwidth, run as libcni runs a
//! list (each plugin given the previous result), and the qdiscs, filters and ifb the chain
//! leaves on the host, read through twill_kernel and written as JSON without indexes or
//! random names.

#![allow(dead_code)] // each test file uses a different part

use serde_json::{json, Value};
use twill_kernel::tc::{Action, QdiscKind, HANDLE_ROOT, INGRESS_HANDLE};
use twill_kernel::{LinkId, Netlink};

use crate::support::run::Request;
use crate::support::{Impl, Ns, Sandbox};
use twill_test_support::run::Run;

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

/// One attachment's chain: where it runs and with what.
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a> {
    /// The sandbox (host namespace, plugin directory).
    pub sb: &'a Sandbox,
    /// The interface plugin: "bridge" or "ptp".
    pub kind: &'a str,
    /// The pod.
    pub pod: &'a Ns,
    /// Its container ID.
    pub id: &'a str,
    /// The configurations' version.
    pub version: &'a str,
    /// bandwidth's limits (keys or a runtimeConfig).
    pub limits: &'a Value,
}

impl Chain<'_> {
    /// ADD through the interface plugin then bandwidth; asserts success.
    pub fn add(&self, imp: Impl) -> Attached {
        let first_conf = first(self.sb, self.kind, self.version);
        let req = Request::new("ADD", self.id, &self.pod.path);
        let r1 = self.sb.exec(imp, self.kind, &req, &first_conf).ok();
        let result = self.bandwidth(imp, "ADD", &r1).ok();
        Attached {
            host_if: host_if(&r1),
            first: r1,
            result,
        }
    }

    /// bandwidth's `command` with `prev` as prevResult.
    pub fn bandwidth(&self, imp: Impl, command: &str, prev: &Value) -> Run {
        let mut bw = bandwidth(self.version, self.limits);
        bw["prevResult"] = prev.clone();
        let req = Request::new(command, self.id, &self.pod.path);
        self.sb.exec(imp, "bandwidth", &req, &bw)
    }

    /// DEL in reverse order (bandwidth by `bw_imp`, the interface plugin by `imp`);
    /// asserts success.
    pub fn del(&self, imp: Impl, bw_imp: Impl, a: &Attached) {
        self.bandwidth(bw_imp, "DEL", &a.result).ok();
        let mut c = first(self.sb, self.kind, self.version);
        if self.version >= "0.4.0" {
            c["prevResult"] = a.first.clone();
        }
        let req = Request::new("DEL", self.id, &self.pod.path);
        self.sb.exec(imp, self.kind, &req, &c).ok();
    }
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
    Chain {
        sb,
        kind,
        pod,
        id,
        version,
        limits,
    }
    .add(imp)
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
pub fn ifbs(host: &Ns) -> Vec<String> {
    let mut v: Vec<String> = socket(host)
        .ifb_list()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    v.sort();
    v
}

fn qdiscs(nl: &mut Netlink, index: u32) -> Vec<Value> {
    let mut out: Vec<Value> = nl
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
pub fn tc_state(host: &Ns, host_if: &str) -> Value {
    let mut nl = socket(host);
    let nl = &mut nl;
    let Ok(link) = nl.link_get(LinkId::Name(host_if)) else {
        return json!({"host_if": null, "ifbs": ifb_state(nl)});
    };
    let names: Vec<(u32, String)> = nl
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
    let has_ingress = nl
        .qdisc_list(Some(link.index))
        .unwrap()
        .iter()
        .any(|q| q.kind == QdiscKind::Ingress);
    let filters: Vec<Value> = if has_ingress {
        nl
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
        "host_if": {"qdiscs": qdiscs(nl, link.index), "filters": filters},
        "ifbs": ifb_state(nl),
    })
}

fn ifb_state(nl: &mut Netlink) -> Vec<Value> {
    let list = nl.ifb_list().unwrap();
    let mut out = Vec::new();
    for l in list {
        out.push(json!({"name": l.name, "mtu": l.mtu, "up": l.flags & 1 != 0,
                        "qdiscs": qdiscs(nl, l.index)}));
    }
    out.sort_by_key(|v| v.to_string());
    out
}

/// A result with its random parts (veth names, MACs, the sandbox path) replaced.
pub fn normalized(result: &Value) -> Value {
    crate::support::state::normalized(result.clone())
}

/// A fresh socket in `host`'s namespace (so readers need no mutable borrow of it).
pub fn socket(host: &Ns) -> Netlink {
    host.ns.netlink().unwrap()
}
