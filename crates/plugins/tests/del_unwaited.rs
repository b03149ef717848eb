//! DEL returns as soon as nothing of the attachment is visible and leaves the kernel's
//! reclamation (a device's unregistration, the freeing behind a netfilter socket's close) to
//! detached processes (`twill_kernel::reclaim`, docs/decisions.md). What DEL means must not
//! change: another process sees none of the pod right after DEL returns; a DEL followed at
//! once by an ADD with the same names succeeds; and after hundreds of DELs at once, the
//! processes and netlink sockets the reclamation used are gone within seconds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod masq_support;
mod portmap_support;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{Ns, Sandbox};
use twill_kernel::LinkId;
use twill_test_support::{chain as run_chain, nft};

/// podman's chain without tuning: bridge (ipMasq) with host-local, portmap with one mapping,
/// firewall — every plugin that deletes a link or a set element on DEL.
fn chain(sb: &Sandbox, net: &str, bridge: &str, subnet: &str, host_port: u16) -> Vec<Value> {
    let dir = |d: &str| sb.tmp.join(d).to_string_lossy().into_owned();
    let plugins = [
        sb.conf(json!({
            "type": "bridge", "bridge": bridge, "isGateway": true, "ipMasq": true,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]]},
        })),
        json!({"type": "portmap", "dataDir": dir("portmap"),
               "runtimeConfig": {"portMappings": [
                   {"hostPort": host_port, "containerPort": 80, "protocol": "tcp"}]}}),
        json!({"type": "firewall", "backend": "", "dataDir": dir("firewall")}),
    ];
    plugins
        .into_iter()
        .map(|mut p| {
            p["cniVersion"] = "1.0.0".into();
            p["name"] = net.into();
            p
        })
        .collect()
}

fn kind(conf: &Value) -> &str {
    conf["type"].as_str().unwrap()
}

fn add(sb: &Sandbox, confs: &[Value], id: &str, netns: &Path) -> Value {
    run_chain::add(confs, |c| sb.twill(kind(c), "ADD", id, netns, c).ok())
}

fn del(sb: &Sandbox, confs: &[Value], id: &str, netns: &Path, result: &Value) {
    run_chain::del(confs, result, |c| {
        sb.twill(kind(c), "DEL", id, netns, c).ok();
    });
}

/// Set and map elements of the node's ruleset that name `needle`.
fn elements_naming(sb: &Sandbox, needle: &str) -> Vec<String> {
    nft::elements_naming(&sb.host.path, needle)
}

/// Files under `dir` whose name or content mentions `needle`.
fn files_naming(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files_naming(&p, needle));
        } else if p.to_string_lossy().contains(needle)
            || std::fs::read_to_string(&p).is_ok_and(|t| t.contains(needle))
        {
            found.push(p);
        }
    }
    found
}

fn host_veth(result: &Value) -> String {
    result["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i.get("sandbox").is_none() && i["name"].as_str().unwrap().starts_with("veth"))
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .unwrap()
}

#[test]
fn nothing_of_the_pod_is_visible_when_del_returns() {
    let mut sb = Sandbox::new();
    let net = masq_support::net_name("unwaited");
    let confs = chain(&sb, &net, "br-unw", "10.61.0.0/24", 18061);
    for round in 0..5 {
        let mut pod = sb.pod(&format!("p{round}"));
        let id = format!("ctr-unwaited-{round}");
        let result = add(&sb, &confs, &id, &pod.path);
        let ip = masq_support::addr_of(&result);
        let veth = host_veth(&result);
        assert!(sb.host.nl.link_get(LinkId::Name(&veth)).is_ok());
        assert!(!elements_naming(&sb, &ip).is_empty());

        del(&sb, &confs, &id, &pod.path, &result);
        // Right away, from this process: no link at either end, no address or route of the
        // pod, no element, no reservation, no record.
        let err = pod.nl.link_get(LinkId::Name("eth0")).unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let err = sb.host.nl.link_get(LinkId::Name(&veth)).unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let pod_addrs: Vec<_> = pod
            .nl
            .addr_list(None, None)
            .unwrap()
            .into_iter()
            .filter(|a| !a.prefix.addr().is_loopback())
            .collect();
        assert!(pod_addrs.is_empty(), "{pod_addrs:?}");
        // Only loopback's routes are left (every table: local and main).
        let routes = pod.nl.route_list(None, None).unwrap();
        assert!(routes.iter().all(|r| r.oif == Some(1)), "{routes:?}");
        let left = elements_naming(&sb, &ip);
        assert!(left.is_empty(), "round {round}: elements left: {left:?}");
        assert!(sb.reserved(&net).is_empty(), "{:?}", sb.reserved(&net));
        let records = files_naming(&sb.tmp, &id);
        assert!(records.is_empty(), "records left: {records:?}");
        let masq = files_naming(Path::new("/run/cni/twill-masq"), &id);
        assert!(masq.is_empty(), "records left: {masq:?}");
        sb.delete_pod(pod);
    }
}

#[test]
fn del_then_add_at_once_with_the_same_names() {
    let mut sb = Sandbox::new();
    let net = masq_support::net_name("again");
    let confs = chain(&sb, &net, "br-again", "10.62.0.0/24", 18062);
    let pod = sb.pod("p");
    let mut result = add(&sb, &confs, "ctr-again", &pod.path);
    for _ in 0..20 {
        del(&sb, &confs, "ctr-again", &pod.path, &result);
        result = add(&sb, &confs, "ctr-again", &pod.path);
    }
    assert_eq!(sb.reserved(&net).len(), 1);
    del(&sb, &confs, "ctr-again", &pod.path, &result);
    assert!(sb.reserved(&net).is_empty());
}

/// Processes running the plugin binary (detached reclaimers and keepers included).
fn plugin_processes(binary: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| std::fs::read_link(e.path().join("exe")).is_ok_and(|x| x == binary))
        .count()
}

