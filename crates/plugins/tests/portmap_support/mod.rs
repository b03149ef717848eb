//! The portmap tests' world: a host namespace with a bridge network (bridge + host-local,
//! ipMasq off; IPv4, or IPv4 and IPv6), pods on it, and an "outside" namespace joined to
//! the host by a veth (host 198.18.0.1/24 and fd00:18::1/64, outside .2 and ::2); TCP
//! servers in pods answering with their name and the peer address they see; the host's
//! ruleset as `nft -j` prints it. TCP servers and clients and the ruleset reader are the shared
//! harness's; SCTP by raw sockets is in [`sctp`].

#![allow(dead_code, unused_imports)] // each test binary uses a different part

pub mod sctp;

use std::os::fd::AsFd;
use std::path::Path;

use serde_json::{json, Value};
use twill_kernel::{AddrFlags, Address, IpPrefix, LinkId, NewLink};

use crate::support::{Ns, Sandbox};

pub use twill_test_support::nft::ruleset;
pub use twill_test_support::tcp::{fetch, fetch_once, ip, serve, serve_on};

/// The host's address on the outside link.
pub const HOST: &str = "198.18.0.1";
/// The outside namespace's address.
pub const OUTSIDE: &str = "198.18.0.2";
/// The host's IPv6 address on the outside link.
pub const HOST6: &str = "fd00:18::1";
/// The outside namespace's IPv6 address.
pub const OUTSIDE6: &str = "fd00:18::2";
/// The bridge's IPv4 and IPv6 addresses (the pods' gateways): what masquerading gives.
pub const BRIDGE: &str = "10.1.0.1";
/// See [`BRIDGE`].
pub const BRIDGE6: &str = "fd00:1::1";

/// The bridge network's configuration: isDefaultGateway, so pods route back via the host;
/// hairpinMode, as podman sets it, because with `br_netfilter` loaded a pod's connection to
/// its own host port is DNAT'd at the bridge and bridged back out of the port it came in.
pub fn bridge_conf(sb: &Sandbox) -> Value {
    sb.conf(json!({
        "cniVersion": "1.0.0", "name": "testnet", "type": "bridge", "bridge": "br-pm",
        "isDefaultGateway": true, "hairpinMode": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.0.0/24"}]]},
    }))
}

/// [`bridge_conf`] with an IPv6 range too: pods get 10.1.0.x and fd00:1::x.
pub fn bridge_conf_dual(sb: &Sandbox) -> Value {
    let mut c = bridge_conf(sb);
    c["ipam"]["ranges"] = json!([[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/64"}]]);
    c
}

/// A bridge network configuration giving its pod exactly `addresses` (static IPAM): the
/// next owner of an address a deleted pod had.
pub fn bridge_conf_static(sb: &Sandbox, addresses: &[&str]) -> Value {
    let mut c = bridge_conf(sb);
    let addrs: Vec<Value> = addresses.iter().map(|a| json!({"address": a})).collect();
    c["ipam"] = json!({"type": "static", "addresses": addrs});
    c
}

/// portmap's configuration for `mappings` after `prev`.
pub fn portmap_conf(sb: &Sandbox, prev: &Value, mappings: Value, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.0.0", "name": "testnet", "type": "portmap",
        "dataDir": sb.tmp.join("portmap").to_string_lossy(),
        "runtimeConfig": {"portMappings": mappings},
        "prevResult": prev,
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// A pod on the bridge; returns its namespace and the bridge result.
pub fn pod(sb: &mut Sandbox, name: &str) -> (Ns, Value) {
    let conf = bridge_conf(sb);
    pod_on(sb, name, &conf)
}

/// A pod attached with bridge configuration `conf`.
pub fn pod_on(sb: &mut Sandbox, name: &str, conf: &Value) -> (Ns, Value) {
    let ns = sb.pod(name);
    let r = sb.twill("bridge", "ADD", name, &ns.path, conf).ok();
    (ns, r)
}

/// The outside namespace, joined to the host over IPv4 and IPv6 (the IPv6 addresses
/// without duplicate address detection, so they are usable at once).
pub fn outside(sb: &mut Sandbox) -> Ns {
    let mut out = sb.pod("outside");
    let link = NewLink::veth("to-out", "eth-out").peer_netns(out.ns.as_fd());
    sb.host.nl.link_add(&link).unwrap();
    let hi = sb.host.nl.link_index("to-out").unwrap();
    let oi = out.nl.link_index("eth-out").unwrap();
    let v4 = |a: &str| Address::new(0, IpPrefix::new(ip(a), 24).unwrap());
    let v6 =
        |a: &str| Address::new(0, IpPrefix::new(ip(a), 64).unwrap()).with_flags(AddrFlags::NODAD);
    for (a, index) in [(v4(HOST), hi), (v6(HOST6), hi)] {
        sb.host.nl.addr_add(&Address { index, ..a }).unwrap();
    }
    for (a, index) in [(v4(OUTSIDE), oi), (v6(OUTSIDE6), oi)] {
        out.nl.addr_add(&Address { index, ..a }).unwrap();
    }
    sb.host.nl.link_set_up(LinkId::Index(hi)).unwrap();
    out.nl.link_set_up(LinkId::Index(oi)).unwrap();
    out.nl.link_set_up(LinkId::Index(1)).unwrap();
    out
}

/// The elements of map or set `name` of the portmap table of `family` (`ip`, `ip6`).
pub fn elements(path: &Path, family: &str, name: &str) -> Vec<Value> {
    let rs = ruleset(path);
    for o in rs["nftables"].as_array().unwrap() {
        let set = if o.get("map").is_some() {
            &o["map"]
        } else {
            &o["set"]
        };
        if set["family"] == family && set["table"] == "twill_portmap" && set["name"] == name {
            return set["elem"].as_array().cloned().unwrap_or_default();
        }
    }
    Vec::new()
}
