//! Exact request bytes for neighbours, FDB entries and vxlan links, compared with what
//! iproute2 sends (`strace -xx` of `ip neigh add`, `bridge fdb append` and `ip link add …
//! type vxlan` in a scratch namespace), and parsing of the kernel's replies, cut at every
//! length and replaced by noise. Little-endian hosts only: netlink headers are host order.
#![cfg(target_endian = "little")]

use std::net::IpAddr;

use crate::link::ops::set_kind;
use crate::link::{LinkMessage, NewLink, VxlanInfo, VxlanSpec};
use crate::neigh::{NeighFamily, Neighbour, NTF_SELF, NUD_NOARP, NUD_PERMANENT};
use crate::nl::consts::*;
use crate::nl::message::HEADER_LEN;
use crate::nl::tests::noise;
use crate::MacAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

/// Finishes a request the way the socket does (`NLM_F_REQUEST | NLM_F_ACK`).
fn finish(b: crate::nl::MessageBuilder) -> Vec<u8> {
    b.with_flags(NLM_F_REQUEST | NLM_F_ACK)
        .finish(1, 0)
        .unwrap()
}

#[test]
fn neighbour_add_matches_ip_neigh_byte_for_byte() {
    // `ip neigh add 10.244.1.0 lladdr 02:00:00:00:00:01 dev vx0 nud permanent` (vx0 = 4).
    #[rustfmt::skip]
    let captured: &[u8] = &[
        2, 0, 0, 0,  4, 0, 0, 0,  0x80, 0, 0, 0,        // ndmsg: inet, index 4, permanent
        8, 0, 1, 0,  10, 244, 1, 0,                     // NDA_DST
        10, 0, 2, 0,  2, 0, 0, 0, 0, 1, 0, 0,           // NDA_LLADDR
    ];
    let neigh = Neighbour::arp(4, ip("10.244.1.0"), MAC);
    let req = neigh
        .request("add neighbour", RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL)
        .unwrap();
    let bytes = finish(req);
    assert_eq!(&bytes[HEADER_LEN..], captured);
    // Length 48, RTM_NEWNEIGH, REQUEST|ACK|EXCL|CREATE.
    assert_eq!(&bytes[..8], &[48, 0, 0, 0, 28, 0, 0x05, 0x06]);
}

#[test]
fn fdb_append_matches_bridge_fdb_byte_for_byte() {
    // `bridge fdb append 02:00:00:00:00:01 dev vx0 dst 198.18.0.2 self permanent`.
    #[rustfmt::skip]
    let captured: &[u8] = &[
        7, 0, 0, 0,  4, 0, 0, 0,  0xc0, 0, 2, 0,        // ndmsg: bridge, noarp|permanent, self
        10, 0, 2, 0,  2, 0, 0, 0, 0, 1, 0, 0,           // NDA_LLADDR
        8, 0, 1, 0,  198, 18, 0, 2,                     // NDA_DST
    ];
    let fdb = Neighbour::fdb(4, MAC, ip("198.18.0.2"));
    let req = fdb
        .request(
            "append neighbour",
            RTM_NEWNEIGH,
            NLM_F_CREATE | NLM_F_APPEND,
        )
        .unwrap();
    let bytes = finish(req);
    assert_eq!(&bytes[HEADER_LEN..], captured);
    // REQUEST|ACK|CREATE|APPEND.
    assert_eq!(&bytes[..8], &[48, 0, 0, 0, 28, 0, 0x05, 0x0c]);
}

#[test]
fn neighbour_requests_the_kernel_would_refuse_are_refused_first() {
    let mut no_ip = Neighbour::arp(4, ip("10.0.0.1"), MAC);
    no_ip.dst = None;
    let mut mixed = Neighbour::arp(4, ip("10.0.0.1"), MAC);
    mixed.family = NeighFamily::Inet6;
    let mut no_mac = Neighbour::fdb(4, MAC, ip("198.18.0.2"));
    no_mac.lladdr = None;
    for bad in [no_ip, mixed, no_mac] {
        let e = bad.request("add neighbour", RTM_NEWNEIGH, 0).unwrap_err();
        assert!(e.to_string().starts_with("add neighbour "), "{e}");
        assert_eq!(e.errno(), None);
    }
    // A bridge entry without a remote is fine (a bridge's own FDB).
    let mut local = Neighbour::fdb(4, MAC, ip("198.18.0.2"));
    local.dst = None;
    assert!(local.request("add neighbour", RTM_NEWNEIGH, 0).is_ok());
}