/// Netlink sockets open in `ns`, as its `/proc/net/netlink` lists them.
fn netlink_sockets(ns: &Ns) -> usize {
    ns.ns
        .run(|| std::fs::read_to_string("/proc/thread-self/net/netlink").unwrap())
        .unwrap()
        .lines()
        .skip(1)
        .count()
}

#[test]
fn five_hundred_dels_fifty_at_a_time_leave_no_process_or_socket() {
    const PODS: usize = 500;
    const AT_ONCE: usize = 50;
    let mut sb = Sandbox::new();
    let binary = std::fs::canonicalize(twill_test_support::plugins::twill_cni()).unwrap();
    let net = masq_support::net_name("many");
    let confs = chain(&sb, &net, "br-many", "10.63.0.0/22", 0);
    let pods: Vec<Ns> = (0..PODS).map(|i| sb.pod(&format!("m{i}"))).collect();
    let processes_before = plugin_processes(&binary);
    let sockets_before = netlink_sockets(&sb.host);

    let per_pod = |i: usize| -> Vec<Value> {
        let mut c = confs.clone();
        c[1]["runtimeConfig"]["portMappings"][0]["hostPort"] = json!(20000 + i);
        c
    };
    let results: Vec<Value> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|w| {
                let (sb, pods, per_pod) = (&sb, &pods, &per_pod);
                s.spawn(move || {
                    (w..PODS)
                        .step_by(AT_ONCE)
                        .map(|i| (i, add(sb, &per_pod(i), &format!("many-{i}"), &pods[i].path)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Value)> = workers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    assert_eq!(sb.reserved(&net).len(), PODS);

    std::thread::scope(|s| {
        for w in 0..AT_ONCE {
            let (sb, pods, per_pod, results) = (&sb, &pods, &per_pod, &results);
            s.spawn(move || {
                for i in (w..PODS).step_by(AT_ONCE) {
                    del(
                        sb,
                        &per_pod(i),
                        &format!("many-{i}"),
                        &pods[i].path,
                        &results[i],
                    );
                }
            });
        }
    });
    // Every effect is gone when the last DEL returns.
    assert!(sb.reserved(&net).is_empty());
    let ports: Vec<_> = sb
        .host
        .nl
        .link_list()
        .unwrap()
        .into_iter()
        .filter(|l| l.name.starts_with("veth"))
        .map(|l| l.name)
        .collect();
    assert!(ports.is_empty(), "{} veths left: {ports:?}", ports.len());

    // And what reclaimed it ends within seconds.
    let start = Instant::now();
    let (mut processes, mut sockets) = (usize::MAX, usize::MAX);
    while start.elapsed() < Duration::from_secs(10) {
        processes = plugin_processes(&binary);
        sockets = netlink_sockets(&sb.host);
        if processes <= processes_before && sockets <= sockets_before {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "reclamation over {:.2} s after the last DEL",
        start.elapsed().as_secs_f64()
    );
    assert!(
        processes <= processes_before,
        "{processes} plugin processes left, {processes_before} before"
    );
    assert!(
        sockets <= sockets_before,
        "{sockets} netlink sockets in the node, {sockets_before} before"
    );
}
