//! A bridge plugin killed with SIGKILL at random instants during 500 ADDs, followed by a DEL of
//! every attachment and a GC: nothing may be left — no veth on the host or in the pod, no
//! address reservation, no temporary file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::run::Request;
use support::{Impl, Sandbox};

const ADDS: usize = 500;

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn sigkill_during_adds_then_del_and_gc_leave_nothing() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let conf = sb.conf(json!({
        "cniVersion": "1.1.0", "name": "crash", "type": "bridge", "bridge": "br-crash",
        "isGateway": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.72.0.0/20"}]]},
    }));
    let seed = u64::from(std::process::id());
    eprintln!("kill schedule seed: {seed}");
    let mut rng = Lcg(seed);
    let ids: Vec<String> = (0..ADDS).map(|i| format!("crash{i}")).collect();
    let ifnames: Vec<String> = (0..ADDS).map(|i| format!("e{i}")).collect();
    let (mut killed, mut finished) = (0, 0);
    for i in 0..ADDS {
        let req = Request {
            ifname: &ifnames[i],
            ..Request::new("ADD", &ids[i], &pod.path)
        };
        let mut child = sb.spawn(Impl::Twill, "bridge", &req, &conf);
        // Up to 12 ms: from before the plugin has read its input to after it has finished.
        std::thread::sleep(Duration::from_micros(rng.next() % 12_000));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        } else {
            finished += 1;
        }
        child.wait().unwrap();
    }
    eprintln!("{killed} ADDs killed, {finished} finished first");
    assert!(
        killed > 0,
        "no ADD was interrupted: the schedule proves nothing"
    );

    for i in 0..ADDS {
        let req = Request {
            ifname: &ifnames[i],
            ..Request::new("DEL", &ids[i], &pod.path)
        };
        let run = sb.exec(Impl::Twill, "bridge", &req, &conf);
        assert_eq!(run.exit, Some(0), "DEL {}: {}", ids[i], run.stderr);
    }
    let gc = Request {
        container_id: "",
        netns: None,
        ifname: "",
        ..Request::new("GC", "", &pod.path)
    };
    let mut gc_conf = conf.clone();
    gc_conf["cni.dev/valid-attachments"] = json!([]);
    let run = sb.exec(Impl::Twill, "bridge", &gc, &gc_conf);
    assert_eq!(run.exit, Some(0), "GC: {}", run.stderr);

    let host_links: Vec<String> = sb
        .host
        .nl
        .link_list()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .filter(|n| n != "lo" && n != "br-crash")
        .collect();
    assert!(host_links.is_empty(), "left on the host: {host_links:?}");
    let pod_links: Vec<String> = pod
        .nl
        .link_list()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .filter(|n| n != "lo")
        .collect();
    assert!(pod_links.is_empty(), "left in the pod: {pod_links:?}");
    assert_eq!(sb.reserved("crash"), Vec::<String>::new());
}
