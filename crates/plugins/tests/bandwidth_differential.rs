//! bandwidth chained after bridge and ptp, side by side with the reference plugins (v1.1.1),
//! each chain in its own host namespace: the same results (modulo veth names and MACs), the
//! same qdiscs, filters and ifb after ADD, CHECK passing, nothing left after DEL — at every
//! version both speak (0.3.0 to 1.0.0). Either implementation's DEL removes the other's
//! ifb, and both refuse the same bad limits leaving nothing behind.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bandwidth_support;
mod support;

use bandwidth_support::{add, ifbs, normalized, tc_state, Chain};
use serde_json::{json, Value};
use support::{Impl, Sandbox};

const VERSIONS: [&str; 4] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// ADD, CHECK, DEL, DEL again through `imp`'s chain in a fresh sandbox; what was seen.
fn observe(imp: Impl, kind: &str, version: &str, limits: &Value) -> Value {
    let mut sb = Sandbox::new();
    let pod = sb.pod("a");
    let chain = Chain {
        sb: &sb,
        kind,
        pod: &pod,
        id: "ctr-bw",
        version,
        limits,
    };
    let a = chain.add(imp);
    let mut seen = json!({
        "result": normalized(&a.result),
        "tc": tc_state(&sb.host, &a.host_if),
    });
    if version >= "0.4.0" {
        let run = chain.bandwidth(imp, "CHECK", &a.result);
        seen["check"] = json!([run.exit, String::from_utf8_lossy(&run.stdout)]);
    }
    chain.del(imp, imp, &a);
    chain.bandwidth(imp, "DEL", &a.result).ok();
    seen["after_del"] = json!({"ifbs": ifbs(&sb.host), "tc": tc_state(&sb.host, &a.host_if)});
    seen
}