#[test]
fn neighbours_name_themselves_in_errors() {
    let arp = Neighbour::arp(4, ip("2001:db8::1"), MAC);
    assert_eq!(arp.family, NeighFamily::Inet6);
    assert_eq!(
        arp.to_string(),
        "2001:db8::1 lladdr 02:00:00:00:00:01 dev index 4"
    );
    let fdb = Neighbour::fdb(4, MAC, ip("198.18.0.2"));
    assert_eq!(
        fdb.to_string(),
        "fdb 02:00:00:00:00:01 dst 198.18.0.2 dev index 4"
    );
}

/// `ip neigh show dev vx0`'s reply (the message payload): 10.244.1.0 → 02:00:00:00:00:01,
/// permanent, with `NDA_PROBES` and `NDA_CACHEINFO`.
#[rustfmt::skip]
const NEIGH_REPLY: &[u8] = &[
    2, 0, 0, 0,  4, 0, 0, 0,  0x80, 0, 0, 3,
    8, 0, 1, 0,  10, 244, 1, 0,
    10, 0, 2, 0,  2, 0, 0, 0, 0, 1, 0, 0,
    8, 0, 4, 0,  0, 0, 0, 0,
    20, 0, 3, 0,  12, 0, 0, 0,  12, 0, 0, 0,  12, 0, 0, 0,  0, 0, 0, 0,
];

/// `bridge fdb show dev vx0`'s reply: 02:00:00:00:00:01 dst 198.18.0.2 self permanent.
#[rustfmt::skip]
const FDB_REPLY: &[u8] = &[
    7, 0, 0, 0,  4, 0, 0, 0,  0xc0, 0, 2, 1,
    10, 0, 2, 0,  2, 0, 0, 0, 0, 1, 0, 0,
    8, 0, 1, 0,  198, 18, 0, 2,
    20, 0, 3, 0,  0, 0, 0, 0,  6, 0, 0, 0,  6, 0, 0, 0,  0, 0, 0, 0,
];

#[test]
fn parses_neighbour_and_fdb_replies() {
    let n = Neighbour::parse(NEIGH_REPLY).unwrap().unwrap();
    assert_eq!(n, Neighbour::arp(4, ip("10.244.1.0"), MAC));
    assert!(n.has_state(NUD_PERMANENT));
    let f = Neighbour::parse(FDB_REPLY).unwrap().unwrap();
    assert_eq!(f, Neighbour::fdb(4, MAC, ip("198.18.0.2")));
    assert!(f.has_state(NUD_NOARP | NUD_PERMANENT) && f.flags & NTF_SELF != 0);

    // Other families are skipped, not errors; odd-sized link-layer addresses are dropped.
    let mut mpls = NEIGH_REPLY.to_vec();
    mpls[0] = 28;
    assert_eq!(Neighbour::parse(&mpls), Ok(None));
    let mut tunnel = NEIGH_REPLY[..20].to_vec();
    tunnel.extend([8, 0, 2, 0, 198, 18, 0, 9]); // NDA_LLADDR of an IPIP tunnel: 4 bytes
    let t = Neighbour::parse(&tunnel).unwrap().unwrap();
    assert_eq!((t.lladdr, t.dst), (None, Some(ip("10.244.1.0"))));
    // An IPv6 table entry with an IPv4 address is malformed.
    let mut mixed = NEIGH_REPLY.to_vec();
    mixed[0] = 10;
    assert!(Neighbour::parse(&mixed).is_err());
}

/// `ip link add vx0 type vxlan id 1 local 198.18.0.1 dstport 8472 nolearning dev va` (va =
/// index 3): the whole payload after the netlink header. (*) One deliberate difference:
/// iproute2 sends the kind without its NUL (length 9); the crate terminates every string
/// attribute, which the kernel's `NLA_STRING` policy accepts either way.
#[rustfmt::skip]
const VXLAN_REQUEST: &[u8] = &[
    0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,      // ifinfomsg
    8, 0, 3, 0,  b'v', b'x', b'0', 0,                       // IFLA_IFNAME
    60, 0, 18, 0,                                           // IFLA_LINKINFO
      10, 0, 1, 0,  b'v', b'x', b'l', b'a', b'n', 0, 0, 0,  //   IFLA_INFO_KIND (*)
      44, 0, 2, 0,                                          //   IFLA_INFO_DATA
        8, 0, 3, 0,  3, 0, 0, 0,                            //     LINK
        8, 0, 1, 0,  1, 0, 0, 0,                            //     ID
        8, 0, 4, 0,  198, 18, 0, 1,                         //     LOCAL
        5, 0, 7, 0,  0, 0, 0, 0,                            //     LEARNING 0
        6, 0, 15, 0,  0x21, 0x18, 0, 0,                     //     PORT 8472, big endian
];

