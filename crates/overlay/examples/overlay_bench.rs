//! The overlay's benchmark: pod-to-pod TCP throughput (iperf3, one stream and four) and ping
//! latency across two hosts over twill's vxlan, host-gw and udp backends, over flannel's vxlan device
//! built by hand in the same namespaces between the same pods, and over the underlay itself;
//! then convergence (a new node's lease → every other node routing it) and the agents'
//! memory and idle CPU at many hosts against one etcd. Everything in one run, side by side.
//!
//! `cargo run --release -p twill-overlay --example overlay_bench -- [--hosts 50] [--joins 10]
//! [--seconds 5] [--rounds 3]` as root, after `cargo build --release --workspace` (it runs the workspace's
//! `twilld`, `twill` and `twill-cni` from the same target directory). `make bench-overlay`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use twill_test_support::cluster::{Cluster, Pod, PREFIX};
use twill_test_support::multihost::Node;

const VXLAN: &str = r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#;
const UDP: &str = r#"{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}"#;
const HOST_GW: &str = r#"{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}"#;

struct Args {
    hosts: u8,
    joins: u8,
    seconds: u32,
    rounds: u32,
}

fn args() -> Args {
    let mut a = Args {
        hosts: 50,
        joins: 10,
        seconds: 5,
        rounds: 3,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let n = pair.get(1).map(|s| s.parse().unwrap()).unwrap_or(0);
        match pair[0].as_str() {
            "--hosts" => a.hosts = u8::try_from(n).unwrap(),
            "--joins" => a.joins = u8::try_from(n).unwrap(),
            "--seconds" => a.seconds = n,
            "--rounds" => a.rounds = n.max(1),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(a.joins < a.hosts, "--joins must be below --hosts");
    a
}

/// One path's figures.
struct Path {
    name: &'static str,
    one: f64,
    four: f64,
    p50: f64,
    p99: f64,
}

fn iperf(client: &Node, server: &Node, addr: &str, streams: u32, seconds: u32) -> f64 {
    let mut srv: Child = server
        .command("iperf3")
        .args(["-s", "-1", "-B", addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = client
        .command("iperf3")
        .args([
            "-c",
            addr,
            "-J",
            "-t",
            &seconds.to_string(),
            "-P",
            &streams.to_string(),
        ])
        .output()
        .unwrap();
    let _ = srv.kill();
    let _ = srv.wait();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("iperf3: {}", String::from_utf8_lossy(&out.stderr)));
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap()
        / 1e9
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ping(client: &Node, addr: &str) -> (f64, f64) {
    let out = client
        .command("ping")
        .args(["-c", "200", "-i", "0.01", addr])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut times: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!times.is_empty(), "ping {addr}: {text}");
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn measure(name: &'static str, client: &Node, server: &Node, addr: &str, s: u32) -> Path {
    assert!(client.ping(addr, 10), "{name}: {addr} unreachable");
    let one = iperf(client, server, addr, 1, s);
    let four = iperf(client, server, addr, 4, s);
    let (p50, p99) = ping(client, addr);
    Path {
        name,
        one,
        four,
        p50,
        p99,
    }
}

/// flannel's vxlan backend's device and per-peer entries, made by hand with iproute2 as
/// flanneld makes them, replacing twill's device between the same pods.
fn flannel_by_hand(c: &Cluster) {
    let subnets: Vec<String> = (0..2).map(|i| c.subnet(i)).collect();
    let macs = ["02:f1:00:00:00:01", "02:f1:00:00:00:02"];
    for i in 0..2 {
        let h = &c.hosts[i].node;
        h.run("ip", &["link", "del", "twill.1"]);
        let local = format!("198.18.0.{}", i + 1);
        h.run(
            "ip",
            &[
                "link",
                "add",
                "flannel.1",
                "address",
                macs[i],
                "type",
                "vxlan",
                "id",
                "1",
                "local",
                &local,
                "dev",
                "eth0",
                "dstport",
                "8472",
                "nolearning",
            ],
        );
        h.run("ip", &["link", "set", "flannel.1", "mtu", "1450", "up"]);
        let own0 = subnets[i].split('/').next().unwrap().to_owned();
        h.run(
            "ip",
            &["addr", "add", &format!("{own0}/32"), "dev", "flannel.1"],
        );
        let j = 1 - i;
        let peer0 = subnets[j].split('/').next().unwrap().to_owned();
        let peer_ip = format!("198.18.0.{}", j + 1);
        h.run(
            "ip",
            &[
                "neigh",
                "replace",
                &peer0,
                "lladdr",
                macs[j],
                "dev",
                "flannel.1",
                "nud",
                "permanent",
            ],
        );
        h.run(
            "bridge",
            &[
                "fdb",
                "append",
                macs[j],
                "dev",
                "flannel.1",
                "dst",
                &peer_ip,
                "self",
                "permanent",
            ],
        );
        h.run(
            "ip",
            &[
                "route",
                "replace",
                &subnets[j],
                "via",
                &peer0,
                "dev",
                "flannel.1",
                "onlink",
            ],
        );
    }
}

fn pods(c: &mut Cluster) -> (Pod, Pod) {
    (c.pod(0, "a"), c.pod(1, "b"))
}

/// The median of each figure over the rounds.
fn median_path(name: &'static str, runs: &[Path]) -> Path {
    let med = |f: fn(&Path) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, 0.5)
    };
    Path {
        name,
        one: med(|p| p.one),
        four: med(|p| p.four),
        p50: med(|p| p.p50),
        p99: med(|p| p.p99),
    }
}

/// Removes flannel's hand-made device again, so the agents rebuild twill's.
fn unflannel(c: &Cluster) {
    for i in 0..2 {
        c.hosts[i].node.run("ip", &["link", "del", "flannel.1"]);
    }
}

fn throughput(a: &Args) -> Vec<Path> {
    // The machine is shared and noisy: the paths take turns, round after round, between the
    // same two pods, and each figure is the median of its rounds.
    let (mut under, mut twill, mut flannel, mut udp) = (vec![], vec![], vec![], vec![]);
    let (mut hostgw, mut floor) = (vec![], vec![]);
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let (pa, pb) = pods(&mut c);
    let b = pb.ip.to_string();
    for round in 0..a.rounds {
        if round > 0 {
            unflannel(&c);
            for i in 0..2 {
                c.start_agent(i, &[]);
            }
            assert!(pa.node.ping(&b, 20), "twill's data plane did not come back");
        }
        under.push(measure(
            "underlay",
            &c.hosts[0].node,
            &c.hosts[1].node,
            "198.18.0.2",
            a.seconds,
        ));
        twill.push(measure("twill vxlan", &pa.node, &pb.node, &b, a.seconds));
        // The encapsulation's own floor: host to host through the same vxlan devices (each
        // holds its subnet's first address), no pod, bridge or forwarding on either end.
        let vtep1 = c.subnet(1).split('/').next().unwrap_or_default().to_owned();
        floor.push(measure(
            "vxlan host to host",
            &c.hosts[0].node,
            &c.hosts[1].node,
            &vtep1,
            a.seconds,
        ));
        // The same pods without encapsulation: the agents switch the backend live.
        let peer = c.subnet(1);
        c.etcd.put(&format!("{PREFIX}/config"), HOST_GW);
        c.wait_route(0, &format!("{peer} via 198.18.0.2 dev eth0"), true, 30);
        hostgw.push(measure("twill host-gw", &pa.node, &pb.node, &b, a.seconds));
        c.etcd.put(&format!("{PREFIX}/config"), VXLAN);
        let vtep = peer.split('/').next().unwrap_or_default().to_owned();
        c.wait_route(0, &format!("{peer} via {vtep} dev twill.1"), true, 30);
        for i in 0..2 {
            c.stop_agent(i, libc::SIGKILL);
        }
        flannel_by_hand(&c);
        flannel.push(measure("flannel", &pa.node, &pb.node, &b, a.seconds));
    }
    drop((pa, pb));
    drop(c);
    let mut c = Cluster::new(2, UDP);
    c.start_all(&[]);
    let (pa, pb) = pods(&mut c);
    let b = pb.ip.to_string();
    for _ in 0..a.rounds {
        udp.push(measure("twill udp", &pa.node, &pb.node, &b, a.seconds));
    }
    vec![
        median_path("underlay (veth, MTU 1500)", &under),
        median_path("twill vxlan", &twill),
        median_path("vxlan device, host to host", &floor),
        median_path("twill host-gw (no encapsulation)", &hostgw),
        median_path("flannel's vxlan device (by hand)", &flannel),
        median_path("twill udp", &udp),
    ]
}

fn ts_of(line: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix("ts="))
        .and_then(|t| t.parse().ok())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<u64> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    f[11] + f[12]
}

struct Scale {
    convergence_ms: Vec<f64>,
    rss_kib: Vec<u64>,
    idle_cpu_percent: f64,
}

fn scale(a: &Args) -> Scale {
    let mut c = Cluster::new(a.hosts, VXLAN);
    let first = usize::from(a.hosts - a.joins);
    for i in 0..first {
        c.start_agent(i, &[]);
    }
    for i in 0..first {
        c.wait_subnet_env(i);
    }
    let mut convergence = Vec::new();
    for j in first..usize::from(a.hosts) {
        // Let the previous join settle, then remember where each log stands.
        std::thread::sleep(Duration::from_millis(500));
        let marks: Vec<usize> = (0..j).map(|i| c.log(i).len()).collect();
        c.start_agent(j, &[]);
        let sub = c.subnet(j);
        let lease_ts = c
            .log(j)
            .lines()
            .filter(|l| l.contains("lease acquired"))
            .filter_map(ts_of)
            .next_back()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut pending: Vec<usize> = (0..j).collect();
        while !pending.is_empty() {
            pending.retain(|&i| {
                let log = c.log(i);
                let fresh = &log[marks[i].min(log.len())..];
                match fresh
                    .lines()
                    .filter(|l| l.contains("msg=reconciled"))
                    .find_map(ts_of)
                {
                    Some(t) => {
                        convergence.push((t - lease_ts) * 1000.0);
                        false
                    }
                    None => true,
                }
            });
            assert!(
                Instant::now() < deadline,
                "hosts {pending:?} never routed {sub}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        c.wait_route(0, &sub, true, 5);
    }
    let pids: Vec<u32> = c.agents.iter().map(|a| a.as_ref().unwrap().id()).collect();
    let rss: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let before: u64 = pids.iter().map(|p| cpu_ticks(*p)).sum();
    let idle = Duration::from_secs(10);
    std::thread::sleep(idle);
    let after: u64 = pids.iter().map(|p| cpu_ticks(*p)).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let per_agent = (after - before) as f64 / hz / idle.as_secs_f64() / pids.len() as f64;
    Scale {
        convergence_ms: convergence,
        rss_kib: rss,
        idle_cpu_percent: per_agent * 100.0,
    }
}

fn main() {
    let a = args();
    let started = Instant::now();
    let paths = throughput(&a);
    let s = scale(&a);
    print_report(&a, &paths, s, started.elapsed());
}

fn print_report(a: &Args, paths: &[Path], mut s: Scale, took: Duration) {
    let under = paths[0].one;
    let vx = paths[1].one;
    println!(
        "pod-to-pod TCP across two hosts, iperf3 {} s per figure, median of {} interleaved \
         rounds, MTU 1500 underlay",
        a.seconds, a.rounds
    );
    println!(
        "{:<34} {:>10} {:>10} {:>9} {:>9} {:>10} {:>10}",
        "path", "1 stream", "4 streams", "/underlay", "/vxlan", "ping p50", "ping p99"
    );
    for p in paths {
        println!(
            "{:<34} {:>6.2} Gb/s {:>6.2} Gb/s {:>9.2} {:>9.2} {:>7.3} ms {:>7.3} ms",
            p.name,
            p.one,
            p.four,
            p.one / under,
            p.one / vx,
            p.p50,
            p.p99
        );
    }
    s.convergence_ms.sort_by(f64::total_cmp);
    s.rss_kib.sort_unstable();
    let c = &s.convergence_ms;
    println!(
        "convergence at {} hosts ({} joins, {} samples): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        a.hosts,
        a.joins,
        c.len(),
        percentile(c, 0.5),
        percentile(c, 0.99),
        c.last().copied().unwrap_or(0.0)
    );
    let r = &s.rss_kib;
    println!(
        "twilld RSS at {} hosts: median {:.1} MiB, max {:.1} MiB; idle CPU {:.3} % per agent",
        a.hosts,
        r[r.len() / 2] as f64 / 1024.0,
        r[r.len() - 1] as f64 / 1024.0,
        s.idle_cpu_percent
    );
    println!("run took {:.0} s", took.as_secs_f64());
}
