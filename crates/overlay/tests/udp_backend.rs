//! The udp backend between two "nodes": network namespaces on an underlay bridge
//! (198.18.0.1/24 and 198.18.0.2/24), each running a `UdpBackend` with its own subnet of
//! 10.244.0.0/16. Pings, a TCP stream and stray datagrams go across; the counters and the
//! device's lifetime are checked. The machine's own namespace is never touched. The tests
//! need root: without it they fail, they do not skip.

// clippy.toml lets `#[test]` functions unwrap; the helpers they share are test code too,
// where a panic is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use twill_kernel::{Address, IpPrefix, NetNs, Netlink};
use twill_overlay::backend::udp::{Offloads, UdpBackend, UdpConfig, UdpError, UdpStats};
use twill_test_support::multihost::World;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().unwrap()
}

/// The test's world (test-support's hosts on an underlay bridge); dropping it deletes every
/// namespace, also during a panic.
struct Sandbox(Option<World>);

impl Sandbox {
    fn new() -> Self {
        Sandbox(None)
    }
}

/// One node: its namespace, a netlink socket in it, its addresses.
struct Node {
    ns: NetNs,
    nl: Netlink,
    /// 198.18.0.n
    underlay: IpAddr,
    /// 10.244.n.0/24
    subnet: IpPrefix,
}

impl Node {
    /// The backend's config for this node.
    fn config(&self) -> UdpConfig {
        UdpConfig {
            tun_name: "twill0".into(),
            mtu: 0,
            own: vec![self.subnet],
            networks: vec![prefix("10.244.0.0/16")],
            bind: self.underlay,
            port: 8285,
        }
    }

    /// Starts a backend inside the node's namespace (the TUN device is created there).
    fn start(&self, cfg: UdpConfig) -> Result<UdpBackend, UdpError> {
        self.ns.run(move || UdpBackend::start(cfg)).unwrap()
    }

    /// A command run inside the node's namespace.
    fn command(&self, program: &str) -> Command {
        twill_test_support::child::command_in(&self.ns, program)
    }

    /// The pod-side address: the subnet's first address, which the TUN device holds.
    fn pod(&self) -> IpAddr {
        self.subnet.addr()
    }
}

/// Two nodes on the underlay (198.18.0.1/24 and .2/24 on `eth0`), no backend yet.
fn two_nodes(sb: &mut Sandbox) -> (Node, Node) {
    let (world, hosts) = World::new(2);
    sb.0 = Some(world);
    let mut nodes = hosts.into_iter().map(|h| Node {
        ns: h.node.ns,
        nl: h.node.nl,
        underlay: h.addr,
        subnet: prefix(&format!("10.244.{}.0/24", h.n)),
    });
    let (a, b) = (nodes.next().unwrap(), nodes.next().unwrap());
    (a, b)
}

/// Two nodes with running backends that know each other.
fn two_running(sb: &mut Sandbox) -> (Node, UdpBackend, Node, UdpBackend) {
    let (a, b) = two_nodes(sb);
    let ua = a.start(a.config()).unwrap();
    let ub = b.start(b.config()).unwrap();
    ua.set_peers(vec![(b.subnet, b.underlay)]);
    ub.set_peers(vec![(a.subnet, a.underlay)]);
    (a, ua, b, ub)
}

