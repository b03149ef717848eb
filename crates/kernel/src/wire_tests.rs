//! Exact request bytes for links, addresses and routes, and parsing of reply bytes captured
//! from a real kernel (`strace -xx` of `ip` in a scratch namespace). Little-endian hosts only:
//! netlink headers are in host byte order.
#![cfg(target_endian = "little")]

use std::net::IpAddr;

use crate::link::{LinkMessage, NewLink};
use crate::nl::consts::*;
use crate::nl::message::HEADER_LEN;
use crate::nl::reply::parse_error;
use crate::nl::{Message, MessageBuilder};
use crate::route::{Route, TABLE_MAIN};
use crate::{Address, IpFamily, IpPrefix, Link, Scope};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn address_request_matches_iproute2_byte_for_byte() {
    // `ip addr add 10.1.2.3/8 dev lo` sent exactly this payload (flags REQUEST|ACK|EXCL|CREATE).
    let captured: &[u8] = b"\x02\x08\x00\x00\x01\x00\x00\x00\x08\x00\x02\x00\x0a\x01\x02\x03\
\x08\x00\x01\x00\x0a\x01\x02\x03";
    let addr = Address::new(1, "10.1.2.3/8".parse().unwrap());
    let mut b = MessageBuilder::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    addr.emit(&mut b);
    let bytes = b
        .with_flags(NLM_F_REQUEST | NLM_F_ACK)
        .finish(1, 0)
        .unwrap();
    assert_eq!(&bytes[HEADER_LEN..], captured);
    assert_eq!(&bytes[..8], &[40, 0, 0, 0, 20, 0, 0x05, 0x06]);
}

#[test]
fn veth_request_nests_the_peer_with_its_own_header() {
    let fd = 7; // a namespace descriptor number; only its value goes on the wire
    let peer = LinkMessage {
        name: Some("b".into()),
        net_ns_fd: Some(fd),
        ..LinkMessage::default()
    };
    let msg = LinkMessage {
        name: Some("a".into()),
        mtu: Some(1400),
        kind: Some("veth".into()),
        peer: Some(Box::new(peer)),
        ..LinkMessage::default()
    };
    let mut b = MessageBuilder::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    msg.emit(&mut b);
    let bytes = b.finish(1, 0).unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  // ifinfomsg
        6, 0, 3, 0,  b'a', 0, 0, 0,                          // IFLA_IFNAME "a"
        8, 0, 4, 0,  0x78, 0x05, 0, 0,                       // IFLA_MTU 1400
        56, 0, 18, 0,                                        // IFLA_LINKINFO
          9, 0, 1, 0,  b'v', b'e', b't', b'h', 0, 0, 0, 0,   //   IFLA_INFO_KIND "veth"
          40, 0, 2, 0,                                       //   IFLA_INFO_DATA
            36, 0, 1, 0,                                     //     VETH_INFO_PEER
              0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
              6, 0, 3, 0,  b'b', 0, 0, 0,                    //       IFLA_IFNAME "b"
              8, 0, 28, 0,  7, 0, 0, 0,                      //       IFLA_NET_NS_FD 7
    ];
    assert_eq!(&bytes[HEADER_LEN..], want);
    // And it reads back (the peer is request-only).
    let back = LinkMessage::parse(&bytes[HEADER_LEN..]).unwrap();
    assert_eq!(back.name.as_deref(), Some("a"));
    assert_eq!(back.mtu, Some(1400));
    assert_eq!(back.kind.as_deref(), Some("veth"));
}

#[test]
fn route_request_bytes() {
    let route = Route::new(IpPrefix::default_route(IpFamily::V4))
        .via(ip("198.18.0.1"))
        .dev(2)
        .table(100)
        .onlink();
    let mut b = MessageBuilder::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    route.emit(RTM_NEWROUTE, &mut b);
    let bytes = b.finish(1, 0).unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        2, 0, 0, 0, 100, 3, 0, 1,  4, 0, 0, 0,   // rtmsg: inet /0 table 100 boot universe unicast onlink
        8, 0, 15, 0,  100, 0, 0, 0,              // RTA_TABLE
        8, 0, 5, 0,  198, 18, 0, 1,              // RTA_GATEWAY
        8, 0, 4, 0,  2, 0, 0, 0,                 // RTA_OIF
    ];
    assert_eq!(&bytes[HEADER_LEN..], want);

    // Deleting leaves scope and protocol open; a big table id only fits RTA_TABLE.
    let mut b = MessageBuilder::new(RTM_DELROUTE, 0);
    Route::new("10.0.0.0/8".parse().unwrap())
        .table(1000)
        .emit(RTM_DELROUTE, &mut b);
    let bytes = b.finish(1, 0).unwrap();
    assert_eq!(
        &bytes[HEADER_LEN..HEADER_LEN + 8],
        &[2, 8, 0, 0, 0, 0, 255, 1]
    );
    assert_eq!(
        &bytes[HEADER_LEN + 12..HEADER_LEN + 20],
        &[8, 0, 15, 0, 0xe8, 3, 0, 0]
    );
}

/// An address reply from `ip -4 addr show dev lo` (10.1.2.3/8, permanent).
const ADDR_REPLY: &[u8] = b"\x02\x08\x80\x00\x01\x00\x00\x00\x08\x00\x01\x00\x0a\x01\x02\x03\
\x08\x00\x02\x00\x0a\x01\x02\x03\x07\x00\x03\x00\x6c\x6f\x00\x00\x08\x00\x08\x00\x80\x00\x00\x00\
\x14\x00\x06\x00\xff\xff\xff\xff\xff\xff\xff\xff\xc9\x7a\x01\x00\xc9\x7a\x01\x00";

