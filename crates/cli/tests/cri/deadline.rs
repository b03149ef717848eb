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
        .try_run(&PodSpec::new("slow"), Duration::from_secs(5))
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
    wait_until_clean(&mut node);
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

/// Holds host-local's network lock (`<dataDir>/<network>/lock`, flock'ed as twill and the
/// reference do) until dropped.
struct IpamLock {
    _held: std::fs::File,
}

impl IpamLock {
    fn take(dir: &std::path::Path) -> IpamLock {
        use std::os::fd::AsRawFd;
        std::fs::create_dir_all(dir).unwrap();
        let f = std::fs::File::create(dir.join("lock")).unwrap();
        // SAFETY: flock(2) on a descriptor we own.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        IpamLock { _held: f }
    }
}

/// Waits until the node holds nothing of any pod and containerd lists no sandbox.
fn wait_until_clean(node: &mut CriNode) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = node.containerd.cri().list_pod_sandbox().unwrap();
        let snap = Snapshot::of(node);
        if list.is_empty() && snap == Snapshot::default() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left after the cleanup DEL: {list:?} {snap:?}\n{}",
            node.containerd.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn twills_bridge_killed_in_the_middle_of_add_is_undone_by_the_cleanup_del_and_gc() {
    let mut node = CriNode::new(Plugins::Twill, |p| bridge_list(p, false));
    node.containerd.wait_network_ready();
    let p = node.paths();
    // bridge creates the veth pair, then waits for host-local's lock, which the test holds:
    // containerd's deadline kills twill-cni there, half-way through its ADD.
    let lock = IpamLock::take(&p.ipam().join(&p.network));
    let err = node
        .containerd
        .try_run(&PodSpec::new("half"), Duration::from_secs(5))
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{err}"
    );
    // The half-made attachment: a veth on the bridge, no address reserved, nothing cached.
    let half = Snapshot::of(&node);
    assert_eq!(half.veths.len(), 1, "{half:?}");
    assert!(
        half.reservations.is_empty() && half.cache.is_empty(),
        "{half:?}"
    );
    // containerd's cleanup DEL (no prevResult) waits for the lock too; once it is free the
    // DEL finishes and undoes the half-made ADD.
    drop(lock);
    wait_until_clean(&mut node);
    let out = command_in(&node.host.ns, binary("twill"))
        .args(["gc", &p.network])
        .env("NETCONFPATH", &p.conf)
        .env("CNI_PATH", &p.bin)
        .env("TWILL_STATE_DIR", p.dir.join("twill-state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "twill gc: {out:?}");
    Snapshot::of(&node).assert_empty("after twill gc");
    // The network serves the next pod.
    let pod = node.containerd.run_pod(&PodSpec::new("next"));
    assert!(pod.ipv4().to_string().starts_with("10.22.0."));
    let id = pod.id.clone();
    drop(pod);
    node.containerd.stop_and_remove(&id);
    Snapshot::of(&node).assert_empty("after the next pod");
}
