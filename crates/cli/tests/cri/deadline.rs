//! A plugin killed by containerd's deadline in the middle of the chain's ADD: containerd runs
//! a cleanup DEL (no prevResult: nothing was cached), then `twill gc` finds nothing more to
//! release, and nothing is left.

use std::time::{Duration, Instant};

use twill_test_support::binaries::binary;
use twill_test_support::child::command_in;
use twill_test_support::cri::probes::{install_sleeper, Recorder};
use twill_test_support::cri::tonic::Code;
use twill_test_support::cri::{CriNode, Plugins, PodSpec};

use crate::common::{bridge_list, Snapshot};

/// The sleeper's sleep, unique to this test so its processes can be looked for.
const SLEEP_SECS: u32 = 347;

fn sleepers() -> usize {
    let needle = format!("sleep\0{SLEEP_SECS}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c) == needle)
        })
        .count()
}

#[test]
fn a_plugin_killed_at_the_deadline_is_cleaned_up_by_containerd_and_gc_finds_nothing_left() {
    let mut rec = None;
    let mut node = CriNode::new(Plugins::Twill, |p| {
        rec = Some(Recorder::install(&p.bin, "recorder", &p.dir.join("calls")));
        install_sleeper(&p.bin, "sleeper", SLEEP_SECS);
        let mut list = bridge_list(p, true);
        let plugins = list["plugins"].as_array_mut().unwrap();
        plugins.push(serde_json::json!({"type": "recorder"}));
        plugins.push(serde_json::json!({"type": "sleeper"}));
        list
    });
    let rec = rec.unwrap();
    node.containerd.wait_network_ready();
    let started = Instant::now();
    let err = node
        .containerd
        .try_run(&PodSpec::new("slow"), Duration::from_secs(3))
        .unwrap_err();
    // The client's own timer and containerd's (from grpc-timeout) race: either answer.
    assert!(
        matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // bridge and portmap had done their ADD when the sleeper was killed.
    let adds: Vec<_> = rec
        .calls()
        .into_iter()
        .filter(|c| c["cmd"] == "ADD")
        .collect();
    assert_eq!(adds.len(), 1, "{adds:?}");
    let id = adds[0]["id"].as_str().unwrap().to_owned();
    node.containerd.track(&id);
    // containerd's cleanup DEL: with the namespace, without a result (none was cached).
    let deadline = Instant::now() + Duration::from_secs(30);
    while rec.calls_of(&id, "DEL").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no cleanup DEL\n{}",
            node.containerd.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let del = &rec.calls_of(&id, "DEL")[0];
    assert_eq!(del["prev"], false, "{del}");
    // The sandbox is gone; wait for containerd to finish with it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = node.containerd.cri().list_pod_sandbox().unwrap();
        let snap = Snapshot::of(&node);
        if list.is_empty() && snap == Snapshot::default() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left after the cleanup DEL: {list:?} {snap:?}\n{}",
            node.containerd.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sleepers(), 0, "the killed plugin's process lives on");
    // `twill gc` over the same configuration and libcni's cache: nothing to release, and
    // afterwards still nothing.
    let p = node.paths();
    let out = command_in(&node.host.ns, binary("twill"))
        .args(["gc", &p.network])
        .env("NETCONFPATH", &p.conf)
        .env("CNI_PATH", &p.bin)
        .env("TWILL_STATE_DIR", p.dir.join("twill-state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "twill gc: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Snapshot::of(&node).assert_empty("after twill gc");
}