/// A route reply: 10.9.0.0/16 via 198.18.5.5 dev 1 table 100 metric 7 onlink.
const ROUTE_REPLY: &[u8] = b"\x02\x10\x00\x00\x64\x03\x00\x01\x04\x00\x00\x00\x08\x00\x0f\x00\
\x64\x00\x00\x00\x08\x00\x01\x00\x0a\x09\x00\x00\x08\x00\x06\x00\x07\x00\x00\x00\x08\x00\x05\x00\
\xc6\x12\x05\x05\x08\x00\x04\x00\x01\x00\x00\x00";

/// The start of a link reply for `lo` (up, mtu 65536), cut after its IFLA_ADDRESS.
const LINK_REPLY: &[u8] = b"\x00\x00\x04\x03\x01\x00\x00\x00\x49\x00\x01\x00\x00\x00\x00\x00\
\x07\x00\x03\x00\x6c\x6f\x00\x00\x08\x00\x0d\x00\xe8\x03\x00\x00\x05\x00\x10\x00\x00\x00\x00\x00\
\x08\x00\x04\x00\x00\x00\x01\x00\x0a\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";

#[test]
fn parses_captured_replies() {
    let addr = Address::parse(ADDR_REPLY).unwrap().unwrap();
    assert_eq!(addr.index, 1);
    assert_eq!(addr.prefix.to_string(), "10.1.2.3/8");
    assert_eq!(addr.label.as_deref(), Some("lo"));
    assert_eq!(addr.scope, Scope::UNIVERSE);
    assert!(addr.flags.contains(crate::AddrFlags::PERMANENT));

    let route = Route::parse(ROUTE_REPLY).unwrap().unwrap();
    assert_eq!(route.dst.to_string(), "10.9.0.0/16");
    assert_eq!(route.gateway, Some(ip("198.18.5.5")));
    assert_eq!(
        (route.oif, route.table, route.priority),
        (Some(1), 100, Some(7))
    );
    assert!(route.onlink);
    assert_ne!(route.table, TABLE_MAIN);

    let link = Link::from_message(LinkMessage::parse(LINK_REPLY).unwrap()).unwrap();
    assert_eq!((link.index, link.name.as_str(), link.mtu), (1, "lo", 65536));
    assert!(link.is_up() && link.has_carrier());
    assert_eq!(
        link.mac.map(|m| m.to_string()).as_deref(),
        Some("00:00:00:00:00:00")
    );
    assert_eq!(link.kind, None);
}

#[test]
fn parses_captured_eexist_with_extended_ack() {
    // The kernel's reply to a duplicate `ip addr add`: the 40-byte request echoed whole.
    let mut reply = vec![96, 0, 0, 0, 2, 0, 0, 2, 1, 0, 0, 0, 0x85, 0x7f, 0, 0];
    reply.extend((-libc::EEXIST).to_ne_bytes());
    reply.extend([40, 0, 0, 0, 20, 0, 5, 6, 1, 0, 0, 0, 0, 0, 0, 0]);
    reply.extend(b"\x02\x08\x00\x00\x01\x00\x00\x00\x08\x00\x02\x00\x0a\x01\x02\x03");
    reply.extend(b"\x08\x00\x01\x00\x0a\x01\x02\x03");
    reply.extend(b"\x23\x00\x01\x00ipv4: Address already assigned\x00\x00");
    let err = parse_error(&Message::new_checked(&reply).unwrap())
        .unwrap()
        .unwrap_err();
    assert_eq!(err.errno.raw(), libc::EEXIST);
    assert_eq!(
        err.message.as_deref(),
        Some("ipv4: Address already assigned")
    );
}

#[test]
fn truncated_replies_are_errors_never_panics() {
    for captured in [ADDR_REPLY, ROUTE_REPLY, LINK_REPLY] {
        for n in 0..captured.len() {
            let cut = &captured[..n];
            let _ = Address::parse(cut);
            let _ = Route::parse(cut);
            let _ = LinkMessage::parse(cut).and_then(Link::from_message);
        }
    }
    // Cuts inside the fixed header or inside an attribute must be reported.
    assert!(Address::parse(&ADDR_REPLY[..7]).is_err());
    assert!(Address::parse(&ADDR_REPLY[..14]).is_err());
    assert!(Route::parse(&ROUTE_REPLY[..11]).is_err());
    assert!(Route::parse(&ROUTE_REPLY[..30]).is_err());
    assert!(LinkMessage::parse(&LINK_REPLY[..15]).is_err());
    assert!(LinkMessage::parse(&LINK_REPLY[..20]).is_err());
    // A link reply with no name is malformed, not a nameless link.
    assert!(Link::from_message(LinkMessage::parse(&LINK_REPLY[..16]).unwrap()).is_err());
}

#[test]
fn wrong_sized_addresses_are_rejected() {
    let mut bad = ROUTE_REPLY.to_vec();
    bad[1] = 40; // dst_len 40 on IPv4
    assert!(Route::parse(&bad).is_err());
    let mut bad = ADDR_REPLY.to_vec();
    bad[0] = 10; // claims IPv6 but carries 4-byte addresses
    assert!(Address::parse(&bad).is_err());
    let mut other = ADDR_REPLY.to_vec();
    other[0] = 7; // AF_BRIDGE: not an IP address, skipped
    assert_eq!(Address::parse(&other), Ok(None));
}

#[test]
fn new_link_builder_sets_mtu_on_both_veth_ends() {
    let spec = NewLink::veth("a", "b").mtu(9000).up();
    match spec.kind {
        crate::link::NewLinkKind::Veth(peer) => {
            assert_eq!(peer.mtu, Some(9000));
        }
        _ => panic!("veth expected"),
    }
    assert_eq!((spec.mtu, spec.up), (Some(9000), true));
}
