//! A vxlan overlay between two "nodes" (namespaces joined by a veth underlay), programmed
//! the way flannel's vxlan backend does it: per peer, a permanent neighbour for the peer's
//! VTEP address, an FDB entry sending the peer's VTEP MAC to its underlay address, and an
//! on-link route to the peer's pod subnet. Then a datagram between pod addresses arrives.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use twill_kernel::{
    Address, IpPrefix, LinkId, MacAddr, Neighbour, NewLink, Route, VxlanInfo, VxlanSpec,
};

use crate::common::{Sandbox, TestNs};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A node's side of the overlay.
pub struct Node {
    pub t: TestNs,
    /// The vxlan device's index.
    pub vx: u32,
    /// The vxlan device's MAC.
    pub mac: MacAddr,
    /// The node's underlay address, 198.18.0.N.
    pub underlay: IpAddr,
    /// The node's VTEP address, 10.244.N.0 (/32 on the vxlan device).
    pub vtep: IpAddr,
}

/// What flannel's vxlan backend creates: vni 1, port 8472, nolearning, local = underlay.
pub fn flannel_spec(underlay: IpAddr, dev: u32) -> VxlanSpec {
    VxlanSpec {
        local: Some(underlay),
        dev: Some(dev),
        learning: false,
        ..VxlanSpec::new(1, 8472)
    }
}

/// Node `n` (1 or 2): underlay 198.18.0.n/24 on `ul`, vxlan `vx` with 10.244.n.0/32.
fn node(mut t: TestNs, n: u8) -> Node {
    let ul = t.nl.link_index("ul").unwrap();
    t.nl.link_set_up(LinkId::Index(ul)).unwrap();
    let underlay = ip(&format!("198.18.0.{n}"));
    t.nl.addr_add(&Address::new(ul, IpPrefix::new(underlay, 24).unwrap()))
        .unwrap();
    let spec = flannel_spec(underlay, ul);
    t.nl.link_add(&NewLink::vxlan("vx", spec).up()).unwrap();
    let link = t.nl.link_get("vx".into()).unwrap();
    assert!(link.is_up(), "{link:?}");
    let vtep = ip(&format!("10.244.{n}.0"));
    t.nl.addr_add(&Address::new(link.index, IpPrefix::host(vtep)))
        .unwrap();
    Node {
        t,
        vx: link.index,
        mac: link.mac.unwrap(),
        underlay,
        vtep,
    }
}

/// Two nodes joined by a veth underlay, each with its vxlan device, no peers programmed.
pub fn two_nodes(sb: &mut Sandbox) -> (Node, Node) {
    let mut a = sb.ns();
    let b = sb.ns();
    a.nl.link_add(&NewLink::veth("ul", "ul").peer_netns(b.ns.as_fd()))
        .unwrap();
    (node(a, 1), node(b, 2))
}

/// Programs `peer` on `node`, as flannel does when it learns a peer's lease.
fn add_peer(node: &mut Node, peer: &Node) {
    let nl = &mut node.t.nl;
    nl.neigh_add(&Neighbour::arp(node.vx, peer.vtep, peer.mac))
        .unwrap();
    nl.neigh_append(&Neighbour::fdb(node.vx, peer.mac, peer.underlay))
        .unwrap();
    let subnet = IpPrefix::new(peer.vtep, 24).unwrap();
    nl.route_add(&Route::new(subnet).via(peer.vtep).dev(node.vx).onlink())
        .unwrap();
}

/// Sends up to `tries` datagrams from `from`'s VTEP address to `to`'s until one arrives (the
/// first may wait for the underlay's ARP), and returns what arrived and its source.
fn send_across(from: &Node, to: &Node, tries: u32) -> Option<(Vec<u8>, SocketAddr)> {
    let (src, dst) = (from.vtep, to.vtep);
    let rx = to.t.ns.run(|| UdpSocket::bind((dst, 0))).unwrap().unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let target = rx.local_addr().unwrap();
    let tx = from
        .t
        .ns
        .run(|| UdpSocket::bind((src, 0)))
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 64];
    for _ in 0..tries {
        tx.send_to(b"over vxlan", target).unwrap();
        if let Ok((n, source)) = rx.recv_from(&mut buf) {
            return Some((buf[..n].to_vec(), source));
        }
    }
    None
}