fn vxlan_request(spec: VxlanSpec) -> Vec<u8> {
    let link = NewLink::vxlan("vx0", spec);
    let mut msg = LinkMessage {
        name: Some(link.name.to_owned()),
        ..LinkMessage::default()
    };
    set_kind(&mut msg, &link.kind).unwrap();
    let mut b = crate::nl::MessageBuilder::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    msg.emit(&mut b);
    finish(b)
}

fn flannel_spec() -> VxlanSpec {
    VxlanSpec {
        local: Some(ip("198.18.0.1")),
        dev: Some(3),
        learning: false,
        ..VxlanSpec::new(1, 8472)
    }
}

#[test]
fn vxlan_create_matches_ip_link_byte_for_byte() {
    let bytes = vxlan_request(flannel_spec());
    assert_eq!(&bytes[HEADER_LEN..], VXLAN_REQUEST);
    assert_eq!(&bytes[..8], &[100, 0, 0, 0, 16, 0, 0x05, 0x06]);
}

#[test]
fn vxlan_options_match_ip_link_byte_for_byte() {
    // `… type vxlan id 7 local 198.18.0.1 dstport 4789 learning dev va ttl 64 udpcsum gbp`:
    // the IFLA_INFO_DATA payload.
    #[rustfmt::skip]
    let captured: &[u8] = &[
        8, 0, 3, 0, 3, 0, 0, 0,  5, 0, 5, 0, 64, 0, 0, 0,  5, 0, 18, 0, 1, 0, 0, 0,
        4, 0, 23, 0,  8, 0, 1, 0, 7, 0, 0, 0,  8, 0, 4, 0, 198, 18, 0, 1,
        5, 0, 7, 0, 1, 0, 0, 0,  6, 0, 15, 0, 0x12, 0xb5, 0, 0,
    ];
    let spec = VxlanSpec {
        local: Some(ip("198.18.0.1")),
        dev: Some(3),
        gbp: true,
        udp_csum: Some(true),
        ttl: Some(64),
        ..VxlanSpec::new(7, 4789)
    };
    let bytes = vxlan_request(spec);
    // Header, IFLA_IFNAME, IFLA_LINKINFO header, IFLA_INFO_KIND, IFLA_INFO_DATA header.
    let data = HEADER_LEN + 16 + 8 + 4 + 12 + 4;
    assert_eq!(&bytes[data..], captured);

    // `… type vxlan id 9 local 2001:db8::1 dstport 8472 nolearning`: LOCAL6, no LINK.
    #[rustfmt::skip]
    let captured6: &[u8] = &[
        8, 0, 1, 0, 9, 0, 0, 0,
        20, 0, 17, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        5, 0, 7, 0, 0, 0, 0, 0,  6, 0, 15, 0, 0x21, 0x18, 0, 0,
    ];
    let spec = VxlanSpec {
        local: Some(ip("2001:db8::1")),
        learning: false,
        ..VxlanSpec::new(9, 8472)
    };
    assert_eq!(&vxlan_request(spec)[data..], captured6);
}

#[test]
fn vni_over_24_bits_is_refused() {
    let link = NewLink::vxlan("vx0", VxlanSpec::new(1 << 24, 8472));
    let mut msg = LinkMessage::default();
    let why = set_kind(&mut msg, &link.kind).unwrap_err();
    assert!(why.contains("16777216"), "{why}");
}

/// `ip -d link show vx0`'s `IFLA_INFO_DATA` for the device of the options test above (vni 7,
/// dev 3, local 198.18.0.1, ttl 64, learning, port 4789, udpcsum, gbp), with every member a
/// 6.18 kernel reports.
#[rustfmt::skip]
const VXLAN_INFO_DATA: &[u8] = b"\x08\x00\x01\x00\x07\x00\x00\x00\x08\x00\x03\x00\x03\x00\x00\x00\
\x08\x00\x04\x00\xc6\x12\x00\x01\x05\x00\x05\x00\x40\x00\x00\x00\x05\x00\x1c\x00\x00\x00\x00\x00\
\x05\x00\x06\x00\x00\x00\x00\x00\x05\x00\x1d\x00\x00\x00\x00\x00\x08\x00\x1a\x00\x00\x00\x00\x00\
\x08\x00\x20\x00\x00\x00\x00\x00\x05\x00\x07\x00\x01\x00\x00\x00\x05\x00\x0b\x00\x00\x00\x00\x00\
\x05\x00\x0c\x00\x00\x00\x00\x00\x05\x00\x0d\x00\x00\x00\x00\x00\x05\x00\x0e\x00\x00\x00\x00\x00\
\x05\x00\x19\x00\x00\x00\x00\x00\x08\x00\x08\x00\x2c\x01\x00\x00\x08\x00\x09\x00\x00\x00\x00\x00\
\x06\x00\x0f\x00\x12\xb5\x00\x00\x05\x00\x12\x00\x01\x00\x00\x00\x05\x00\x13\x00\x00\x00\x00\x00\
\x05\x00\x14\x00\x00\x00\x00\x00\x05\x00\x15\x00\x00\x00\x00\x00\x05\x00\x16\x00\x00\x00\x00\x00\
\x05\x00\x1f\x00\x01\x00\x00\x00\x08\x00\x0a\x00\x00\x00\x00\x00\x04\x00\x17\x00\x0c\x00\x21\x00\
\x77\x00\x00\x00\x00\x00\x00\xff";