/// Polls `stats` until `done` holds (the threads count once per batch, after sending).
fn wait_stats(u: &UdpBackend, what: &str, done: impl Fn(&UdpStats) -> bool) -> UdpStats {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = u.stats();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: {s:#?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ping(from: &Node, to: IpAddr) -> std::process::Output {
    from.command("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "2"])
        .arg(to.to_string())
        .output()
        .unwrap()
}

#[test]
fn ping_crosses_between_the_nodes_and_is_counted() {
    let mut sb = Sandbox::new();
    let (a, ua, b, ub) = two_running(&mut sb);

    let out = ping(&a, b.pod());
    assert!(
        out.status.success(),
        "ping {} from {}: {}{}",
        b.pod(),
        a.pod(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Three echo requests out of A and into B, three replies back.
    let sa = wait_stats(&ua, "A sent 3, received 3", |s| {
        s.tx_packets >= 3 && s.rx_packets >= 3
    });
    let sb_ = wait_stats(&ub, "B received 3, sent 3", |s| {
        s.rx_packets >= 3 && s.tx_packets >= 3
    });
    // An ICMP echo of ping's default 56 bytes is an 84-byte IP packet.
    assert!(sa.tx_bytes >= 3 * 84, "{sa:#?}");
    assert!(sb_.rx_bytes >= 3 * 84, "{sb_:#?}");
    assert_eq!(sb_.drops.unknown_source + sb_.drops.not_ours, 0, "{sb_:#?}");

    // The device as flannel makes it: the subnet's first address with the network's
    // length, MTU = underlay (1500) − 28, up.
    let mut nl = a.ns.netlink().unwrap();
    let link = nl.link_get("twill0".into()).unwrap();
    assert_eq!(link.mtu, 1472);
    assert!(link.is_up());
    let addrs = nl.addr_list(None, Some(link.index)).unwrap();
    assert!(
        addrs.iter().any(|x| x.prefix == prefix("10.244.1.0/16")),
        "{addrs:?}"
    );
    drop((ua, ub));
}

/// Streams `len` bytes from A's pod address to an echo server on B's and back, and
/// returns what came back and what was sent, as FNV-1a hashes and lengths.
fn echo(a: &Node, b: &Node, port: u16, len: usize) -> ((usize, u64), (usize, u64)) {
    echo_to(a, b, SocketAddr::new(b.pod(), port), len)
}

/// [`echo`] to `listen`, one of B's addresses.
fn echo_to(a: &Node, b: &Node, listen: SocketAddr, len: usize) -> ((usize, u64), (usize, u64)) {
    let listener =
        b.ns.run(move || TcpListener::bind(listen))
            .unwrap()
            .unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 17];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).unwrap();
        }
    });
    let stream =
        a.ns.run(move || TcpStream::connect_timeout(&listen, Duration::from_secs(5)))
            .unwrap()
            .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let send = std::thread::spawn(move || {
        let mut hash = Fnv::default();
        let mut chunk = vec![0u8; 1 << 16];
        let mut sent = 0usize;
        while sent < len {
            let n = chunk.len().min(len - sent);
            for (i, b) in chunk[..n].iter_mut().enumerate() {
                let x = (sent + i) as u32;
                *b = (x.wrapping_mul(2_654_435_761) >> 13) as u8;
            }
            hash.update(&chunk[..n]);
            writer.write_all(&chunk[..n]).unwrap();
            sent += n;
        }
        writer.shutdown(std::net::Shutdown::Write).unwrap();
        (sent, hash.0)
    });
    let mut hash = Fnv::default();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 17];
    loop {
        let n = (&stream).read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        got += n;
    }
    let sent = send.join().unwrap();
    echo.join().unwrap();
    ((got, hash.0), sent)
}

/// FNV-1a, 64 bits: a checksum of a stream that sees order as well as content.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[test]
fn a_tcp_stream_of_a_megabyte_is_echoed_intact() {
    let mut sb = Sandbox::new();
    let (a, ua, b, ub) = two_running(&mut sb);
    let (back, sent) = echo(&a, &b, 7000, 1 << 20);
    assert_eq!(back, sent, "the echoed bytes differ");

    // A megabyte each way in ≤ 1432-byte segments: hundreds of packets each way.
    let s = wait_stats(&ua, "A carried the stream", |s| {
        s.tx_bytes > 1 << 20 && s.rx_bytes > 1 << 20
    });
    assert!(s.tx_packets > 700, "{s:#?}");
    wait_stats(&ub, "B carried the stream", |s| {
        s.tx_bytes > 1 << 20 && s.rx_bytes > 1 << 20
    });
}

#[test]
fn a_tcp_stream_of_64_megabytes_is_echoed_intact_with_offloads() {
    let mut sb = Sandbox::new();
    let (a, ua, b, ub) = two_running(&mut sb);
    // This kernel has TUN offloads: the test is about the segmenting and merging paths.
    let tso = Offloads::CSUM.with(Offloads::TSO4).with(Offloads::TSO6);
    assert!(ua.offloads().contains(tso), "{:?}", ua.offloads());
    let (back, sent) = echo(&a, &b, 7001, 64 << 20);
    assert_eq!(back, sent, "the echoed stream differs");
    let (sa, sb_) = (ua.stats(), ub.stats());
    // Nothing malformed either way, no write refused (no_peer may count the kernel's own
    // multicast into the device).
    for d in [sa.drops, sb_.drops] {
        let bad = d.tun_malformed + d.send_failed + d.udp_malformed + d.write_failed;
        assert_eq!(bad, 0, "{sa:#?} {sb_:#?}");
    }
    // Every wire packet fits the TUN MTU: 64 MiB in at least 1432-byte pieces.
    assert!(sa.tx_packets >= (64 << 20) / 1432, "{sa:#?}");
}

