//! The kernel's state around an attachment, read through twill_kernel and written as JSON
//! with nothing random in it (no MACs, no veth names, no indexes), so two implementations'
//! states compare with `assert_eq!`.

use serde_json::{json, Value};
use twill_kernel::link_ext::IFF_PROMISC;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{sysctl, IpFamily, LinkId, Scope};

use super::Ns;

fn global_addrs(ns: &mut Ns, index: u32) -> Vec<Value> {
    let mut out: Vec<Value> = ns
        .nl
        .addr_list(None, Some(index))
        .unwrap()
        .into_iter()
        .filter(|a| a.scope == Scope::UNIVERSE)
        .map(|a| json!({"addr": a.prefix.to_string(), "brd": a.broadcast.map(|b| b.to_string())}))
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

/// A sysctl of `ns`, or "absent".
pub fn sysctl(ns: &Ns, key: &str) -> String {
    sysctl::read_in(&ns.ns, key).unwrap_or_else(|_| "absent".to_owned())
}

/// The container side: `ifname`'s flags, MTU, global addresses, the main table's routes
/// (without the kernel's IPv6 link-local and multicast routes), and the sysctls plugins set.
pub fn container(pod: &mut Ns, ifname: &str) -> Value {
    let Ok(link) = pod.nl.link_get(LinkId::Name(ifname)) else {
        return json!({"link": null});
    };
    let mut routes: Vec<Value> = pod
        .nl
        .route_list(None, Some(TABLE_MAIN))
        .unwrap()
        .into_iter()
        .filter(|r| {
            !(r.dst.family() == IpFamily::V6 && r.dst.addr().to_string().starts_with("fe80"))
        })
        .map(|r| {
            json!({"dst": r.dst.to_string(), "gw": r.gateway.map(|g| g.to_string()),
                   "dev": r.oif.map(|o| o == link.index), "scope": r.scope.map(|s| s.0),
                   "proto": r.protocol.0, "metric": r.priority,
                   "src": r.prefsrc.map(|a| a.to_string())})
        })
        .collect();
    routes.sort_by_key(|v| v.to_string());
    let addrs = global_addrs(pod, link.index);
    let conf = |fam: &str, key: &str| sysctl(pod, &format!("net/{fam}/conf/{ifname}/{key}"));
    json!({
        "up": link.is_up(),
        "kind": link.kind,
        "mtu": link.mtu,
        "addrs": addrs,
        "routes": routes,
        "sysctl": {
            "accept_dad": conf("ipv6", "accept_dad"),
            "enhanced_dad": conf("ipv6", "enhanced_dad"),
            "arp_notify": conf("ipv4", "arp_notify"),
            "disable_ipv6": conf("ipv6", "disable_ipv6"),
            "lo_disable_ipv6": sysctl(pod, "net/ipv6/conf/lo/disable_ipv6"),
        },
    })
}

/// The host side: the bridge (kind, flags, MTU, global addresses, accept_ra), its ports
/// (up, MTU, hairpin, isolation) and the forwarding sysctls. A port's own IPv6 settings are
/// left out: frames arriving on a port belong to the bridge, so they mean nothing there (and
/// twill gives ports no IPv6 address at all, see `bridge_ports_have_no_ipv6_address`).
pub fn host(host: &mut Ns, bridge: &str) -> Value {
    let Ok(br) = host.nl.link_get(LinkId::Name(bridge)) else {
        return json!({"bridge": null});
    };
    let mut ports = Vec::new();
    for l in host.nl.link_list().unwrap() {
        if l.master != Some(br.index) {
            continue;
        }
        // A port listed a moment ago may be gone now: the kernel dismantles a deleted
        // pod's veth asynchronously. Such a port is not part of the state any more.
        let p = match host.nl.bridge_port_get(LinkId::Index(l.index)) {
            Err(e) if e.is_not_found() => continue,
            other => other.unwrap().unwrap(),
        };
        ports.push(json!({
            "kind": l.kind, "up": l.is_up(), "mtu": l.mtu,
            "hairpin": p.hairpin, "isolated": p.isolated,
            "name_ok": l.name.starts_with("veth") && l.name.len() == 12,
        }));
    }
    json!({
        "kind": br.kind,
        "up": br.is_up(),
        "promisc": br.flags & IFF_PROMISC != 0,
        "mtu": br.mtu,
        "addrs": global_addrs(host, br.index),
        "accept_ra": sysctl(host, &format!("net/ipv6/conf/{bridge}/accept_ra")),
        "ports": ports,
        "ip_forward": sysctl(host, "net/ipv4/ip_forward"),
        "ipv6_forwarding": sysctl(host, "net/ipv6/conf/all/forwarding"),
    })
}

/// The host side of routed attachments (ptp): every veth (up, MTU, global addresses,
/// accept_ra, name shape), the main table's routes (without IPv6 link-local ones; the
/// interface shown as its kind) and the forwarding sysctls.
pub fn routed_host(host: &mut Ns) -> Value {
    let links = host.nl.link_list().unwrap();
    let mut veths = Vec::new();
    for l in links.iter().filter(|l| l.kind.as_deref() == Some("veth")) {
        veths.push(json!({
            "up": l.is_up(), "mtu": l.mtu, "addrs": global_addrs(host, l.index),
            "accept_ra": sysctl(host, &format!("net/ipv6/conf/{}/accept_ra", l.name)),
            "name_ok": l.name.starts_with("veth") && l.name.len() == 12,
        }));
    }
    veths.sort_by_key(|v| v.to_string());
    let kind_of = |index: u32| {
        links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.kind.clone().unwrap_or_else(|| l.name.clone()))
    };
    let mut routes: Vec<Value> = host
        .nl
        .route_list(None, Some(TABLE_MAIN))
        .unwrap()
        .into_iter()
        .filter(|r| !r.dst.addr().to_string().starts_with("fe80"))
        .map(|r| {
            json!({"dst": r.dst.to_string(), "gw": r.gateway.map(|g| g.to_string()),
                   "dev": r.oif.and_then(kind_of), "scope": r.scope.map(|s| s.0),
                   "proto": r.protocol.0, "metric": r.priority})
        })
        .collect();
    routes.sort_by_key(|v| v.to_string());
    json!({
        "veths": veths,
        "routes": routes,
        "ip_forward": sysctl(host, "net/ipv4/ip_forward"),
        "ipv6_forwarding": sysctl(host, "net/ipv6/conf/all/forwarding"),
    })
}

