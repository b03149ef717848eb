//! `twill-bench`: ADD and DEL latency of a plugin chain as a node fills up with pods, twill's
//! plugins and the reference plugins measured in one run, side by side, with peak memory per
//! plugin exec.
//!
//! Each implementation gets its own "node" (a network namespace of the benchmark's own, so
//! the machine's namespace is never touched) and one namespace per pod. Pods are added one
//! at a time, alternating between the implementations, so a noisy neighbour on the machine
//! slows both alike; then they are deleted in the same order. Numbers are medians: the
//! machine is shared, and a median is robust to the odd descheduled exec.

mod chain;
mod node;
mod parallel;
mod report;
mod scenario;
mod spawn;
mod stats;
mod sweep;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use scenario::Scenario;

/// Upper bound on pods per run: a bounded load, whatever the command line says.
const MAX_PODS: usize = 5000;

/// Upper bound on chains at once.
const MAX_PARALLEL: usize = 64;

const USAGE: &str = "\
usage: twill-bench [--pods N] [--scenario NAME] [--parallel P] [--twill-cni PATH] [--reference DIR]
                   [--json FILE]

  --pods N          pods per implementation (default 1000, at most 5000)
  --scenario NAME   bridge (default), podman, bandwidth or macvlan
  --parallel P      fill the node with P chains at once, then drain it the same way, and
                    report wall times (default: one pod at a time, with per-pod figures)
  --twill-cni PATH  twill's multi-call plugin binary (default: twill-cni beside this binary)
  --reference DIR   the reference plugins (default /usr/lib/cni)
  --json FILE       also write the figures as JSON

Needs root: it creates network namespaces (and removes them all when it ends).";

#[derive(Debug)]
struct Options {
    pods: usize,
    scenario: Scenario,
    parallel: Option<usize>,
    twill_cni: PathBuf,
    reference: PathBuf,
    json: Option<PathBuf>,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let here = std::env::current_exe().map_err(|e| format!("cannot find own path: {e}"))?;
    let mut opts = Options {
        pods: 1000,
        scenario: Scenario::Bridge,
        parallel: None,
        twill_cni: here.with_file_name("twill-cni"),
        reference: PathBuf::from("/usr/lib/cni"),
        json: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--pods" => {
                let v = value()?;
                opts.pods = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PODS).contains(n))
                    .ok_or_else(|| format!("--pods: {v:?} is not a number in 1..={MAX_PODS}"))?;
            }
            "--scenario" => {
                let v = value()?;
                opts.scenario = Scenario::ALL
                    .into_iter()
                    .find(|s| s.name() == v)
                    .ok_or_else(|| format!("--scenario: unknown scenario {v:?}"))?;
            }
            "--parallel" => {
                let v = value()?;
                opts.parallel = Some(
                    v.parse()
                        .ok()
                        .filter(|n| (1..=MAX_PARALLEL).contains(n))
                        .ok_or_else(|| {
                            format!("--parallel: {v:?} is not a number in 1..={MAX_PARALLEL}")
                        })?,
                );
            }
            "--twill-cni" => opts.twill_cni = PathBuf::from(value()?),
            "--reference" => opts.reference = PathBuf::from(value()?),
            "--json" => opts.json = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(spawn::LAUNCH) {
        return match (args.get(2), args.get(3)) {
            (Some(metrics), Some(program)) => {
                match spawn::launch(metrics.as_ref(), program.as_ref()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("twill-bench launcher: {program}: {e}");
                        ExitCode::from(1)
                    }
                }
            }
            _ => ExitCode::from(2),
        };
    }
    let opts = match parse_options() {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("twill-bench: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(p) = opts.parallel {
        return match parallel::run(&opts, p) {
            Ok(figures) => output(&parallel::table(&figures), &parallel::json(&figures), &opts),
            Err(e) => {
                eprintln!("twill-bench: {e}");
                ExitCode::from(1)
            }
        };
    }
    match sweep::run(&opts) {
        Ok(figures) => output(&report::table(&figures), &report::json(&figures), &opts),
        Err(e) => {
            eprintln!("twill-bench: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints the table and writes the JSON where `--json` says.
fn output(table: &str, json: &serde_json::Value, opts: &Options) -> ExitCode {
    let _ = std::io::stdout().write_all(table.as_bytes());
    if let Some(path) = &opts.json {
        if let Err(e) = std::fs::write(path, json.to_string()) {
            eprintln!("twill-bench: write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
