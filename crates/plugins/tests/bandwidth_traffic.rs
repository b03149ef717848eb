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

use bandwidth_support::add;
use serde_json::json;
use support::{Impl, Sandbox};
use twill_test_support::iperf::{measure, within};

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