/// A result with the random parts (veth names, MACs) and the sandbox path replaced by
/// placeholders, for comparing two implementations' results.
pub fn normalized(mut result: Value) -> Value {
    if let Some(ifaces) = result.get_mut("interfaces").and_then(Value::as_array_mut) {
        for i in ifaces {
            if let Some(name) = i.get("name").and_then(Value::as_str) {
                if name.starts_with("veth") && name.len() == 12 {
                    i["name"] = "<veth>".into();
                }
            }
            if i.get("mac").is_some_and(|m| m != "00:00:00:00:00:00") {
                i["mac"] = "<mac>".into();
            }
            if i.get("sandbox").is_some() {
                i["sandbox"] = "<netns>".into();
            }
        }
    }
    result
}

/// A child of a parent device in the container (macvlan, ipvlan): [`container`]'s view plus
/// the child's mode and whether its parent is `parent` (an index in the parent's namespace;
/// `same_ns` when that is the container's own, `linkInContainer`).
pub fn child(pod: &mut Ns, ifname: &str, parent: u32, same_ns: bool) -> Value {
    let Ok(msg) = pod.nl.link_get_message(LinkId::Name(ifname)) else {
        return json!({"link": null});
    };
    let mode = msg
        .macvlan_mode
        .map(|m| m.to_string())
        .or(msg.ipvlan_mode.map(|m| m.to_string()));
    let parent_ok = msg.link == Some(parent) && msg.link_netnsid.is_none() == same_ns;
    json!({
        "mode": mode,
        "parent_ok": parent_ok,
        "container": container(pod, ifname),
    })
}