/// A link reply around [`VXLAN_INFO_DATA`], the kind first (as the kernel puts it) or last.
fn vxlan_link_reply(kind_first: bool) -> Vec<u8> {
    let mut b = crate::nl::MessageBuilder::new(RTM_NEWLINK, 0);
    b.push_bytes(&[0, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.attr_str(IFLA_IFNAME, "vx0");
    let info = b.nest_start(IFLA_LINKINFO);
    if kind_first {
        b.attr_str(IFLA_INFO_KIND, "vxlan");
    }
    b.attr(IFLA_INFO_DATA, VXLAN_INFO_DATA);
    if !kind_first {
        b.attr_str(IFLA_INFO_KIND, "vxlan");
    }
    b.nest_end(info);
    b.finish(1, 0).unwrap()[HEADER_LEN..].to_vec()
}

#[test]
fn parses_vxlan_info_from_a_link_reply() {
    let want = VxlanInfo {
        vni: 7,
        local: Some(ip("198.18.0.1")),
        port: 4789,
        dev: Some(3),
        learning: true,
        gbp: true,
        udp_csum: true,
        ttl: 64,
    };
    for kind_first in [true, false] {
        let msg = LinkMessage::parse(&vxlan_link_reply(kind_first)).unwrap();
        assert_eq!(msg.kind.as_deref(), Some("vxlan"));
        assert_eq!(msg.vxlan_info, Some(want));
    }
    // What it was created from matches; any difference that matters does not.
    let spec = VxlanSpec {
        local: Some(ip("198.18.0.1")),
        dev: Some(3),
        gbp: true,
        ..VxlanSpec::new(7, 4789)
    };
    assert!(want.matches(&spec));
    assert!(want.matches(&VxlanSpec { dev: None, ..spec }));
    assert!(want.matches(&VxlanSpec {
        ttl: Some(64),
        ..spec
    }));
    for other in [
        VxlanSpec { vni: 8, ..spec },
        VxlanSpec { port: 8472, ..spec },
        VxlanSpec {
            learning: false,
            ..spec
        },
        VxlanSpec {
            local: None,
            ..spec
        },
        VxlanSpec {
            dev: Some(4),
            ..spec
        },
        VxlanSpec { gbp: false, ..spec },
        VxlanSpec {
            udp_csum: Some(false),
            ..spec
        },
    ] {
        assert!(!want.matches(&other), "{other:?}");
    }
    // Data without a VNI is malformed; a link of another kind has no vxlan info.
    assert!(VxlanInfo::parse(&VXLAN_INFO_DATA[8..]).is_err());
    let mut bridge = vxlan_link_reply(true);
    let at = bridge.windows(5).position(|w| w == b"vxlan").unwrap();
    bridge[at..at + 5].copy_from_slice(b"vxlaN");
    assert_eq!(LinkMessage::parse(&bridge).unwrap().vxlan_info, None);
}

#[test]
fn truncated_or_random_replies_are_errors_never_panics() {
    let link = vxlan_link_reply(true);
    for captured in [NEIGH_REPLY, FDB_REPLY, VXLAN_INFO_DATA, &link] {
        for n in 0..captured.len() {
            let cut = &captured[..n];
            let _ = Neighbour::parse(cut);
            let _ = VxlanInfo::parse(cut);
            let _ = LinkMessage::parse(cut);
        }
    }
    assert!(Neighbour::parse(&NEIGH_REPLY[..11]).is_err());
    assert!(Neighbour::parse(&NEIGH_REPLY[..18]).is_err());
    assert!(Neighbour::parse(&FDB_REPLY[..20]).is_err());
    assert!(VxlanInfo::parse(&VXLAN_INFO_DATA[..6]).is_err());
    assert!(LinkMessage::parse(&link[..link.len() - 3]).is_err());

    let mut seed = 7;
    for i in 0..2000 {
        let mut input = noise(&mut seed, i % 120);
        let _ = VxlanInfo::parse(&input);
        let _ = LinkMessage::parse(&input);
        // Give the noise a header the parsers accept, so the attribute walk runs too.
        if let Some(first) = input.first_mut() {
            *first = [2, 10, 7][i % 3];
        }
        let _ = Neighbour::parse(&input);
    }
}
