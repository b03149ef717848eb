//! The parallel scenario: a node filled with N pods by P runtimes at once, then drained the
//! same way — as a node starting or evicting a burst of pods sees it. Each implementation gets
//! its own node; twill fills, then the reference, then twill drains, then the reference.
//! Pod namespaces are made before the clock starts and removed after the run, as in the
//! sequential sweep.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twill_cni::config::NetConfList;

use crate::chain::{Attachment, Chain};
use crate::node::Node;
use crate::stats::median_ms;
use crate::sweep::{check_reference, container_id, twill_dir, Scratch, SweepError};
use crate::Options;

/// What one implementation measured.
#[derive(Debug, Default)]
pub struct Side {
    /// "twill" or "reference".
    pub label: &'static str,
    /// Wall time to fill the node.
    pub fill: Duration,
    /// Wall time to drain it.
    pub drain: Duration,
    /// Each ADD chain's own time, under the load of the others.
    pub add: Vec<Duration>,
    /// Each DEL chain's own time, under the load of the others.
    pub del: Vec<Duration>,
}

/// A whole parallel run.
#[derive(Debug)]
pub struct Figures {
    /// The scenario's description.
    pub describe: &'static str,
    /// The scenario's name.
    pub scenario: &'static str,
    /// Pods per side.
    pub pods: usize,
    /// Chains running at once.
    pub parallel: usize,
    /// twill, then the reference.
    pub sides: [Side; 2],
}

/// One side: its node with every pod's namespace made, and a chain per runtime (each with
/// its own launcher scratch file).
struct Bench {
    side: Side,
    node: Node,
    chains: Vec<Chain>,
    results: Mutex<Vec<Value>>,
    errors: Mutex<Vec<String>>,
}

fn bench(
    label: &'static str,
    opts: &Options,
    parallel: usize,
    bin: &Path,
    scratch: &Path,
) -> Result<Bench, SweepError> {
    let conflist = opts
        .scenario
        .conflist(&scratch.join(format!("{label}-ipam")));
    let list = NetConfList::from_value(&conflist)
        .map_err(|e| SweepError::Setup(format!("scenario configuration: {e}")))?;
    let dir = PathBuf::from(format!("/run/twill-bench-{}", std::process::id()));
    let mut node = Node::create(dir, label)?;
    for i in 0..opts.pods {
        node.add_pod(i)?;
    }
    let chains = (0..parallel)
        .map(|t| {
            let metrics = scratch.join(format!("{label}-metrics-{t}"));
            Chain::new(list.clone(), bin.to_path_buf(), metrics)
        })
        .collect();
    Ok(Bench {
        side: Side {
            label,
            ..Side::default()
        },
        node,
        chains,
        results: Mutex::new(vec![Value::Null; opts.pods]),
        errors: Mutex::new(Vec::new()),
    })
}

#[derive(Clone, Copy)]
enum Phase {
    Fill,
    Drain,
}

/// Runs every pod's ADD or DEL, the chains taking pods in turn; returns the wall time and
/// each operation's own time. Failures are collected, not fatal: a drain must still run.
fn phase(b: &Bench, opts: &Options, phase: Phase) -> (Duration, Vec<Duration>) {
    let next = AtomicUsize::new(0);
    let times = Mutex::new(Vec::with_capacity(opts.pods));
    let start = Instant::now();
    std::thread::scope(|scope| {
        for chain in &b.chains {
            let (next, times) = (&next, &times);
            scope.spawn(move || {
                let work = || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= opts.pods {
                        break;
                    }
                    if let Err(e) = one(b, opts, chain, phase, i, times) {
                        if let Ok(mut errors) = b.errors.lock() {
                            errors.push(format!("{}, pod {i}: {e}", b.side.label));
                        }
                    }
                };
                if let Err(e) = b.node.host().run(work) {
                    if let Ok(mut errors) = b.errors.lock() {
                        errors.push(e.to_string());
                    }
                }
            });
        }
    });
    let wall = start.elapsed();
    (wall, times.into_inner().unwrap_or_default())
}

