//! StopPodSandbox then RemovePodSandbox: containerd runs DEL again and again — first with the
//! namespace and the cached result, then with an empty `CNI_NETNS` and no `prevResult` — and
//! every one must succeed and leave nothing.

use serde_json::Value;
use twill_test_support::cri::probes::Recorder;
use twill_test_support::cri::{CriNode, Plugins, PodSpec};

use crate::common::{bridge_list, Snapshot};

/// The bridge network with a recorder last in the chain (DEL runs it first, with what the
/// others get).
pub fn recorded_list(p: &twill_test_support::cri::NodePaths) -> (Value, Recorder) {
    let rec = Recorder::install(&p.bin, "recorder", &p.dir.join("calls"));
    let mut list = bridge_list(p, true);
    list["plugins"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "type": "recorder",
            "capabilities": {"portMappings": true, "dns": true, "bandwidth": true}
        }));
    (list, rec)
}

#[test]
fn stop_and_remove_repeat_del_without_netns_or_prev_result_and_leave_nothing() {
    let mut rec = None;
    let mut node = CriNode::new(Plugins::Twill, |p| {
        let (list, r) = recorded_list(p);
        rec = Some(r);
        list
    });
    let rec = rec.unwrap();
    node.containerd.wait_network_ready();
    let pod = node
        .containerd
        .run_pod(&PodSpec::new("web").port(18081, 80, "tcp"));
    let id = pod.id.clone();
    drop(pod);
    let adds = rec.calls_of(&id, "ADD");
    assert_eq!(adds.len(), 1, "{adds:?}");
    assert!(adds[0]["prev"] == true && adds[0]["ifname"] == "eth0");
    assert!(!Snapshot::of(&node).veths.is_empty());

    // The first Stop: DEL with the namespace and the cached result.
    node.containerd.cri().stop_pod_sandbox(&id).unwrap();
    let dels = rec.calls_of(&id, "DEL");
    assert_eq!(dels.len(), 1, "{dels:?}");
    assert_ne!(dels[0]["netns"], "", "{dels:?}");
    assert_eq!(dels[0]["prev"], true, "{dels:?}");
    Snapshot::of(&node).assert_empty("after the first StopPodSandbox");

    // Every later Stop and the Remove: DEL again, with nothing to go on; each succeeds.
    node.containerd.cri().stop_pod_sandbox(&id).unwrap();
    node.containerd.cri().stop_pod_sandbox(&id).unwrap();
    node.containerd.cri().remove_pod_sandbox(&id).unwrap();
    let dels = rec.calls_of(&id, "DEL");
    assert!(dels.len() >= 3, "{dels:?}");
    for d in &dels[1..] {
        assert_eq!(d["netns"], "", "{d}");
        assert_eq!(d["prev"], false, "{d}");
    }
    // The pod is gone from the runtime and from the node.
    let left = node.containerd.cri().list_pod_sandbox().unwrap();
    assert!(left.iter().all(|s| s.id != id), "{left:?}");
    Snapshot::of(&node).assert_empty("after RemovePodSandbox");
    // Containerd's loopback network ran too, on lo, and was deleted as often.
    let calls = rec.calls();
    assert!(
        calls.iter().all(|c| c["ifname"] == "eth0"),
        "the recorder is on eth0 only"
    );
}