#[test]
fn udp_datagram_crosses_a_vxlan_overlay() {
    let mut sb = Sandbox::new();
    let (mut a, mut b) = two_nodes(&mut sb);
    add_peer(&mut a, &b);
    add_peer(&mut b, &a);

    let (data, source) = send_across(&a, &b, 10).expect("datagram 10.244.1.0 → 10.244.2.0 arrived");
    assert_eq!(data, b"over vxlan");
    assert_eq!(source.ip(), a.vtep);
    let (_, source) = send_across(&b, &a, 10).expect("datagram 10.244.2.0 → 10.244.1.0 arrived");
    assert_eq!(source.ip(), b.vtep);

    // Without the FDB entry the device has nowhere to send the frame (nolearning, no
    // flood list): the overlay is exactly what was programmed.
    let fdb = Neighbour::fdb(a.vx, b.mac, b.underlay);
    a.t.nl.neigh_delete(&fdb).unwrap();
    assert!(
        send_across(&a, &b, 2).is_none(),
        "delivered without an FDB entry"
    );
    a.t.nl.neigh_append(&fdb).unwrap();
    assert!(send_across(&a, &b, 10).is_some());
}

#[test]
fn vxlan_info_reads_back_what_was_created() {
    let mut sb = Sandbox::new();
    let (mut a, _b) = two_nodes(&mut sb);
    let ul = a.t.nl.link_index("ul").unwrap();
    let info = a.t.nl.vxlan_info("vx".into()).unwrap().expect("a vxlan");
    let want = flannel_spec(a.underlay, ul);
    assert_eq!(
        (
            info.vni,
            info.local,
            info.port,
            info.dev,
            info.learning,
            info.gbp
        ),
        (1, Some(a.underlay), 8472, Some(ul), false, false)
    );
    assert!(info.matches(&want), "{info:?}");
    assert!(!info.matches(&VxlanSpec { vni: 2, ..want }));
    assert!(!info.matches(&VxlanSpec {
        learning: true,
        ..want
    }));
    assert_eq!(a.t.nl.vxlan_info(LinkId::Index(a.vx)).unwrap(), Some(info));

    // Another kind has no vxlan info; a missing link is "not found"; a taken name "exists".
    assert_eq!(a.t.nl.vxlan_info("ul".into()).unwrap(), None);
    let e = a.t.nl.vxlan_info("nope0".into()).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = a.t.nl.link_add(&NewLink::vxlan("vx", want)).unwrap_err();
    assert!(e.is_exists(), "{e}");
    assert!(e.to_string().contains("\"vx\" (vxlan id 1)"), "{e}");

    // Options beyond flannel's, an IPv6 local address and a kernel-chosen port read back.
    let spec = VxlanSpec {
        local: Some(ip("2001:db8:5::1")),
        gbp: true,
        udp_csum: Some(false),
        ttl: Some(17),
        ..VxlanSpec::new(0xff_ffff, 4789)
    };
    a.t.nl
        .link_add(&NewLink::vxlan("vx6", spec).mtu(1400))
        .unwrap();
    let info: VxlanInfo = a.t.nl.vxlan_info("vx6".into()).unwrap().unwrap();
    assert!(info.matches(&spec), "{info:?}");
    assert_eq!((info.ttl, info.udp_csum, info.dev), (17, false, None));
    assert_eq!(a.t.nl.link_get("vx6".into()).unwrap().mtu, 1400);
    a.t.nl
        .link_add(&NewLink::vxlan("vx0", VxlanSpec::new(3, 0)))
        .unwrap();
    let info = a.t.nl.vxlan_info("vx0".into()).unwrap().unwrap();
    assert!(info.port != 0 && info.learning && info.local.is_none());
    assert!(info.matches(&VxlanSpec::new(3, 0)));
}
