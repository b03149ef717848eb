//! RunPodSandbox→Ready and StopPodSandbox as a kubelet sees them, with twill's plugins and
//! with the reference plugins (/usr/lib/cni) in the same run, on the same network
//! configuration. A report, never an assertion on speed (docs/benchmarks.md has the figures):
//! it goes straight to the test's stderr, past the test harness' capture, so `make test`
//! shows it.

use std::io::Write;
use std::time::{Duration, Instant};

use twill_test_support::cri::pod::is_ready;
use twill_test_support::cri::{CriNode, Plugins, PodSpec};

use crate::common::{bridge_list, Snapshot};

const PODS: usize = 20;

struct Times {
    run: Vec<Duration>,
    stop: Vec<Duration>,
}

fn node(plugins: Plugins) -> CriNode {
    let mut node = CriNode::new(plugins, |p| bridge_list(p, false));
    node.containerd.wait_network_ready();
    node
}

/// One pod's lifecycle on `node`: (RunPodSandbox→Ready, StopPodSandbox).
fn lifecycle(node: &mut CriNode, name: &str) -> (Duration, Duration) {
    let config = node.containerd.sandbox_config(&PodSpec::new(name));
    let start = Instant::now();
    let id = node
        .containerd
        .cri()
        .run_pod_sandbox(config, Duration::from_secs(60))
        .unwrap();
    let status = node.containerd.cri().pod_sandbox_status(&id).unwrap();
    let run = start.elapsed();
    node.containerd.track(&id);
    assert!(is_ready(&status), "{status:?}");
    let start = Instant::now();
    node.containerd.cri().stop_pod_sandbox(&id).unwrap();
    let stop = start.elapsed();
    node.containerd.cri().remove_pod_sandbox(&id).unwrap();
    (run, stop)
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn row(name: &str, v: &mut [Duration]) -> String {
    v.sort();
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    format!(
        "{name:<28} {:>7} {:>7} {:>7} {:>7}\n",
        ms(v[0]),
        ms(p(0.5)),
        ms(p(0.9)),
        ms(v[v.len() - 1])
    )
}

#[test]
fn report_run_and_stop_times_with_twill_and_the_reference_plugins() {
    let mut nodes = [node(Plugins::Twill), node(Plugins::Reference)];
    let mut times: [Times; 2] = std::array::from_fn(|_| Times {
        run: Vec::new(),
        stop: Vec::new(),
    });
    // One pod each first, not counted: the bridge and the rule sets come with it. Then the
    // two alternate, so a noisy neighbour on the machine slows both alike.
    for i in 0..=PODS {
        for (node, t) in nodes.iter_mut().zip(times.iter_mut()) {
            let (run, stop) = lifecycle(node, &format!("t{i}"));
            if i > 0 {
                t.run.push(run);
                t.stop.push(stop);
            }
        }
    }
    Snapshot::of(&nodes[0]).assert_empty("after the measured pods");
    let [mut twill, mut reference] = times;
    let mut report = format!(
        "\nCRI timings (containerd 1.6, bridge+host-local+portmap, {PODS} pods one at a time), ms\n\
         {:<28} {:>7} {:>7} {:>7} {:>7}\n",
        "", "min", "median", "p90", "max"
    );
    report += &row("RunPodSandbox→Ready  twill", &mut twill.run);
    report += &row("RunPodSandbox→Ready  ref", &mut reference.run);
    report += &row("StopPodSandbox       twill", &mut twill.stop);
    report += &row("StopPodSandbox       ref", &mut reference.stop);
    let _ = std::io::stderr().write_all(report.as_bytes());
}
