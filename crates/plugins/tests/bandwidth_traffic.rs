//! The shaping works: TCP through a bridge between two pods, measured with iperf3, runs at
//! the configured rate (within ±10 %) in each direction of the shaped pod. Rates are a few
//! tens of Mbit/s, far below what a loaded 2-core machine moves, so the limit — not the
//! machine — sets the figure; each run lasts 4 s with the first second (slow start, the
//! bucket's initial burst) left out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bandwidth_support;
mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use bandwidth_support::add;
use serde_json::{json, Value};
use support::{Impl, Ns, Sandbox};
use twill_test_support::child::command_in;

/// An iperf3 server started by this test, killed (by its own pid) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(ns: &Ns, addr: &str) -> Server {
    let child = command_in(&ns.ns, "iperf3")
        .args(["-s", "-1", "-B", addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run iperf3 ({e}): run scripts/setup.sh (as root)"));
    Server(child)
}

/// Receiver-side throughput in bit/s of a 4 s TCP run from `client` to `addr` (or back
/// with `reverse`), the first second omitted.
fn measure(client: &Ns, server_ns: &Ns, addr: &str, reverse: bool) -> f64 {
    let _server = server(server_ns, addr);
    for _ in 0..50 {
        let mut cmd = command_in(&client.ns, "iperf3");
        cmd.args(["-c", addr, "-t", "4", "-O", "1", "-J"]);
        if reverse {
            cmd.arg("-R");
        }
        let out = cmd.output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if let Some(bps) = v["end"]["sum_received"]["bits_per_second"].as_f64() {
            return bps;
        }
        // The server is not listening yet.
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("iperf3 never connected to {addr}");
}

fn within(measured: f64, rate: f64) -> bool {
    (measured - rate).abs() <= rate * 0.10
}

#[test]
fn measured_throughput_is_the_configured_rate_each_way() {
    let mut sb = Sandbox::new();
    let (shaped, other) = (sb.pod("shaped"), sb.pod("other"));
    let (ingress, egress) = (20_000_000.0, 10_000_000.0);
    let limits = json!({"ingressRate": 20_000_000, "ingressBurst": 400_000,
                        "egressRate": 10_000_000, "egressBurst": 200_000});
    add(
        &sb,
        Impl::Twill,
        "bridge",
        &shaped,
        "shaped",
        "1.0.0",
        &limits,
    );
    let b = add(
        &sb,
        Impl::Twill,
        "bridge",
        &other,
        "other",
        "1.0.0",
        &json!({}),
    );
    let addr = b.result["ips"][0]["address"].as_str().unwrap();
    let addr = addr.split('/').next().unwrap().to_owned();

    // Shaped pod → other: its egress, through the ifb.
    let up = measure(&shaped, &other, &addr, false);
    // Other → shaped pod: its ingress, the host end's tbf.
    let down = measure(&shaped, &other, &addr, true);
    eprintln!("measured: egress {up:.0} bit/s (limit {egress}), ingress {down:.0} bit/s (limit {ingress})");
    assert!(
        within(up, egress),
        "egress: {up:.0} bit/s for a limit of {egress}"
    );
    assert!(
        within(down, ingress),
        "ingress: {down:.0} bit/s for a limit of {ingress}"
    );
}