#[test]
fn without_offloads_the_stream_still_crosses() {
    let mut sb = Sandbox::new();
    let (a, b) = two_nodes(&mut sb);
    // A: no vnet headers at all; B: checksum offload only, no segmentation.
    let ca = a.config();
    let ua =
        a.ns.run(move || UdpBackend::start_with_offloads(ca, 1, Offloads::NONE))
            .unwrap()
            .unwrap();
    let cb = b.config();
    let ub =
        b.ns.run(move || UdpBackend::start_with_offloads(cb, 1, Offloads::CSUM))
            .unwrap()
            .unwrap();
    assert_eq!(ua.offloads(), Offloads::NONE);
    assert_eq!(ub.offloads(), Offloads::CSUM);
    ua.set_peers(vec![(b.subnet, b.underlay)]);
    ub.set_peers(vec![(a.subnet, a.underlay)]);
    let (back, sent) = echo(&a, &b, 7002, 4 << 20);
    assert_eq!(back, sent, "the echoed stream differs");
    assert!(ping(&b, a.pod()).status.success());
}

#[test]
fn packets_for_a_subnet_without_a_peer_are_dropped_and_counted() {
    let mut sb = Sandbox::new();
    let (a, ua, _b, _ub) = two_running(&mut sb);
    let before = ua.stats();
    // 10.244.9.0/24 is inside the network (so routed to the device) but nobody's.
    let sock =
        a.ns.run(|| UdpSocket::bind("10.244.1.0:0"))
            .unwrap()
            .unwrap();
    for _ in 0..3 {
        sock.send_to(b"to nobody", "10.244.9.1:9").unwrap();
    }
    let s = wait_stats(&ua, "3 packets without a peer dropped", |s| {
        s.drops.no_peer >= before.drops.no_peer + 3
    });
    assert_eq!(s.tx_packets, before.tx_packets, "{s:#?}");

    // A peer learnt later is used from then on.
    let c = IpPrefix::new(ip("10.244.9.0"), 24).unwrap();
    ua.set_peers(vec![
        (c, ip("198.18.0.2")),
        (prefix("10.244.2.0/24"), ip("198.18.0.2")),
    ]);
    sock.send_to(b"to c", "10.244.9.1:9").unwrap();
    wait_stats(&ua, "sent once a peer exists", |s| {
        s.tx_packets > before.tx_packets
    });
}

/// A datagram carrying an IPv4/UDP packet from `src` to `dst`.
fn inner_packet(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0u8; 28 + 4];
    p[0] = 0x45;
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p[20..22].copy_from_slice(&1234u16.to_be_bytes());
    p[22..24].copy_from_slice(&9u16.to_be_bytes());
    p[24..26].copy_from_slice(&12u16.to_be_bytes());
    p[28..].copy_from_slice(b"ping");
    // The receiving kernel checks the IPv4 header checksum (not UDP's: zero is "none").
    let sum = p[..20]
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p
}

#[test]
fn strangers_relays_and_garbage_are_refused() {
    let mut sb = Sandbox::new();
    let (mut a, _ua, b, ub) = two_running(&mut sb);
    let to_b = SocketAddr::new(b.underlay, 8285);
    // A second underlay address on A that is no peer's.
    let ul = a.nl.link_index("eth0").unwrap();
    a.nl.addr_add(&Address::new(ul, prefix("198.18.0.3/24")))
        .unwrap();
    let stranger =
        a.ns.run(|| UdpSocket::bind("198.18.0.3:0"))
            .unwrap()
            .unwrap();
    // From the peer's address, though not from the backend's own socket.
    let peer =
        a.ns.run(|| UdpSocket::bind("198.18.0.1:0"))
            .unwrap()
            .unwrap();

    // A well-formed packet for B's subnet from a stranger: spoofing, dropped.
    stranger
        .send_to(&inner_packet([10, 244, 1, 5], [10, 244, 2, 0]), to_b)
        .unwrap();
    // From the peer, for someone else's subnet or the outside world: no relaying.
    peer.send_to(&inner_packet([10, 244, 1, 5], [10, 244, 3, 1]), to_b)
        .unwrap();
    peer.send_to(&inner_packet([10, 244, 1, 5], [8, 8, 8, 8]), to_b)
        .unwrap();
    // From the peer, but not an IP packet.
    peer.send_to(b"\x00garbage", to_b).unwrap();
    peer.send_to(&inner_packet([10, 244, 1, 5], [10, 244, 2, 0])[..12], to_b)
        .unwrap();

    let s = wait_stats(&ub, "all five refused", |s| s.drops.total() >= 5);
    assert_eq!(s.drops.unknown_source, 1, "{s:#?}");
    assert_eq!(s.drops.not_ours, 2, "{s:#?}");
    assert_eq!(s.drops.udp_malformed, 2, "{s:#?}");
    assert_eq!(s.rx_packets, 0, "{s:#?}");

    // The same packet from the peer's address is delivered.
    let listener =
        b.ns.run(|| UdpSocket::bind("10.244.2.0:9"))
            .unwrap()
            .unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    peer.send_to(&inner_packet([10, 244, 1, 5], [10, 244, 2, 0]), to_b)
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = listener.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(from, "10.244.1.5:1234".parse::<SocketAddr>().unwrap());
    wait_stats(&ub, "one delivered", |s| s.rx_packets == 1);
}