fn one(
    b: &Bench,
    opts: &Options,
    chain: &Chain,
    phase: Phase,
    i: usize,
    times: &Mutex<Vec<Duration>>,
) -> Result<(), String> {
    let netns = b.node.pod_path(i).map_err(|e| e.to_string())?;
    let id = container_id(b.side.label, i);
    let caps = opts.scenario.capability_args(i);
    let at = Attachment {
        container_id: &id,
        netns: &netns,
        ifname: "eth0",
        capability_args: &caps,
    };
    let cost = match phase {
        Phase::Fill => {
            let (result, cost) = chain.add(&at).map_err(|e| e.to_string())?;
            if let Some(slot) = b.results.lock().map_err(|e| e.to_string())?.get_mut(i) {
                *slot = result;
            }
            cost
        }
        Phase::Drain => {
            let result = b
                .results
                .lock()
                .map_err(|e| e.to_string())?
                .get(i)
                .cloned()
                .unwrap_or(Value::Null);
            chain.del(&at, &result).map_err(|e| e.to_string())?
        }
    };
    times.lock().map_err(|e| e.to_string())?.push(cost.elapsed);
    Ok(())
}

/// Fills both nodes with `parallel` chains at once, then drains them.
pub fn run(opts: &Options, parallel: usize) -> Result<Figures, SweepError> {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(SweepError::NotRoot);
    }
    check_reference(opts)?;
    let scratch =
        Scratch::new(std::env::temp_dir().join(format!("twill-bench-{}", std::process::id())))?;
    let ours = twill_dir(opts, scratch.path())?;
    let mut benches = [
        bench("twill", opts, parallel, &ours, scratch.path())?,
        bench("reference", opts, parallel, &opts.reference, scratch.path())?,
    ];
    for b in benches.iter_mut() {
        let (wall, add) = phase(b, opts, Phase::Fill);
        (b.side.fill, b.side.add) = (wall, add);
    }
    for b in benches.iter_mut() {
        let (wall, del) = phase(b, opts, Phase::Drain);
        (b.side.drain, b.side.del) = (wall, del);
    }
    let errors: Vec<String> = benches
        .iter()
        .flat_map(|b| b.errors.lock().map(|e| e.clone()).unwrap_or_default())
        .collect();
    if let Some(first) = errors.first() {
        return Err(SweepError::Setup(format!(
            "{} operations failed; the first: {first}",
            errors.len()
        )));
    }
    let [a, b] = benches;
    Ok(Figures {
        describe: opts.scenario.describe(),
        scenario: opts.scenario.name(),
        pods: opts.pods,
        parallel,
        sides: [a.side, b.side],
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(reference: f64, ours: f64) -> f64 {
    if ours > 0.0 {
        reference / ours
    } else {
        0.0
    }
}

/// The table printed at the end of a parallel run: how many times faster twill is.
pub fn table(f: &Figures) -> String {
    let [o, r] = &f.sides;
    let rows = [
        ("fill, wall time (ms)", ms(o.fill), ms(r.fill)),
        ("drain, wall time (ms)", ms(o.drain), ms(r.drain)),
        (
            "ADD median under load (ms)",
            median_ms(&o.add),
            median_ms(&r.add),
        ),
        (
            "DEL median under load (ms)",
            median_ms(&o.del),
            median_ms(&r.del),
        ),
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {}: {}\n{} pods, {} chains at once\n",
        f.scenario, f.describe, f.pods, f.parallel
    );
    let _ = writeln!(
        out,
        "| | twill | reference | reference / twill |\n|---|---|---|---|"
    );
    for (name, ours, theirs) in rows {
        let _ = writeln!(
            out,
            "| {name} | {ours:.2} | {theirs:.2} | {:.2}× |",
            ratio(theirs, ours)
        );
    }
    out
}

/// The figures as JSON.
pub fn json(f: &Figures) -> Value {
    let side = |s: &Side| {
        json!({
            "label": s.label,
            "fill_ms": ms(s.fill),
            "drain_ms": ms(s.drain),
            "add_median_ms": median_ms(&s.add),
            "del_median_ms": median_ms(&s.del),
        })
    };
    let [o, r] = &f.sides;
    json!({
        "scenario": f.scenario,
        "pods": f.pods,
        "parallel": f.parallel,
        "sides": [side(o), side(r)],
    })
}
