//! portmap's SCTP mappings judged by packets, IPv4 and IPv6. This kernel has no SCTP
//! sockets, but tracks and translates SCTP: a crafted INIT sent with a raw socket from the
//! outside namespace (and from the host itself) to the host port must arrive, seen by a raw
//! socket in the pod, at the pod's address and container port with its checksum fixed up;
//! after DEL the same INIT no longer arrives. An association attempted from the same port
//! before the mapping existed does not keep the mapping from applying.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use portmap_support::sctp::{crc32c, init_packet, parse_init, Arrival, RawSctp};
use portmap_support::*;
use serde_json::json;
use support::Sandbox;

#[test]
fn the_crafted_init_carries_a_valid_crc32c() {
    // The check value of CRC-32C (Castagnoli) over the ASCII digits.
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    let p = init_packet(40_132, 9132, 7);
    assert_eq!(p.len(), 32, "common header and one INIT chunk");
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let seen = parse_init(&p, lo, lo, 7).unwrap();
    assert!(seen.checksum_ok);
    assert_eq!((seen.src_port, seen.dst_port), (40_132, 9132));
    let mut bad = p.clone();
    bad[31] ^= 1;
    assert!(!parse_init(&bad, lo, lo, 7).unwrap().checksum_ok);
    assert!(parse_init(&p, lo, lo, 8).is_none(), "another test's INIT");
}

/// Sends INITs tagged `tag` from `sender` to `host:port` until `rx` sees one (the first
/// packets may wait for neighbour resolution), for a few seconds at most.
fn arrives(sender: &RawSctp, rx: &RawSctp, host: IpAddr, src_port: u16, tag: u32) -> Arrival {
    for _ in 0..20 {
        sender.send_init(host, src_port, 9132, tag);
        if let Some(seen) = rx.expect_init(tag, Duration::from_millis(200)) {
            return seen;
        }
    }
    panic!("no INIT {tag} from port {src_port} to {host}:9132 reached the pod");
}

fn sctp_host_port_by_packets(v6: bool) {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let dual = bridge_conf_dual(&sb);
    let (a, ra) = pod_on(&mut sb, "a", &dual);
    let (host, pod_addr, client) = if v6 {
        (ip(HOST6), ip("fd00:1::2"), ip(OUTSIDE6))
    } else {
        (ip(HOST), ip("10.1.0.2"), ip(OUTSIDE))
    };
    let rx = RawSctp::open(&a, v6);
    let sender = RawSctp::open(&out, v6);
    // Another mapping first: its nat chains switch connection tracking on in the host, as
    // it is on any real host.
    let tcp = json!([{"hostPort": 8080, "containerPort": 80}]);
    let other = portmap_conf(&sb, &ra, tcp, json!({}));
    sb.twill("portmap", "ADD", "other", &a.path, &other).ok();

    // An association attempt before the mapping exists: tracked, untranslated, dropped.
    for _ in 0..3 {
        sender.send_init(host, 40_132, 9132, 1);
    }
    assert!(rx.expect_init(1, Duration::from_millis(300)).is_none());

    let m = json!([{"hostPort": 9132, "containerPort": 7132, "protocol": "sctp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    // The same source port again: translated now, not stuck to the old entry.
    let want = Arrival {
        src: client,
        dst: pod_addr,
        src_port: 40_132,
        dst_port: 7132,
        checksum_ok: true,
    };
    assert_eq!(arrives(&sender, &rx, host, 40_132, 2), want);
    // The host itself, through its own address (output chain): not masqueraded.
    let from_host = RawSctp::open(&sb.host, v6);
    let seen = arrives(&from_host, &rx, host, 40_133, 3);
    assert_eq!((seen.src, seen.dst, seen.dst_port), (host, pod_addr, 7132));
    assert!(seen.checksum_ok);
    sb.twill("portmap", "CHECK", "a", &a.path, &c).ok();

    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    let family = if v6 { "ip6" } else { "ip" };
    assert_eq!(elements(&sb.host.path, family, "hostports").len(), 1);
    // The same association (same ports) right after DEL: not delivered.
    for tag in [4, 5, 6] {
        sender.send_init(host, 40_132, 9132, tag);
        let stale = rx.expect_init(tag, Duration::from_millis(300));
        assert!(stale.is_none(), "after DEL: {stale:?}");
    }
    for tag in [7, 8] {
        from_host.send_init(host, 40_133, 9132, tag);
        assert!(rx.expect_init(tag, Duration::from_millis(300)).is_none());
    }
}

#[test]
fn sctp_host_port_ipv4_by_packets() {
    sctp_host_port_by_packets(false);
}

#[test]
fn sctp_host_port_ipv6_by_packets() {
    sctp_host_port_by_packets(true);
}