#[test]
fn dual_stack_carries_ipv6_pod_traffic_over_the_ipv4_underlay() {
    let mut sb = Sandbox::new();
    let (a, b) = two_nodes(&mut sb);
    let v6 = |n: u8| prefix(&format!("fd00:244:0:{n}::/64"));
    let cfg = |node: &Node, n: u8| UdpConfig {
        own: vec![node.subnet, v6(n)],
        networks: vec![prefix("10.244.0.0/16"), prefix("fd00:244::/48")],
        ..node.config()
    };
    let ua = a.start(cfg(&a, 1)).unwrap();
    let ub = b.start(cfg(&b, 2)).unwrap();
    ua.set_peers(vec![(b.subnet, b.underlay), (v6(2), b.underlay)]);
    ub.set_peers(vec![(a.subnet, a.underlay), (v6(1), a.underlay)]);

    let out = ping(&a, ip("fd00:244:0:2::"));
    assert!(
        out.status.success(),
        "ping fd00:244:0:2:: : {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // IPv4 keeps working beside it.
    assert!(ping(&a, b.pod()).status.success());
    wait_stats(&ub, "B received both families", |s| s.rx_packets >= 6);
    // A TCP stream over IPv6: TSO6 super-packets cut and merged again.
    let listen = SocketAddr::new(ip("fd00:244:0:2::"), 7003);
    let (back, sent) = echo_to(&a, &b, listen, 8 << 20);
    assert_eq!(back, sent, "the echoed IPv6 stream differs");
}

#[test]
fn two_lanes_share_the_port_and_carry_traffic() {
    let mut sb = Sandbox::new();
    let (mut a, b) = two_nodes(&mut sb);
    let (ca, cb) = (a.config(), b.config());
    let ua =
        a.ns.run(move || UdpBackend::start_with_lanes(ca, 2))
            .unwrap()
            .unwrap();
    let ub =
        b.ns.run(move || UdpBackend::start_with_lanes(cb, 2))
            .unwrap()
            .unwrap();
    ua.set_peers(vec![(b.subnet, b.underlay)]);
    ub.set_peers(vec![(a.subnet, a.underlay)]);
    let out = ping(&a, b.pod());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    wait_stats(&ub, "B answered", |s| {
        s.rx_packets >= 3 && s.tx_packets >= 3
    });
    drop(ua);
    assert!(a.nl.link_get("twill0".into()).unwrap_err().is_not_found());
}

#[test]
fn stop_removes_the_device_promptly_and_frees_the_port() {
    let mut sb = Sandbox::new();
    let (mut a, ua, _b, _ub) = two_running(&mut sb);
    a.nl.link_get("twill0".into()).unwrap();
    let t = Instant::now();
    ua.stop();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let e = a.nl.link_get("twill0".into()).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    // The port and the name are free again: a new backend starts, and dropping it
    // removes the device just as stop() does.
    let again = a.start(a.config()).unwrap();
    a.nl.link_get("twill0".into()).unwrap();
    drop(again);
    assert!(a.nl.link_get("twill0".into()).unwrap_err().is_not_found());
}

#[test]
fn start_failures_name_the_object_and_leave_nothing_behind() {
    let mut sb = Sandbox::new();
    let (mut a, _b) = two_nodes(&mut sb);
    let running = a.start(a.config()).unwrap();

    // The port is taken by the running backend.
    let e = a
        .start(UdpConfig {
            tun_name: "twill1".into(),
            ..a.config()
        })
        .unwrap_err();
    assert!(e.to_string().contains("198.18.0.1:8285"), "{e}");
    assert!(a.nl.link_get("twill1".into()).unwrap_err().is_not_found());

    // The device name is taken.
    let e = a
        .start(UdpConfig {
            port: 8286,
            ..a.config()
        })
        .unwrap_err();
    assert!(e.to_string().contains("\"twill0\""), "{e}");

    // A subnet outside every network.
    let e = a
        .start(UdpConfig {
            tun_name: "twill2".into(),
            port: 8287,
            own: vec![prefix("10.99.1.0/24")],
            ..a.config()
        })
        .unwrap_err();
    assert!(e.to_string().contains("10.99.1.0/24"), "{e}");
    assert!(a.nl.link_get("twill2".into()).unwrap_err().is_not_found());

    // No MTU, and the bind address is on no interface.
    let e = a
        .start(UdpConfig {
            tun_name: "twill3".into(),
            bind: ip("198.18.0.77"),
            ..a.config()
        })
        .unwrap_err();
    assert!(e.to_string().contains("198.18.0.77"), "{e}");
    assert!(a.nl.link_get("twill3".into()).unwrap_err().is_not_found());
    drop(running);
}

/// Reads iperf3's JSON summary: received bits per second.
fn iperf_mbits(out: &std::process::Output) -> f64 {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "iperf3 output ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or_else(|| panic!("no throughput in {v}"))
        / 1e6
}

/// Runs iperf3 for `secs` from `client` to `server_addr` (served in `server`).
fn iperf(client: &Node, server: &Node, server_addr: IpAddr, secs: u32) -> f64 {
    let mut srv: Child = server
        .command("iperf3")
        .args(["-s", "-1", "-B"])
        .arg(server_addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the server to listen.
    let deadline = Instant::now() + Duration::from_secs(5);
    let target = SocketAddr::new(server_addr, 5201);
    while client
        .ns
        .run(move || TcpStream::connect_timeout(&target, Duration::from_millis(200)))
        .unwrap()
        .is_err()
    {
        assert!(Instant::now() < deadline, "iperf3 server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // That probe connection counted as the one-off server's client on some versions;
    // give it a moment and restart if it exited.
    std::thread::sleep(Duration::from_millis(200));
    if srv.try_wait().unwrap().is_some() {
        srv = server
            .command("iperf3")
            .args(["-s", "-1", "-B"])
            .arg(server_addr.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = client
        .command("iperf3")
        .args(["-J", "-t"])
        .arg(secs.to_string())
        .arg("-c")
        .arg(server_addr.to_string())
        .output()
        .unwrap();
    let _ = srv.kill();
    let _ = srv.wait();
    iperf_mbits(&out)
}

/// Not a pass/fail test: prints single-stream TCP throughput across the udp backend and
/// across the plain veth underlay in the same run. Run it with
/// `cargo test -p twill-overlay --test udp_backend -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, ~12 s"]
fn throughput_udp_backend_vs_veth() {
    let mut sb = Sandbox::new();
    let (a, ua, b, ub) = two_running(&mut sb);
    let veth = iperf(&a, &b, b.underlay, 5);
    let udp = iperf(&a, &b, b.pod(), 5);
    let s = ua.stats();
    eprintln!(
        "iperf3 TCP, 1 stream, 5 s: veth underlay {veth:.0} Mbit/s; udp backend {udp:.0} Mbit/s ({:.0}% of the underlay), TUN offloads {:?}",
        100.0 * udp / veth,
        ua.offloads()
    );
    eprintln!(
        "sender's backend: {s:?}\nreceiver's backend: {:?}",
        ub.stats()
    );
    drop((ua, ub));
    // The same without TUN offloads (UDP GSO/GRO only), for comparison.
    let (ca, cb) = (a.config(), b.config());
    let ua =
        a.ns.run(move || UdpBackend::start_with_offloads(ca, 1, Offloads::NONE))
            .unwrap()
            .unwrap();
    let ub =
        b.ns.run(move || UdpBackend::start_with_offloads(cb, 1, Offloads::NONE))
            .unwrap()
            .unwrap();
    ua.set_peers(vec![(b.subnet, b.underlay)]);
    ub.set_peers(vec![(a.subnet, a.underlay)]);
    let plain = iperf(&a, &b, b.pod(), 5);
    eprintln!("udp backend without TUN offloads: {plain:.0} Mbit/s");
}
