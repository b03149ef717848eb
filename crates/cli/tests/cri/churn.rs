//! The same pod lifecycle a hundred times (four kubelet workers at once): nothing grows —
//! links, files, nf_tables elements, processes.

use std::path::Path;

use twill_test_support::cri::k8s_cri::v1::PodSandboxConfig;
use twill_test_support::cri::pod::is_ready;
use twill_test_support::cri::{Cri, CriNode, Plugins, PodSpec};
use twill_test_support::files;

use crate::common::{bridge_list, Snapshot};

const LIFECYCLES: usize = 100;
const WORKERS: usize = 4;

/// What may grow on a leaking node.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    links: Vec<String>,
    state_files: Vec<String>,
    node_files: Vec<String>,
    containerd_children: usize,
    pods: Snapshot,
}

fn footprint(node: &CriNode) -> Footprint {
    let mut nl = node.host.ns.netlink().unwrap();
    let mut links: Vec<String> = nl
        .link_list()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    links.sort();
    let pid = node.containerd.pid().unwrap();
    let containerd_children = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| {
                // "pid (comm) state ppid …": the ppid follows the last ')'.
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .is_some_and(|ppid| ppid == pid.to_string())
            })
        })
        .count();
    Footprint {
        links,
        state_files: files::files_below(&node.containerd.layout.state()),
        node_files: files::files_below(node.tmp.path()),
        containerd_children,
        pods: Snapshot::of(node),
    }
}

fn lifecycle(cri: &mut Cri, config: PodSandboxConfig) -> String {
    let id = cri
        .run_pod_sandbox(config, std::time::Duration::from_secs(60))
        .unwrap();
    let status = cri.pod_sandbox_status(&id).unwrap();
    assert!(is_ready(&status), "{status:?}");
    let ip = &status.status.as_ref().unwrap().network.as_ref().unwrap().ip;
    assert!(ip.starts_with("10.22.0."), "{ip}");
    cri.stop_pod_sandbox(&id).unwrap();
    cri.remove_pod_sandbox(&id).unwrap();
    id
}

#[test]
fn a_hundred_pod_lifecycles_leave_the_node_as_they_found_it() {
    let mut node = CriNode::new(Plugins::Twill, |p| bridge_list(p, false));
    node.containerd.wait_network_ready();
    // One lifecycle first: the bridge and the nf_tables skeletons are the network's, made
    // by its first pod and kept.
    let config = node.containerd.sandbox_config(&PodSpec::new("warm"));
    let id = lifecycle(node.containerd.cri(), config);
    node.containerd.track(&id);
    let before = footprint(&node);
    before.pods.assert_empty("after the first lifecycle");
    let socket = node.containerd.socket();
    let configs: Vec<Vec<_>> = (0..WORKERS)
        .map(|w| {
            (0..LIFECYCLES / WORKERS)
                .map(|i| {
                    node.containerd
                        .sandbox_config(&PodSpec::new(&format!("churn-{w}-{i}")))
                })
                .collect()
        })
        .collect();
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = configs
            .into_iter()
            .map(|mine| {
                let socket = socket.clone();
                s.spawn(move || {
                    let mut cri = Cri::connect(Path::new(&socket)).unwrap();
                    mine.into_iter()
                        .map(|c| lifecycle(&mut cri, c))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(ids.len(), LIFECYCLES);
    for id in &ids {
        node.containerd.track(id);
    }
    let after = footprint(&node);
    assert_eq!(after, before, "the node grew over {LIFECYCLES} lifecycles");
}
