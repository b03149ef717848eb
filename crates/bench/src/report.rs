//! The figures as a table for people and as JSON for scripts.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::stats::{ends, median_ms};
use crate::sweep::{Figures, Side};

/// The share of pods at each end compared for "empty node" and "full node".
const END_SHARE: f64 = 0.1;

/// One side's summary, in milliseconds and MiB.
struct Summary {
    add: f64,
    add_empty: f64,
    add_full: f64,
    del: f64,
    del_full: f64,
    del_empty: f64,
    floor: f64,
    exec_floor: f64,
    nft_floor: f64,
    rss_mib: f64,
}

fn summarize(side: &Side) -> Summary {
    let (add_first, add_last) = ends(&side.add, END_SHARE);
    // DEL drains in fill order: its first pods go from a full node, its last from a near-empty.
    let (del_first, del_last) = ends(&side.del, END_SHARE);
    #[allow(clippy::cast_precision_loss)] // KiB counts are far below 2^52
    let rss_mib = side.max_rss_kib as f64 / 1024.0;
    Summary {
        add: median_ms(&side.add),
        add_empty: median_ms(add_first),
        add_full: median_ms(add_last),
        del: median_ms(&side.del),
        del_full: median_ms(del_first),
        del_empty: median_ms(del_last),
        floor: median_ms(&side.veth_floor),
        exec_floor: median_ms(&side.exec_floor),
        nft_floor: median_ms(&side.nft_floor),
        rss_mib,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// The table printed at the end of a run.
pub fn table(f: &Figures) -> String {
    let [ours, reference] = &f.sides;
    let (o, r) = (summarize(ours), summarize(reference));
    let pct = (END_SHARE * 100.0).round();
    let rows: [(String, f64, f64, &str); 12] = [
        ("ADD median, all pods".into(), o.add, r.add, "ms"),
        (
            format!("ADD median, first {pct}% (empty node)"),
            o.add_empty,
            r.add_empty,
            "ms",
        ),
        (
            format!("ADD median, last {pct}% (full node)"),
            o.add_full,
            r.add_full,
            "ms",
        ),
        (
            "ADD full / empty".into(),
            ratio(o.add_full, o.add_empty),
            ratio(r.add_full, r.add_empty),
            "x",
        ),
        ("DEL median, all pods".into(), o.del, r.del, "ms"),
        (
            format!("DEL median, first {pct}% (full node)"),
            o.del_full,
            r.del_full,
            "ms",
        ),
        (
            format!("DEL median, last {pct}% (empty node)"),
            o.del_empty,
            r.del_empty,
            "ms",
        ),
        (
            "DEL full / empty".into(),
            ratio(o.del_full, o.del_empty),
            ratio(r.del_full, r.del_empty),
            "x",
        ),
        (
            "exec floor: the chain's plugins answer VERSION".into(),
            o.exec_floor,
            r.exec_floor,
            "ms",
        ),
        (
            "kernel floor: delete one veth pair".into(),
            o.floor,
            r.floor,
            "ms",
        ),
        (
            "kernel floor: delete one nf_tables element".into(),
            o.nft_floor,
            r.nft_floor,
            "ms",
        ),
        (
            "peak RSS of one plugin exec".into(),
            o.rss_mib,
            r.rss_mib,
            "MiB",
        ),
    ];
    let mut out = String::new();
    let _ = writeln!(out, "{} — {} pods per side", f.describe, f.pods);
    let _ = writeln!(
        out,
        "{:<48} {:>10} {:>10} {:>10}",
        "", ours.label, reference.label, "ours/ref"
    );
    for (name, a, b, unit) in rows {
        let _ = writeln!(
            out,
            "{name:<48} {a:>7.2} {unit:<3}{b:>7.2} {unit:<3}{:>9.2}",
            ratio(a, b)
        );
    }
    out
}

/// The figures as JSON, raw samples included, for plots and later comparison.
pub fn json(f: &Figures) -> Value {
    let side = |s: &Side| {
        let m = summarize(s);
        let ms = |v: &[std::time::Duration]| -> Vec<f64> {
            v.iter().map(|d| d.as_secs_f64() * 1e3).collect()
        };
        json!({
            "label": s.label,
            "add_median_ms": m.add, "add_empty_ms": m.add_empty, "add_full_ms": m.add_full,
            "del_median_ms": m.del, "del_full_ms": m.del_full, "del_empty_ms": m.del_empty,
            "veth_delete_floor_ms": m.floor, "exec_floor_ms": m.exec_floor, "nft_delete_floor_ms": m.nft_floor, "peak_rss_mib": m.rss_mib,
            "add_ms": ms(&s.add), "del_ms": ms(&s.del),
        })
    };
    json!({
        "scenario": f.scenario,
        "pods": f.pods,
        "sides": [side(&f.sides[0]), side(&f.sides[1])],
    })
}
