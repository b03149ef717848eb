//! What the CRI carries besides the pod itself: port mappings (go-cni sends them with
//! PascalCase keys), the DNS configuration, and the bandwidth annotations (rates in bit/s,
//! the burst always MaxUint32 bits), which shape the pod.

use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use twill_kernel::tc::{Action, Mirred, QdiscKind, Tbf, INGRESS_HANDLE};
use twill_kernel::{LinkId, NetNs, Netlink};
use twill_test_support::child::command_in;
use twill_test_support::cri::{CriNode, Plugins, PodSpec, RunningPod};
use twill_test_support::iperf::{measure_with, transfer, within, Run};
use twill_test_support::tcp;

use crate::common::{ping, Snapshot, GW4};
use crate::teardown::recorded_list;

#[test]
fn port_mappings_from_the_cri_serve_from_the_node() {
    let mut rec = None;
    let mut node = CriNode::new(Plugins::Twill, |p| {
        let (list, r) = recorded_list(p);
        rec = Some(r);
        list
    });
    let rec = rec.unwrap();
    node.containerd.wait_network_ready();
    let web = node.containerd.run_pod(
        &PodSpec::new("web")
            .port(18080, 80, "tcp")
            .port(18053, 53, "udp"),
    );
    let client = node.containerd.run_pod(&PodSpec::new("client"));
    // What containerd sent: go-cni's struct field names, no JSON tags.
    let add = &rec.calls_of(&web.id, "ADD")[0];
    let pm = &add["runtimeConfig"]["portMappings"];
    assert_eq!(
        pm,
        &json!([
            {"HostPort": 18080, "ContainerPort": 80, "Protocol": "tcp", "HostIP": ""},
            {"HostPort": 18053, "ContainerPort": 53, "Protocol": "udp", "HostIP": ""}
        ]),
        "{add}"
    );
    let server = tcp::serve(&web.ns, 80, "web", 30);
    // From the node: its gateway address and its loopback (route_localnet).
    let host = &node.host;
    let got = tcp::fetch(host, GW4, 18080).unwrap();
    assert!(got.starts_with("web "), "{got}");
    let got = tcp::fetch(host, "127.0.0.1", 18080).unwrap();
    assert!(got.starts_with("web "), "{got}");
    // From another pod through the node's address (hairpin).
    let got = tcp::fetch(&client.ns, GW4, 18080).unwrap();
    assert!(got.starts_with("web "), "{got}");
    let _ = server;
    let (web_id, client_id) = (web.id.clone(), client.id.clone());
    drop((web, client));
    node.containerd.stop_and_remove(&web_id);
    node.containerd.stop_and_remove(&client_id);
    Snapshot::of(&node).assert_empty("after the pods");
    assert!(
        tcp::fetch_once(host, GW4, 18080).is_err(),
        "the port still answers"
    );
}

