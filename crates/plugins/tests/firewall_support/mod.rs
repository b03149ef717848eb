//! The firewall tests' world: a host namespace with bridge networks (bridge + host-local,
//! ipMasq off, isDefaultGateway, so pods of different bridges reach each other through the
//! host's routing), pods on them, and the outside namespace of the portmap tests with a
//! route back to the pod networks; TCP reachability (a connect and an answer means the SYN
//! went one way and the SYN-ACK and data came back); the firewall's tables as `nft -j`
//! prints them.

#![allow(dead_code)]

use std::path::Path;

use serde_json::{json, Value};
use twill_kernel::{IpPrefix, Route};

use crate::portmap_support::{self, fetch, fetch_once, ip, serve, OUTSIDE};
use crate::support::run::{Request, Run};
use crate::support::{Impl, Ns, Sandbox};

pub use crate::portmap_support::{ruleset, HOST};

/// The port every test server listens on.
pub const PORT: u16 = 8000;

/// A bridge network: `name` on bridge `bridge` with pod subnet `10.10.<n>.0/24`.
pub fn net(sb: &Sandbox, name: &str, bridge: &str, n: u8) -> Value {
    sb.conf(json!({
        "cniVersion": "1.0.0", "name": name, "type": "bridge", "bridge": bridge,
        "isDefaultGateway": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": format!("10.10.{n}.0/24")}]]},
    }))
}

/// A pod attached to `network` (a [`net`] configuration); its namespace and result.
pub fn pod(sb: &mut Sandbox, network: &Value, name: &str) -> (Ns, Value) {
    let ns = sb.pod(name);
    let r = sb.twill("bridge", "ADD", name, &ns.path, network).ok();
    (ns, r)
}

/// The pod's (first) address.
pub fn addr(result: &Value) -> String {
    let a = result["ips"][0]["address"].as_str().unwrap();
    a.split('/').next().unwrap().to_owned()
}

/// The firewall's configuration after `prev` on network `network`, plus `extra` keys.
pub fn fw_conf(sb: &Sandbox, network: &str, prev: &Value, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.0.0", "name": network, "type": "firewall",
        "dataDir": data_dir(sb).to_string_lossy(),
        "prevResult": prev,
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// Where the tests' firewall records live.
pub fn data_dir(sb: &Sandbox) -> std::path::PathBuf {
    sb.tmp.join("firewall")
}

/// Runs our firewall's `command` for container `id`'s `eth0` in `netns`.
pub fn fw(sb: &Sandbox, command: &str, id: &str, netns: &Path, conf: &Value) -> Run {
    sb.twill("firewall", command, id, netns, conf)
}

/// DEL of container `id` with neither netns nor prevResult, as a runtime sends it after
/// the pod died.
pub fn fw_del_bare(sb: &Sandbox, network: &str, id: &str) {
    let conf = json!({
        "cniVersion": "1.0.0", "name": network, "type": "firewall",
        "dataDir": data_dir(sb).to_string_lossy(),
    });
    let mut req = Request::new("DEL", id, &sb.tmp);
    req.netns = None;
    sb.exec(Impl::Twill, "firewall", &req, &conf).ok();
}

/// GC of `network` at 1.1.0 with `valid` as `cni.dev/valid-attachments`.
pub fn fw_gc(sb: &Sandbox, network: &str, valid: Value) -> Run {
    let conf = json!({
        "cniVersion": "1.1.0", "name": network, "type": "firewall",
        "dataDir": data_dir(sb).to_string_lossy(),
        "cni.dev/valid-attachments": valid,
    });
    let mut req = Request::new("GC", "", &sb.tmp);
    req.netns = None;
    sb.exec(Impl::Twill, "firewall", &req, &conf)
}

/// The outside namespace of the portmap tests, with a route to the pod networks via the
/// host (no masquerade: replies must find their way back).
pub fn outside(sb: &mut Sandbox) -> Ns {
    let mut out = portmap_support::outside(sb);
    let pods = IpPrefix::new(ip("10.0.0.0"), 8).unwrap();
    out.nl.route_add(&Route::new(pods).via(ip(HOST))).unwrap();
    out
}

/// A server on [`PORT`] in `ns`, answering `"<tag> <peer>"`, for `secs` seconds.
pub fn listen(ns: &Ns, tag: &str, secs: u64) -> std::thread::JoinHandle<()> {
    serve(ns, PORT, tag, secs)
}

/// `from` opens a connection to `to_addr` and gets the server's answer (retried a few
/// seconds); the answer, or why not.
pub fn reaches(from: &Ns, to_addr: &str) -> Result<String, String> {
    fetch(from, to_addr, PORT)
}

/// `from` cannot connect to `to_addr` (one attempt; call after a positive check showed the
/// path works, so the failure is the firewall's).
pub fn blocked(from: &Ns, to_addr: &str) -> bool {
    fetch_once(from, to_addr, PORT).is_err()
}

/// The outside namespace's address.
pub fn outside_addr() -> &'static str {
    OUTSIDE
}

/// The objects of the ruleset in `path` that belong to table `family table`.
fn objects(path: &Path, family: &str, table: &str) -> Vec<Value> {
    let rs = ruleset(path);
    rs["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            let inner = o.as_object().and_then(|m| m.values().next());
            inner.is_some_and(|i| i["family"] == family && i["table"] == table)
        })
        .cloned()
        .collect()
}

/// The elements of set `name` of table `family table`, each as `nft -j` prints its value
/// (the comment, the container ID, left out).
pub fn elements(path: &Path, family: &str, table: &str, name: &str) -> Vec<Value> {
    let all = objects(path, family, table)
        .iter()
        .find(|o| o.get("set").is_some_and(|s| s["name"] == name))
        .and_then(|o| o["set"]["elem"].as_array().cloned())
        .unwrap_or_default();
    all.into_iter()
        .map(|e| match e.get("elem") {
            Some(inner) => inner["val"].clone(),
            None => e,
        })
        .collect()
}

fn raw_rules(path: &Path, family: &str, table: &str, chain: &str) -> Vec<Value> {
    objects(path, family, table)
        .iter()
        .filter_map(|o| o.get("rule"))
        .filter(|r| r["chain"] == chain)
        .map(|r| r["expr"].clone())
        .collect()
}

/// The rules of chain `chain` of table `family table`, as `nft -j` prints their
/// expressions, without handles and with counters zeroed (a repaired chain starts at 0).
pub fn rules(path: &Path, family: &str, table: &str, chain: &str) -> Vec<Value> {
    let mut all = raw_rules(path, family, table, chain);
    for e in all.iter_mut().filter_map(Value::as_array_mut).flatten() {
        if let Some(c) = e.get_mut("counter") {
            *c = json!({"packets": 0, "bytes": 0});
        }
    }
    all
}

/// The packet counter of the rule of inet `twill_firewall`'s forward chain whose
/// expressions mention every one of `needles`.
pub fn counter(path: &Path, needles: &[&str]) -> u64 {
    let all = raw_rules(path, "inet", "twill_firewall", "forward");
    let rule = all
        .iter()
        .find(|r| {
            let text = r.to_string();
            needles.iter().all(|n| text.contains(n))
        })
        .unwrap_or_else(|| panic!("no rule with {needles:?} in {all:?}"));
    let c = rule
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e.get("counter"))
        .unwrap();
    c["packets"].as_u64().unwrap()
}

/// Runs `nft` with `args` in the namespace at `path` (tests only: an operator's hand).
pub fn nft(path: &Path, args: &[&str]) {
    twill_test_support::nft::nft(path, args);
}
