//! Cache interop on podman's chain (reference bridge, host-local, portmap, firewall, tuning):
//! what one runtime ADDs the other DELs through the cache. portmap undoes its DNAT only when
//! DEL carries the port mappings: ours takes them from the cache when the caller passes
//! none; libcni does not, so its DEL without them leaves the DNAT rules.

use std::path::Path;

use serde_json::Value;
use twill_runtime::Attachment;

use crate::chains::{assert_gone, att, container_chains, container_lines, Host};
use crate::differential::{podman_conflist, port_mappings};
use crate::support::Sandbox;

/// One ADDed container: its ID, address and packet-filter chains.
struct Added {
    cid: &'static str,
    ip: String,
    chains: Vec<String>,
}

fn added(host: &Host, cid: &'static str, result: &Value) -> Added {
    let ip = result["ips"][0]["address"].as_str().unwrap();
    let ip = ip.split('/').next().unwrap().to_owned();
    let chains = container_chains(&host.state(), cid, &ip);
    // Masquerade and portmap's DNAT chain at least.
    assert!(chains.len() >= 2, "{chains:?}\n{}", host.state());
    Added { cid, ip, chains }
}

/// portmap's per-container DNAT chains (`CNI-DN-…`) among `chains`.
fn dnat(chains: &[String]) -> Vec<String> {
    chains
        .iter()
        .filter(|c| c.starts_with("CNI-DN-"))
        .cloned()
        .collect()
}

/// Nothing of `a` is left but its DNAT chain and the rules jumping to it.
fn only_dnat_left(host: &Host, a: &Added) {
    let state = host.state();
    let dn = dnat(&a.chains);
    assert_eq!(dn.len(), 1, "{:?}", a.chains);
    let left = container_lines(&state, a.cid, &a.ip);
    assert!(!left.is_empty(), "the DNAT rules were removed:\n{state}");
    for l in &left {
        assert!(l.contains(&dn[0]), "{l}");
    }
    let others: Vec<String> = a.chains.iter().filter(|c| **c != dn[0]).cloned().collect();
    let without: String = state
        .lines()
        .filter(|l| !l.contains(&dn[0]))
        .collect::<Vec<_>>()
        .join("\n");
    assert_gone(&without, a.cid, &a.ip, &others);
}

/// The container's interface is gone.
fn no_link(netns: &twill_kernel::NetNs) {
    let state = crate::chains::ns_state(netns);
    assert!(!state.contains("eth0"), "{state}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn libcnis_podman_attachment_is_deleted_by_us_with_its_cached_port_mappings() {
    let mut sb = Sandbox::new();
    let host = Host::new(&mut sb, "ia-go", &podman_conflist(true), &[]);
    let caps = port_mappings();
    let (rt, net) = (host.runtime(), host.net());
    let (c1, p1) = sb.ns("ia1");
    let (c2, p2) = sb.ns("ia2");
    let r1: Value =
        serde_json::from_str(&host.go(Some(&caps)).op("add", "ctr1", s(&p1)).unwrap()).unwrap();
    let a1 = added(&host, "ctr1", &r1);
    let r2: Value =
        serde_json::from_str(&host.go(Some(&caps)).op("add", "ctr2", s(&p2)).unwrap()).unwrap();
    let a2 = added(&host, "ctr2", &r2);

    // Ours, given no capability arguments, reads libcni's record and passes them on.
    let cached = rt.cached_config(&net, &Attachment::new("ctr1", "", "eth0"));
    let (_, as_cached) = cached.unwrap().unwrap();
    assert_eq!(Value::Object(as_cached.capability_args), caps);
    rt.del(&net, &Attachment::new("ctr1", s(&p1), "eth0"))
        .unwrap();
    assert_gone(&host.state(), "ctr1", &a1.ip, &a1.chains);
    no_link(&c1);

    // libcni's own DEL without them leaves portmap's DNAT behind (everything else goes).
    host.go(None).op("del", "ctr2", s(&p2)).unwrap();
    only_dnat_left(&host, &a2);
    no_link(&c2);
    assert!(host.reservations().is_empty());
    assert!(host.cached().is_empty());
}

#[test]
fn our_podman_attachment_is_deleted_by_libcni() {
    let mut sb = Sandbox::new();
    let host = Host::new(&mut sb, "ia-ours", &podman_conflist(true), &[]);
    let caps = port_mappings();
    let (rt, net) = (host.runtime(), host.net());
    let (c1, p1) = sb.ns("ib1");
    let (c2, p2) = sb.ns("ib2");
    let r1 = rt.add(&net, &att("ctr1", &p1, Some(&caps))).unwrap().value;
    let a1 = added(&host, "ctr1", &r1);
    let r2 = rt.add(&net, &att("ctr2", &p2, Some(&caps))).unwrap().value;
    let a2 = added(&host, "ctr2", &r2);
    assert_eq!(host.reservations().len(), 2);

    // libcni reads our record; given the port mappings (as podman passes them), all goes.
    host.go(Some(&caps)).op("del", "ctr1", s(&p1)).unwrap();
    assert_gone(&host.state(), "ctr1", &a1.ip, &a1.chains);
    no_link(&c1);

    // Without them, libcni ignores the ones we cached: the DNAT stays.
    host.go(None).op("del", "ctr2", s(&p2)).unwrap();
    only_dnat_left(&host, &a2);
    no_link(&c2);
    assert!(host.reservations().is_empty());
    assert!(host.cached().is_empty());
}
