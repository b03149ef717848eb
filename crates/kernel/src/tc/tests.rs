//! Request bytes against what the reference bandwidth plugin (v1.1.1, through Go's netlink
//! library) and iproute2's `tc` sent for the same objects (`strace -e sendto,sendmsg -xx`
//! in a scratch namespace), and parsing of those bytes back. Little-endian hosts only:
//! netlink headers are in host byte order.
#![cfg(target_endian = "little")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::nl::consts::{NLM_F_ACK, NLM_F_REQUEST};
use crate::nl::message::HEADER_LEN;
use crate::nl::{Message, MessageBuilder};

fn tcmsg(ifindex: u32, handle: u32, parent: u32, info: u32) -> Vec<u8> {
    let mut v = vec![0u8; 4];
    for x in [ifindex, handle, parent, info] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

fn payload(msg_type: u16, flags: u16, emit: impl FnOnce(&mut MessageBuilder)) -> Vec<u8> {
    let mut b = MessageBuilder::new(msg_type, flags);
    emit(&mut b);
    let bytes = b
        .with_flags(NLM_F_REQUEST | NLM_F_ACK)
        .finish(1, 0)
        .unwrap();
    bytes[HEADER_LEN..].to_vec()
}

/// The reference's `tbf` on the host veth for ingressRate 8 Mbit/s, ingressBurst 80 kbit:
/// 1e6 bytes/s, buffer 10 ms = 156250 ticks, limit 25 ms of rate + burst = 35000 bytes.
#[test]
fn tbf_request_matches_the_reference_plugin_byte_for_byte() {
    let tbf = Tbf {
        rate: 1_000_000,
        buffer: 156_250,
        limit: 35_000,
    };
    let got = payload(RTM_NEWQDISC, 0, |b| {
        Qdisc::root_tbf(2, handle(1, 0), tbf).emit(b)
    });
    let mut want = tcmsg(2, 0x1_0000, 0xFFFF_FFFF, 0);
    want.extend_from_slice(b"\x08\x00\x01\x00tbf\x00");
    want.extend_from_slice(
        b"\x2c\x00\x02\x00\x28\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40\x42\x0f\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xb8\x88\x00\x00\x5a\x62\x02\x00\x00\x00\x00\x00",
    );
    assert_eq!(got, want);
    assert_eq!(Qdisc::parse(&got).unwrap().kind, QdiscKind::Tbf(tbf));
}

#[test]
fn a_rate_beyond_32_bits_travels_as_rate64() {
    let tbf = Tbf {
        rate: 5_000_000_000,
        buffer: 1,
        limit: 2,
    };
    let got = payload(RTM_NEWQDISC, 0, |b| {
        Qdisc::root_tbf(2, handle(1, 0), tbf).emit(b)
    });
    let q = Qdisc::parse(&got).unwrap();
    assert_eq!(q.kind, QdiscKind::Tbf(tbf));
    // The 32-bit field says "look at rate64", as iproute2 writes it.
    assert_eq!(
        &got[20 + 8 + 8 + 8..20 + 8 + 8 + 12],
        &u32::MAX.to_le_bytes()
    );
}

#[test]
fn ingress_request_matches_the_reference_plugin() {
    let got = payload(RTM_NEWQDISC, 0, |b| Qdisc::ingress(2).emit(b));
    let mut want = tcmsg(2, 0xFFFF_0000, 0xFFFF_FFF1, 0);
    want.extend_from_slice(b"\x0c\x00\x01\x00ingress\x00\x04\x00\x02\x00");
    assert_eq!(got, want);
    let q = Qdisc::parse(&got).unwrap();
    assert_eq!(q, Qdisc::ingress(2));
}

/// The reference's filter, with the second (unreachable) mirred action it adds left out:
/// selector, class 1:1, one egress redirect to index 3 that steals the packet.
#[test]
fn match_all_redirect_filter_matches_the_reference_plugin_with_one_action() {
    let f = Filter::u32_match_all(
        2,
        INGRESS_HANDLE,
        1,
        ETH_P_ALL,
        Some(handle(1, 1)),
        vec![Action::Mirred(Mirred::egress_redirect(3))],
    );
    let got = payload(RTM_NEWTFILTER, 0, |b| f.emit(b));
    let mut want = tcmsg(2, 0, 0xFFFF_0000, 66304);
    want.extend_from_slice(b"\x08\x00\x01\x00u32\x00");
    want.extend_from_slice(
        b"\x68\x00\x02\x00\
\x24\x00\x05\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x08\x00\x01\x00\x01\x00\x01\x00\
\x38\x00\x07\x00\x34\x00\x01\x00\x0b\x00\x01\x00mirred\x00\x00\x24\x00\x02\x00\x20\x00\x02\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\
\x03\x00\x00\x00",
    );
    assert_eq!(got, want);
    let back = Filter::parse(&got).unwrap();
    assert_eq!(back, f);
}

/// iproute2 orders the attributes differently and flags the action options nested; the
/// parser reads its request as the same filter.
#[test]
fn iproute2s_filter_request_parses_as_the_same_filter() {
    let mut tc = tcmsg(2, 0, 0xFFFF_0000, 66304);
    tc.extend_from_slice(b"\x08\x00\x01\x00u32\x00");
    tc.extend_from_slice(
        b"\x68\x00\x02\x00\x08\x00\x01\x00\x01\x00\x01\x00\x38\x00\x07\x00\x34\x00\x01\x00\
\x0b\x00\x01\x00\x6d\x69\x72\x72\x65\x64\x00\x00\x24\x00\x02\x80\x20\x00\x02\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00\
\x24\x00\x05\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    );
    let want = Filter::u32_match_all(
        2,
        INGRESS_HANDLE,
        1,
        ETH_P_ALL,
        Some(handle(1, 1)),
        vec![Action::Mirred(Mirred::egress_redirect(3))],
    );
    assert_eq!(Filter::parse(&tc).unwrap(), want);
}

/// The reference creates its ifb up, with the host veth's MTU, an explicit (zero) queue
/// length and kind "ifb"; ours has the same layout (with a real queue length where the
/// plugin asks for one), except that the kind string carries its NUL, as iproute2 sends it.
#[test]
fn ifb_request_has_the_reference_layout() {
    let spec = NewIfb {
        name: "bwp13229d9cfd25",
        mtu: Some(1500),
        txqlen: Some(0),
        up: true,
        alias: None,
    };
    let got = payload(crate::nl::consts::RTM_NEWLINK, 0, |b| spec.emit(b));
    let want: &[u8] = b"\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\
\x14\x00\x03\x00bwp13229d9cfd25\x00\x08\x00\x04\x00\xdc\x05\x00\x00\x08\x00\x0d\x00\x00\x00\x00\x00\
\x0c\x00\x12\x00\x08\x00\x01\x00ifb\x00";
    assert_eq!(got, want);
}

#[test]
fn handles_read_as_tc_writes_them() {
    assert_eq!(show_handle(handle(1, 0)), "1:");
    assert_eq!(show_handle(HANDLE_INGRESS), "ffff:fff1");
    assert_eq!(show_handle(HANDLE_ROOT), "root");
    assert_eq!(show_handle(handle(1, 1)), "1:1");
}

#[test]
fn tick_conversion_is_the_kernels() {
    assert_eq!(tbf::usec_to_ticks(10_000), 156_250);
    assert_eq!(tbf::usec_to_ticks(u32::MAX), u32::MAX);
}

/// Every prefix of a valid message and random bytes give an error or a value, never a
/// panic.
#[test]
fn parsers_survive_truncation_and_garbage() {
    let f = Filter::u32_match_all(
        2,
        INGRESS_HANDLE,
        1,
        ETH_P_ALL,
        Some(1),
        vec![Action::Mirred(Mirred::egress_redirect(3))],
    );
    let filter = payload(RTM_NEWTFILTER, 0, |b| f.emit(b));
    let tbf = Tbf {
        rate: 1,
        buffer: 2,
        limit: 3,
    };
    let qdisc = payload(RTM_NEWQDISC, 0, |b| Qdisc::root_tbf(1, 1, tbf).emit(b));
    for bytes in [&filter, &qdisc] {
        for n in 0..bytes.len() {
            let _ = Filter::parse(&bytes[..n]);
            let _ = Qdisc::parse(&bytes[..n]);
        }
    }
    let mut x: u32 = 0x1234_5678;
    for _ in 0..2000 {
        let mut buf = vec![0u8; 64];
        for b in &mut buf {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        let _ = Filter::parse(&buf);
        let _ = Qdisc::parse(&buf);
    }
    let _ = Message::new_checked(&filter);
}