#[test]
fn the_cri_dns_config_reaches_the_plugins_as_go_cni_spells_it() {
    let mut rec = None;
    let mut node = CriNode::new(Plugins::Twill, |p| {
        let (mut list, r) = recorded_list(p);
        rec = Some(r);
        // The network's own DNS: what bridge puts into the result.
        list["plugins"][0]["dns"] = json!({"nameservers": ["10.22.0.53"], "search": ["net.local"]});
        list
    });
    let rec = rec.unwrap();
    node.containerd.wait_network_ready();
    let pod = node.containerd.run_pod(&PodSpec::new("dns").dns(
        &["10.96.0.10"],
        &["default.svc.cluster.local", "svc.cluster.local"],
        &["ndots:5"],
    ));
    let add = &rec.calls_of(&pod.id, "ADD")[0];
    let dns = &add["runtimeConfig"]["dns"];
    assert_eq!(
        dns,
        &json!({"Servers": ["10.96.0.10"],
                "Searches": ["default.svc.cluster.local", "svc.cluster.local"],
                "Options": ["ndots:5"]}),
        "{add}"
    );
    // twill reads that spelling as the capability's (keys match as Go's encoding/json does).
    let rc = twill_cni::config::RuntimeConfig::parse(
        &twill_cni::json::Obj::at(&add["runtimeConfig"], "runtimeConfig").unwrap(),
    )
    .unwrap();
    let d = rc.dns.unwrap();
    assert_eq!(d.servers, ["10.96.0.10"]);
    assert_eq!(d.searches.len(), 2);
    assert_eq!(d.options, ["ndots:5"]);
    // No Linux plugin of twill's (nor of the reference set) declares the `dns` capability:
    // the result's DNS is the network's, as bridge reports it; libcni cached that result.
    let cached: Vec<Value> = node
        .containerd
        .cache_entries()
        .iter()
        .filter(|n| n.ends_with("-eth0"))
        .map(|n| {
            let p = std::path::Path::new(twill_test_support::cri::containerd::LIBCNI_CACHE).join(n);
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert_eq!(
        cached[0]["result"]["dns"]["nameservers"],
        json!(["10.22.0.53"]),
        "{}",
        cached[0]
    );
    let id = pod.id.clone();
    drop(pod);
    node.containerd.stop_and_remove(&id);
    Snapshot::of(&node).assert_empty("after the pod");
}

/// containerd's burst for every annotated direction: math.MaxUint32 bits (512 MiB).
const CONTAINERD_BURST: u64 = 4_294_967_295;

/// The root tbf of link `index` in `nl`'s namespace.
fn root_tbf(nl: &mut Netlink, index: u32) -> Option<Tbf> {
    nl.qdisc_list(Some(index))
        .unwrap()
        .into_iter()
        .find(|q| q.is_root())
        .and_then(|q| match q.kind {
            QdiscKind::Tbf(t) => Some(t),
            _ => None,
        })
}

/// The host end of `pod`'s eth0 (its veth peer's index in the node).
fn host_end(pod: &RunningPod) -> u32 {
    let mut nl = pod.ns.ns.netlink().unwrap();
    nl.link_get(LinkId::Name("eth0")).unwrap().link.unwrap()
}

/// Whether one of `count` pings of `size` bytes from `from` to `to` is answered.
fn pings(from: &NetNs, to: IpAddr, size: u32, count: u32) -> bool {
    command_in(from, "ping")
        .args(["-c", &count.to_string(), "-W", "1", "-s", &size.to_string()])
        .arg(to.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn bandwidth_annotations_shape_the_pod_at_the_rates_containerd_converts() {
    let mut rec = None;
    let mut node = CriNode::new(Plugins::Twill, |p| {
        let (mut list, r) = recorded_list(p);
        rec = Some(r);
        // bridge, portmap, bandwidth, then the recorder (it gets what bandwidth got).
        let plugins = list["plugins"].as_array_mut().unwrap();
        let last = plugins.len() - 1;
        plugins.insert(
            last,
            json!({"type": "bandwidth", "capabilities": {"bandwidth": true}}),
        );
        list
    });
    let rec = rec.unwrap();
    node.containerd.wait_network_ready();
    // Rates the plugin tests measure within ±10 % on a loaded 2-core machine.
    let (ingress, egress) = (10_000_000u64, 20_000_000u64);
    let pod = node.containerd.run_pod(
        &PodSpec::new("shaped")
            .annotation("kubernetes.io/ingress-bandwidth", "10M")
            .annotation("kubernetes.io/egress-bandwidth", "20M"),
    );
    // The Kubernetes minimum: the burst takes 4.3 million s at it, beyond what the kernel's
    // 32-bit fields hold (twill used to refuse it, failing the pod; the reference accepts it).
    let slow = node.containerd.run_pod(
        &PodSpec::new("slow")
            .annotation("kubernetes.io/ingress-bandwidth", "1k")
            .annotation("kubernetes.io/egress-bandwidth", "1k"),
    );

    // What containerd sent: the quantities in bit/s, the burst always MaxUint32 bits.
    let add = &rec.calls_of(&pod.id, "ADD")[0];
    assert_eq!(
        add["runtimeConfig"]["bandwidth"],
        json!({"IngressRate": ingress, "IngressBurst": CONTAINERD_BURST,
               "EgressRate": egress, "EgressBurst": CONTAINERD_BURST}),
        "{add}"
    );
    let add = &rec.calls_of(&slow.id, "ADD")[0];
    assert_eq!(
        add["runtimeConfig"]["bandwidth"],
        json!({"IngressRate": 1000, "IngressBurst": CONTAINERD_BURST,
               "EgressRate": 1000, "EgressBurst": CONTAINERD_BURST}),
        "{add}"
    );

    // What the kernel holds. A tbf: the rate in bytes/s; the queue 25 ms of it plus the
    // burst's 536 870 911 bytes; the bucket as the time the rate takes to send the burst, in
    // ticks of 64 ns: 215 s at 20M (3 355 443 187 ticks) fits 32 bits; 429 s at 10M does
    // not and is held at the largest, 2^32 - 1 ticks (275 s).
    let mut nl = node.host.ns.netlink().unwrap();
    let host = host_end(&pod);
    let ingress_tbf = Tbf {
        rate: 1_250_000,
        buffer: u32::MAX,
        limit: 31_250 + 536_870_911,
    };
    let egress_tbf = Tbf {
        rate: 2_500_000,
        buffer: 3_355_443_187,
        limit: 62_500 + 536_870_911,
    };
    assert_eq!(root_tbf(&mut nl, host), Some(ingress_tbf));
    // Egress: the host end's ingress redirected to the pod's ifb, shaped there.
    let slow_host = host_end(&slow);
    let ifbs = nl.ifb_list().unwrap();
    assert_eq!(ifbs.len(), 2, "{ifbs:?}");
    let redirected_to = |nl: &mut Netlink, index: u32| {
        let filters = nl.filter_list(index, INGRESS_HANDLE).unwrap();
        ifbs.iter()
            .find(|i| {
                filters.iter().any(|f| {
                    f.u32.as_ref().is_some_and(|u| {
                        u.actions.first() == Some(&Action::Mirred(Mirred::egress_redirect(i.index)))
                    })
                })
            })
            .unwrap_or_else(|| panic!("no filter of link {index} redirects to an ifb: {filters:?}"))
            .index
    };
    let ifb = redirected_to(&mut nl, host);
    assert_eq!(root_tbf(&mut nl, ifb), Some(egress_tbf));
    // 1 kbit/s: 125 B/s, a 3-byte queue (25 ms) plus the burst, the saturated bucket.
    let slow_tbf = Some(Tbf {
        rate: 125,
        buffer: u32::MAX,
        limit: 3 + 536_870_911,
    });
    assert_eq!(root_tbf(&mut nl, slow_host), slow_tbf);
    let slow_ifb = redirected_to(&mut nl, slow_host);
    assert_ne!(slow_ifb, ifb);
    assert_eq!(root_tbf(&mut nl, slow_ifb), slow_tbf);

    // The kernel takes no packet longer than 2^32 - 1 ns of the rate (sch_tbf's max_size,
    // whatever the bucket): 536 bytes at 1k. A small ping reaches the 1k pod, a 1042-byte
    // frame never does; at 10M the same frame passes.
    assert!(
        ping(&node.host.ns, slow.ipv4()),
        "a small ping to the 1k pod"
    );
    assert!(
        !pings(&node.host.ns, slow.ipv4(), 1000, 2),
        "a 1042-byte frame passed the 1k pod's tbf"
    );
    assert!(pings(&node.host.ns, pod.ipv4(), 1000, 3));

    // The traffic, between the pod and the node. The buckets start full (344 MB ingress,
    // 537 MB egress) and pass at full speed: 80 % of each is sent first (headers make the
    // wire bytes ~5 % more), the rest goes in the 2 s left out of the measurement.
    let bucket = |t: &Tbf| u64::from(t.buffer) * 64 / 1000 * t.rate / 1_000_000;
    let drain = Duration::from_secs(90);
    let run = Run {
        secs: 4,
        omit: 2,
        deadline: Duration::from_secs(40),
    };
    transfer(
        &pod.ns,
        &node.host,
        GW4,
        false,
        bucket(&egress_tbf) * 8 / 10,
        drain,
    );
    let up = measure_with(&pod.ns, &node.host, GW4, false, run);
    transfer(
        &pod.ns,
        &node.host,
        GW4,
        true,
        bucket(&ingress_tbf) * 8 / 10,
        drain,
    );
    let down = measure_with(&pod.ns, &node.host, GW4, true, run);
    eprintln!(
        "measured: egress {up:.0} bit/s (annotation {egress}), ingress {down:.0} bit/s (annotation {ingress})"
    );
    assert!(
        within(up, egress as f64),
        "egress: {up:.0} bit/s for {egress}"
    );
    assert!(
        within(down, ingress as f64),
        "ingress: {down:.0} bit/s for {ingress}"
    );

    // Stop and Remove leave no ifb, no qdisc, nothing.
    let ids = [pod.id.clone(), slow.id.clone()];
    drop((pod, slow));
    for id in &ids {
        node.containerd.stop_and_remove(id);
    }
    Snapshot::of(&node).assert_empty("after the shaped pods");
    let left = node.containerd.cri().list_pod_sandbox().unwrap();
    assert!(left.is_empty(), "{left:?}");
}
