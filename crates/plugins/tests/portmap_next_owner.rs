//! After DEL a host port is closed, and the next owner of the deleted pod's addresses gets
//! no stale traffic: neither new connections nor the UDP flows that kept sending through
//! the DEL (their conntrack entries, DNAT'd to the old pod, would otherwise keep carrying
//! them to whoever holds the address next). IPv4 and IPv6.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use portmap_support::*;
use serde_json::json;
use support::{Ns, Sandbox};

/// A UDP socket bound to `addr:port` inside `ns`.
fn udp(ns: &Ns, addr: &str, port: u16) -> UdpSocket {
    let at = SocketAddr::new(ip(addr), port);
    let s = ns.ns.run(move || UdpSocket::bind(at)).unwrap().unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// Sends `payload` from `sender` to `target` up to `tries` times until `receiver` gets a
/// datagram with that payload; where it came from, or `None`.
fn deliver(
    sender: &UdpSocket,
    target: SocketAddr,
    receiver: &UdpSocket,
    payload: &[u8],
    tries: usize,
) -> Option<SocketAddr> {
    let mut buf = [0u8; 64];
    for _ in 0..tries {
        sender.send_to(payload, target).unwrap();
        while let Ok((n, from)) = receiver.recv_from(&mut buf) {
            if &buf[..n] == payload {
                return Some(SocketAddr::new(from.ip().to_canonical(), from.port()));
            }
        }
    }
    None
}

#[test]
fn after_del_the_next_owner_of_the_address_gets_no_stale_traffic() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let dual = bridge_conf_dual(&sb);
    let (a, ra) = pod_on(&mut sb, "a", &dual);
    let m = json!([{"hostPort": 8080, "containerPort": 80},
                   {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    let srv_a = serve_on(&a, "::", 80, "pod-a", 20);
    let a_udp = udp(&a, "::", 53);

    // One UDP flow per family from the outside through the host port to pod a, and TCP.
    let flows = [
        (udp(&out, "0.0.0.0", 40_000), HOST, OUTSIDE),
        (udp(&out, "::", 40_001), HOST6, OUTSIDE6),
    ];
    for (sender, host, client) in &flows {
        let target = SocketAddr::new(ip(host), 5353);
        let from = deliver(sender, target, &a_udp, b"flow", 30).expect("the flow reaches a");
        let port = sender.local_addr().unwrap().port();
        assert_eq!(from, SocketAddr::new(ip(client), port), "unmasqueraded");
        assert!(fetch(&out, host, 8080).unwrap().starts_with("pod-a "));
    }

    // Pod a goes: portmap DEL, bridge DEL, its namespace deleted.
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    sb.twill("bridge", "DEL", "a", &a.path, &dual).ok();
    drop((a_udp, srv_a));
    sb.delete_pod(a);

    // The next owner: the same addresses, even the same MAC (so the host's neighbour
    // entries still lead to it and nothing but the NAT state decides what it gets).
    let mut next = bridge_conf_static(&sb, &["10.1.0.2/24", "fd00:1::2/64"]);
    next["runtimeConfig"] = json!({"mac": ra["interfaces"][2]["mac"]});
    let (n, rn) = pod_on(&mut sb, "n", &next);
    assert_eq!(rn["interfaces"][2]["mac"], ra["interfaces"][2]["mac"]);
    let _srv_n = serve_on(&n, "::", 80, "pod-n", 20);
    let n_udp = udp(&n, "::", 53);
    // It is reachable: datagrams sent to it straight from the host arrive.
    for (any, addr) in [("0.0.0.0", "10.1.0.2"), ("::", "fd00:1::2")] {
        let probe = udp(&sb.host, any, 0);
        let target = SocketAddr::new(ip(addr), 53);
        let got = deliver(&probe, target, &n_udp, b"direct", 50);
        assert!(got.is_some(), "the next owner is not reachable at {addr}");
    }

    // The old flows keep sending and new connections come: nothing reaches it.
    for (sender, host, _) in &flows {
        let target = SocketAddr::new(ip(host), 5353);
        let stale = deliver(sender, target, &n_udp, b"flow", 10);
        assert_eq!(stale, None, "the UDP flow to {host} reached the next owner");
        let e = fetch_once(&out, host, 8080).unwrap_err();
        assert!(e.contains("refused"), "{host}: {e}");
    }
}