fn compare(kind: &str, limits: Value) {
    for v in VERSIONS {
        let ours = observe(Impl::Twill, kind, v, &limits);
        let theirs = observe(Impl::Reference, kind, v, &limits);
        assert_eq!(
            ours, theirs,
            "{kind} {v} {limits}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
}

#[test]
fn both_directions_after_bridge_match_the_reference_in_every_version() {
    compare(
        "bridge",
        json!({"ingressRate": 8_000_000, "ingressBurst": 80_000,
               "egressRate": 16_000_000, "egressBurst": 160_000}),
    );
}

#[test]
fn the_capability_after_ptp_matches_the_reference_in_every_version() {
    compare(
        "ptp",
        json!({"capabilities": {"bandwidth": true},
               "runtimeConfig": {"bandwidth": {"egressRate": 1_000_000, "egressBurst": 2_000_000}}}),
    );
}

#[test]
fn containerds_spelling_and_ingress_only_match_the_reference() {
    let limits = json!({"runtimeConfig": {"bandwidth": {"IngressRate": 50_000_000, "IngressBurst": 400_000}}});
    let ours = observe(Impl::Twill, "bridge", "1.0.0", &limits);
    let theirs = observe(Impl::Reference, "bridge", "1.0.0", &limits);
    assert_eq!(ours, theirs);
    // Shaped, and no ifb for an ingress-only limit.
    assert_eq!(
        ours["tc"]["host_if"]["qdiscs"][0]["kind"], "tbf",
        "{ours:#}"
    );
    assert_eq!(ours["tc"]["ifbs"], json!([]));
}

#[test]
fn no_limits_pass_the_previous_result_through_like_the_reference() {
    for limits in [json!({}), json!({"ingressRate": 0, "ingressBurst": 0})] {
        let mut ours = observe(Impl::Twill, "bridge", "0.4.0", &limits);
        let mut theirs = observe(Impl::Reference, "bridge", "0.4.0", &limits);
        // The reference's CHECK without any limit key dereferences a nil pointer and dies
        // (Go's exit code 2 for a panic); ours finds nothing to check and succeeds.
        let absent = limits == json!({});
        assert_eq!(ours["check"].take(), json!([0, ""]), "{limits}");
        assert_eq!(
            theirs["check"].take()[0],
            if absent { 2 } else { 0 },
            "{limits}"
        );
        assert_eq!(ours, theirs, "{limits}");
        assert_eq!(ours["tc"]["host_if"]["qdiscs"], json!([]), "{limits}");
    }
}

#[test]
fn each_deletes_the_others_ifb() {
    let limits = json!({"egressRate": 4_000_000, "egressBurst": 100_000});
    for (adder, deleter) in [
        (Impl::Twill, Impl::Reference),
        (Impl::Reference, Impl::Twill),
    ] {
        let mut sb = Sandbox::new();
        let pod = sb.pod("a");
        let a = add(&sb, adder, "bridge", &pod, "ctr-x", "1.0.0", &limits);
        assert_eq!(ifbs(&sb.host).len(), 1);
        // The other's CHECK accepts it too.
        Chain {
            sb: &sb,
            kind: "bridge",
            pod: &pod,
            id: "ctr-x",
            version: "1.0.0",
            limits: &limits,
        }
        .bandwidth(deleter, "CHECK", &a.result)
        .ok();
        Chain {
            sb: &sb,
            kind: "bridge",
            pod: &pod,
            id: "ctr-x",
            version: "1.0.0",
            limits: &limits,
        }
        .bandwidth(deleter, "DEL", &a.result)
        .ok();
        assert_eq!(
            ifbs(&sb.host),
            Vec::<String>::new(),
            "ADD {adder:?}, DEL {deleter:?}"
        );
        Chain {
            sb: &sb,
            kind: "bridge",
            pod: &pod,
            id: "ctr-x",
            version: "1.0.0",
            limits: &limits,
        }
        .del(adder, deleter, &a);
    }
}

#[test]
fn both_refuse_the_same_bad_limits_and_leave_nothing() {
    let cases = [
        json!({"ingressRate": 1000}),
        json!({"egressBurst": 1000}),
        json!({"egressRate": 1000, "egressBurst": 40_000_000_000u64}),
        json!({"ingressRate": "1M", "ingressBurst": 8000}),
        json!({"ingressRate": -5, "ingressBurst": 8000}),
    ];
    for limits in cases {
        for imp in [Impl::Twill, Impl::Reference] {
            let mut sb = Sandbox::new();
            let pod = sb.pod("a");
            let first = bandwidth_support::first(&sb, "bridge", "1.0.0");
            let r1 = sb
                .exec(
                    imp,
                    "bridge",
                    &support::run::Request::new("ADD", "c", &pod.path),
                    &first,
                )
                .ok();
            let run = Chain {
                sb: &sb,
                kind: "bridge",
                pod: &pod,
                id: "c",
                version: "1.0.0",
                limits: &limits,
            }
            .bandwidth(imp, "ADD", &r1);
            let (code, msg) = run.err();
            if imp == Impl::Twill {
                assert!(code == 7 || code == 6, "{limits}: {code} {msg}");
            }
            let host_if = bandwidth_support::host_if(&r1);
            let state = tc_state(&sb.host, &host_if);
            assert_eq!(state["host_if"]["qdiscs"], json!([]), "{imp:?} {limits}");
            assert_eq!(state["ifbs"], json!([]), "{imp:?} {limits}");
        }
    }
}

/// The tbf buckets (host end, then ifb) in what `observe` saw, taken out of it.
fn take_buckets(seen: &mut Value) -> Vec<Value> {
    let take = |qdiscs: &mut Value| -> Vec<Value> {
        qdiscs
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .filter(|q| q["kind"] == "tbf")
            .map(|q| q["params"]["buffer"].take())
            .collect()
    };
    let tc = &mut seen["tc"];
    let mut out = take(&mut tc["host_if"]["qdiscs"]);
    for ifb in tc["ifbs"].as_array_mut().unwrap() {
        out.extend(take(&mut ifb["qdiscs"]));
    }
    out
}

#[test]
fn containerds_burst_is_accepted_as_the_reference_accepts_it() {
    // What containerd sends for the annotations 10M/20M and 1k/1k: the burst always
    // MaxUint32 bits. Where the bucket's time overflows 32 bits the reference's Go
    // conversions wrap (10M: 6 710 886 375 ticks → 2 415 919 079; 1k: the µs and then the
    // ticks → 2 684 229 560) and ours saturate; everything else is the same.
    let cases = [
        (
            10_000_000,
            20_000_000,
            [u32::MAX, 3_355_443_187],
            [2_415_919_079u32, 3_355_443_187],
        ),
        (1_000, 1_000, [u32::MAX; 2], [2_684_229_560; 2]),
    ];
    for (ingress, egress, ours_buckets, theirs_buckets) in cases {
        let limits = json!({"capabilities": {"bandwidth": true},
            "runtimeConfig": {"bandwidth": {"IngressRate": ingress, "IngressBurst": 4_294_967_295u64,
                                            "EgressRate": egress, "EgressBurst": 4_294_967_295u64}}});
        let mut ours = observe(Impl::Twill, "bridge", "1.0.0", &limits);
        let mut theirs = observe(Impl::Reference, "bridge", "1.0.0", &limits);
        assert_eq!(
            take_buckets(&mut ours),
            json!(ours_buckets).as_array().unwrap().clone(),
            "{ours:#}"
        );
        assert_eq!(
            take_buckets(&mut theirs),
            json!(theirs_buckets).as_array().unwrap().clone(),
            "{theirs:#}"
        );
        // Each one's CHECK accepts what it installed.
        assert_eq!(ours["check"], json!([0, ""]), "{ours:#}");
        assert_eq!(ours, theirs, "{ingress} {egress}");
    }
}
