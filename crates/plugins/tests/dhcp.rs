//! The `dhcp` IPAM plugin and its daemon against a real DHCP server: dnsmasq on a test LAN
//! (a bridge in the sandbox's host namespace), pods attached by the bridge plugin with
//! `ipam.type` `dhcp`. What the server holds is read from dnsmasq's own lease file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;
use std::path::Path;

use serde_json::Value;
use twill_kernel::LinkId;
use twill_test_support::dhcp::{
    printed_client_id, DhcpDaemon, DhcpLan, RANGE_END, RANGE_START, SERVER, T1_SECS,
};
use twill_test_support::run::Request;
use twill_test_support::{require_root, Impl, Sandbox};

const NET: &str = "dhcpnet";

fn address(result: &Value) -> Ipv4Addr {
    let cidr = result["ips"][0]["address"].as_str().unwrap();
    cidr.split('/').next().unwrap().parse().unwrap()
}

fn in_range(ip: Ipv4Addr) -> bool {
    (u32::from(RANGE_START)..=u32::from(RANGE_END)).contains(&u32::from(ip))
}

#[test]
fn add_leases_from_the_server_and_del_releases_it() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let pod = sb.pod("p1");

    let result = sb.twill("bridge", "ADD", "ctr1", &pod.path, &conf).ok();
    let ip = address(&result);
    assert!(in_range(ip), "{result}");
    assert_eq!(result["ips"][0]["address"], format!("{ip}/24"));
    assert_eq!(result["ips"][0]["gateway"], SERVER.to_string());
    assert_eq!(result["routes"][0]["dst"], "0.0.0.0/0");
    assert_eq!(result["routes"][0]["gw"], SERVER.to_string());

    // The server holds it for this attachment's client id (the reference's).
    let id = printed_client_id("ctr1", NET, "eth0");
    let held = lan.wait_for(5, "the pod's lease", |l| {
        l.iter().any(|x| x.client_id == id)
    });
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].ip, ip);
    assert_eq!(daemon.lease_files().len(), 1);

    // The address works: the pod reaches the server.
    assert!(
        pod.ping(&SERVER.to_string(), 5),
        "pod cannot reach the server"
    );

    // CHECK agrees.
    sb.twill(
        "bridge",
        "CHECK",
        "ctr1",
        &pod.path,
        &with_prev(&conf, &result),
    )
    .ok();

    // DEL gives the address back at the server, and a second DEL is fine.
    sb.twill("bridge", "DEL", "ctr1", &pod.path, &conf).ok();
    lan.wait_for(5, "the released lease gone", |l| l.is_empty());
    assert!(daemon.lease_files().is_empty());
    sb.twill("bridge", "DEL", "ctr1", &pod.path, &conf).ok();
}

fn with_prev(conf: &Value, prev: &Value) -> Value {
    let mut c = conf.clone();
    c["prevResult"] = prev.clone();
    c
}

/// Waits until the server's lease of `id` expires later than `after`: the daemon renewed it.
fn renewed(lan: &DhcpLan, id: &str, after: u64) -> u64 {
    let l = lan.wait_for(3 * T1_SECS + 5, "a renewal", |l| {
        l.iter().any(|x| x.client_id == id && x.expires > after)
    });
    l.into_iter().find(|x| x.client_id == id).unwrap().expires
}

#[test]
fn leases_are_renewed_and_survive_a_daemon_crash() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let mut daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let pods = [sb.pod("a"), sb.pod("b")];
    let ids = ["ctra", "ctrb"];
    let mut ips = Vec::new();
    for (pod, id) in pods.iter().zip(ids) {
        ips.push(address(
            &sb.twill("bridge", "ADD", id, &pod.path, &conf).ok(),
        ));
    }
    assert_ne!(ips[0], ips[1]);
    let cids: Vec<String> = ids
        .iter()
        .map(|c| printed_client_id(c, NET, "eth0"))
        .collect();
    let first: Vec<u64> = cids
        .iter()
        .map(|c| lan.wait_for(5, "the lease", |l| l.iter().any(|x| x.client_id == *c)))
        .map(|l| l.iter().map(|x| x.expires).max().unwrap())
        .collect();
    let first = first.iter().copied().max().unwrap();

    // At T1 the daemon renews: the server's expiry moves on.
    let before_crash: Vec<u64> = cids.iter().map(|c| renewed(&lan, c, first)).collect();

    // A crash: the daemon dies without a word; a new one takes every lease up again and goes
    // on renewing them, with the same addresses.
    daemon.kill();
    daemon.restart(&sb);
    for (i, c) in cids.iter().enumerate() {
        renewed(&lan, c, before_crash[i]);
        assert_eq!(lan.lease_of(c).unwrap().ip, ips[i], "{}", daemon.log());
    }
    assert_eq!(lan.leases().len(), 2);
    // ADD again answers with the lease held (no second lease at the server).
    let again = sb.twill("dhcp", "ADD", "ctra", &pods[0].path, &conf).ok();
    assert_eq!(address(&again), ips[0]);
    assert_eq!(lan.leases().len(), 2);
    assert!(pods[0].ping(&SERVER.to_string(), 5));

    // DEL after the restart still releases at the server.
    for (pod, id) in pods.iter().zip(ids) {
        sb.twill("bridge", "DEL", id, &pod.path, &conf).ok();
    }
    lan.wait_for(5, "both leases released", |l| l.is_empty());
    assert!(daemon.lease_files().is_empty());
}

#[test]
fn gc_releases_the_leases_of_vanished_pods() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let keep = sb.pod("keep");
    let gone = sb.pod("gone");
    sb.twill("bridge", "ADD", "keep", &keep.path, &conf).ok();
    sb.twill("bridge", "ADD", "gone", &gone.path, &conf).ok();
    // Another network's lease on the same daemon is not this GC's business.
    let other = DhcpDaemon::bridge_conf(&daemon, "othernet");
    let third = sb.pod("third");
    sb.twill("bridge", "ADD", "third", &third.path, &other).ok();
    lan.wait_for(5, "three leases", |l| l.len() == 3);
    // The pod dies with no DEL.
    let _ = sb.delete_pod(gone);

    let mut gc = conf.clone();
    gc["cni.dev/valid-attachments"] =
        serde_json::json!([{"containerID": "keep", "ifname": "eth0"}]);
    let req = Request {
        container_id: "",
        netns: None,
        ifname: "",
        ..Request::new("GC", "", Path::new(""))
    };
    sb.exec(Impl::Twill, "dhcp", &req, &gc).ok();
    let left = lan.wait_for(5, "the vanished pod's lease released", |l| l.len() == 2);
    let keep_id = printed_client_id("keep", NET, "eth0");
    let third_id = printed_client_id("third", "othernet", "eth0");
    assert!(left.iter().any(|x| x.client_id == keep_id), "{left:?}");
    assert!(left.iter().any(|x| x.client_id == third_id), "{left:?}");
    assert_eq!(daemon.lease_files().len(), 2);
    sb.twill("bridge", "DEL", "keep", &keep.path, &conf).ok();
    sb.twill("bridge", "DEL", "third", &third.path, &other).ok();
    lan.wait_for(5, "all released", |l| l.is_empty());
}

#[test]
fn del_without_the_netns_still_releases() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let p1 = sb.pod("p1");
    let p2 = sb.pod("p2");
    sb.twill("bridge", "ADD", "c1", &p1.path, &conf).ok();
    sb.twill("bridge", "ADD", "c2", &p2.path, &conf).ok();
    lan.wait_for(5, "two leases", |l| l.len() == 2);

    // The runtime removed the namespace before DEL (c1), or sends no CNI_NETNS at all (c2).
    let path = sb.delete_pod(p1);
    sb.twill("bridge", "DEL", "c1", &path, &conf).ok();
    let no_netns = Request {
        netns: None,
        ..Request::new("DEL", "c2", Path::new(""))
    };
    sb.exec(Impl::Twill, "bridge", &no_netns, &conf).ok();
    lan.wait_for(5, "both released", |l| l.is_empty());
    assert!(daemon.lease_files().is_empty());
    sb.exec(Impl::Twill, "bridge", &no_netns, &conf).ok();
    // Having released c1's lease the daemon lets go of its namespace: the kernel then
    // dismantles the pod's veth pair, leaving the server's port and p2's on the bridge.
    let veths = |sb: &mut Sandbox| {
        let links = sb.host.nl.link_list().unwrap();
        links
            .iter()
            .filter(|l| l.kind.as_deref() == Some("veth"))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while veths(&mut sb) != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "c1's namespace was kept alive"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(p2);
}

#[test]
fn classless_routes_and_provided_options_reach_the_result_and_the_server() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(
        &mut sb,
        &["--dhcp-option=121,10.88.0.0/16,10.77.0.2,0.0.0.0/0,10.77.0.1"],
    );
    let daemon = DhcpDaemon::start(&sb);
    let mut conf = daemon.bridge_conf(NET);
    conf["ipam"]["request"] = serde_json::json!([{"option": "121"}]);
    conf["ipam"]["provide"] =
        serde_json::json!([{"option": "host-name", "fromArg": "K8S_POD_NAME"}]);
    let pod = sb.pod("p");
    let req = Request {
        args: "IgnoreUnknown=1;K8S_POD_NAME=web-0",
        ..Request::new("ADD", "ctr", &pod.path)
    };
    let result = sb.exec(Impl::Twill, "bridge", &req, &conf).ok();
    let routes: Vec<(String, String)> = result["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dst"].as_str().unwrap().to_owned(),
                r["gw"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("10.88.0.0/16".into(), "10.77.0.2".into()),
            ("0.0.0.0/0".into(), "10.77.0.1".into())
        ],
        "{result}"
    );
    lan.wait_for(5, "the lease", |l| l.len() == 1);
    let text = std::fs::read_to_string(lan.dir.join("leases")).unwrap();
    assert!(text.contains(" web-0 "), "host name not sent: {text}");
    let del = Request {
        command: "DEL",
        ..req
    };
    sb.exec(Impl::Twill, "bridge", &del, &conf).ok();
    lan.wait_for(5, "released", |l| l.is_empty());
}

#[test]
fn bad_input_and_a_missing_daemon_fail_with_the_right_code() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let mut daemon = DhcpDaemon::start(&sb);
    let pod = sb.pod("p");
    let base = serde_json::json!({
        "cniVersion": "1.1.0", "name": NET, "type": "dhcp",
        "ipam": {"type": "dhcp", "daemonSocketPath": daemon.socket},
    });
    let run = |conf: &Value, command: &str| {
        sb.exec(
            Impl::Twill,
            "dhcp",
            &Request::new(command, "ctr", &pod.path),
            conf,
        )
    };
    let mut bad = base.clone();
    bad["ipam"]["request"] = serde_json::json!([{"option": "classless"}]);
    let (code, msg) = run(&bad, "ADD").err();
    assert_eq!(code, 7);
    assert!(msg.contains("ipam.request[0].option"), "{msg}");
    bad["ipam"]["request"] = serde_json::json!("121");
    let (code, msg) = run(&bad, "ADD").err();
    assert_eq!(code, 6);
    assert!(msg.contains("ipam.request"), "{msg}");
    let mut long = base.clone();
    long["ipam"]["provide"] = serde_json::json!([{"option": "12", "value": "x".repeat(300)}]);
    let (code, msg) = run(&long, "ADD").err();
    assert_eq!(code, 7);
    assert!(msg.contains("ipam.provide[0].value"), "{msg}");

    // The interface is not there (the dhcp plugin alone, no bridge before it): an error,
    // and nothing held anywhere.
    let (code, msg) = run(&base, "ADD").err();
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains("eth0"), "{msg}");
    assert!(daemon.lease_files().is_empty());
    assert!(lan.leases().is_empty());

    // The daemon answers STATUS; without it, STATUS is 50 and ADD/DEL are "try again later".
    run(&base, "STATUS").ok();
    daemon.kill();
    let (code, msg) = run(&base, "STATUS").err();
    assert_eq!(code, 50, "{msg}");
    let (code, _) = run(&base, "ADD").err();
    assert_eq!(code, 11);
    let (code, msg) = run(&base, "DEL").err();
    assert_eq!(code, 11);
    assert!(msg.contains("dhcp.sock"), "{msg}");
    // Without the daemon the daemon refuses to start on bad flags.
    let out = std::process::Command::new(twill_test_support::plugins::twill_cni())
        .args(["dhcp", "daemon", "-timeout", "ten"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-timeout"));
}

#[test]
fn the_reference_daemon_and_ours_hold_the_same_lease() {
    require_root();
    let mut sb = Sandbox::new();
    // Classless routes (one via a router, one on-link, the default), asked for by both.
    let lan = DhcpLan::start(
        &mut sb,
        &["--dhcp-option=121,10.88.0.0/16,10.77.0.2,10.99.0.0/24,0.0.0.0,0.0.0.0/0,10.77.0.1"],
    );
    let ours = DhcpDaemon::start(&sb);
    let theirs = DhcpDaemon::start_impl(&sb, Impl::Reference);
    // The same attachment (container, network, interface, MAC) through the reference chain,
    // then through ours.
    let args = "IgnoreUnknown=1;MAC=02:00:00:77:00:01";
    let id = printed_client_id("ctr", NET, "eth0");
    let mut results = Vec::new();
    let mut addresses = Vec::new();
    for (imp, daemon) in [(Impl::Reference, &theirs), (Impl::Twill, &ours)] {
        let pod = sb.pod(&format!("{imp:?}"));
        let mut conf = daemon.bridge_conf(NET);
        conf["ipam"]["request"] = serde_json::json!([{"option": "121"}]);
        let add = Request {
            args,
            ..Request::new("ADD", "ctr", &pod.path)
        };
        let result = sb.exec(imp, "bridge", &add, &conf).ok();
        // The server sees one client, with the same client id, whoever asks.
        let held = lan.wait_for(5, "the lease", |l| {
            l.len() == 1 && l[0].ip == address(&result)
        });
        assert_eq!(held[0].client_id, id, "{imp:?}");
        assert_eq!(held[0].mac, "02:00:00:77:00:01");
        addresses.push(held[0].ip);
        // The reference writes an on-link route's next hop as "0.0.0.0"; ours leaves it out
        // (docs/plugins/dhcp.md): the same route.
        let mut routes = result["routes"].clone();
        for r in routes.as_array_mut().unwrap() {
            if r["gw"] == "0.0.0.0" {
                r.as_object_mut().unwrap().remove("gw");
            }
        }
        assert_eq!(routes.as_array().unwrap().len(), 3, "{result}");
        results.push((result["ips"].clone(), routes, result["dns"].clone()));
        let del = Request {
            command: "DEL",
            ..add
        };
        sb.exec(imp, "bridge", &del, &conf).ok();
    }
    // Ours took over the very lease the reference held (the reference's DEL leaves the
    // lease at dnsmasq, as observed with v1.1.1) and gave the same result; ours released it.
    assert_eq!(addresses[0], addresses[1]);
    assert_eq!(results[0], results[1]);
    lan.wait_for(5, "the lease released", |l| l.is_empty());
}

#[test]
fn a_server_out_of_reach_by_unicast_is_found_again_by_rebinding() {
    require_root();
    let mut sb = Sandbox::new();
    // Renew after 4 s, rebind after 7 s.
    let lan = DhcpLan::start_with_t2(&mut sb, 7, &[]);
    let mut daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let pod = sb.pod("p");
    let ip = address(&sb.twill("bridge", "ADD", "ctr", &pod.path, &conf).ok());
    let id = printed_client_id("ctr", NET, "eth0");
    let first = lan.wait_for(5, "the lease", |l| l.len() == 1)[0].expires;

    // The saved lease now sends renewals to a link-layer address nobody has: every unicast
    // REQUEST is lost, and only the broadcast of the rebinding state reaches the server.
    daemon.kill();
    let file = sb.tmp.join("dhcp-state");
    let name = &daemon.lease_files()[0];
    let path = file.join(name);
    let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    record["serverMac"] = serde_json::json!([2, 0, 0, 0, 0, 0xee]);
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    daemon.restart(&sb);

    let after = renewed(&lan, &id, first);
    assert_eq!(lan.lease_of(&id).unwrap().ip, ip);
    let log = daemon.log();
    assert!(log.contains("Renewing: no answer"), "{log}");
    assert!(log.contains("Rebinding: lease of"), "{log}");
    assert!(after > first);
    sb.twill("bridge", "DEL", "ctr", &pod.path, &conf).ok();
    lan.wait_for(5, "released", |l| l.is_empty());
}

#[test]
fn no_server_answering_is_try_again_later_and_leaves_nothing() {
    require_root();
    let mut sb = Sandbox::new();
    // No LAN: the bridge plugin makes a bridge with nobody else on it.
    let daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let mut pod = sb.pod("p");
    let (code, msg) = sb.twill("bridge", "ADD", "ctr", &pod.path, &conf).err();
    assert_eq!(code, 11, "{msg}");
    assert!(msg.contains("no answer from a DHCP server"), "{msg}");
    assert!(daemon.lease_files().is_empty());
    // The bridge plugin rolled its veth back.
    assert!(pod.nl.link_index("eth0").is_err());
}

#[test]
fn renewals_follow_a_mac_changed_later_in_the_chain() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let pod = sb.pod("p");
    let result = sb.twill("bridge", "ADD", "ctr", &pod.path, &conf).ok();
    let id = printed_client_id("ctr", NET, "eth0");
    let first = lan.wait_for(5, "the lease", |l| l.len() == 1)[0].clone();
    // tuning, after bridge in the chain, gives the interface another MAC.
    let tuning = serde_json::json!({
        "cniVersion": "1.1.0", "name": NET, "type": "tuning",
        "mac": "02:00:00:77:aa:01", "prevResult": result,
    });
    sb.twill("tuning", "ADD", "ctr", &pod.path, &tuning).ok();
    let renewed = lan.wait_for(3 * T1_SECS + 5, "a renewal from the new MAC", |l| {
        l.iter()
            .any(|x| x.client_id == id && x.mac == "02:00:00:77:aa:01")
    });
    assert_eq!(renewed[0].ip, first.ip);
    assert!(pod.ping(&SERVER.to_string(), 5));
    sb.twill("tuning", "DEL", "ctr", &pod.path, &tuning).ok();
    sb.twill("bridge", "DEL", "ctr", &pod.path, &conf).ok();
    lan.wait_for(5, "released", |l| l.is_empty());
}

#[test]
fn hostprefix_pidfile_and_a_clean_stop() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let pod = sb.pod("p");
    // The daemon sees the host's root below a prefix, as in a container with it mounted.
    // Below this one, /pods is the test's namespace directory (and /tmp the real /tmp, for
    // the socket): a namespace path that exists only under the prefix.
    let root = sb.tmp.join("hostroot");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::symlink("/tmp", root.join("tmp")).unwrap();
    std::os::unix::fs::symlink(pod.path.parent().unwrap(), root.join("pods")).unwrap();
    let pidfile = sb.tmp.join("dhcp.pid");
    let mut daemon = DhcpDaemon::start_with(
        &sb,
        Impl::Twill,
        &[
            "-hostprefix",
            root.to_str().unwrap(),
            "-pidfile",
            pidfile.to_str().unwrap(),
        ],
    );
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().parse().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    // The pod's interface, from bridge with a stand-in IPAM; then dhcp on its own, given
    // the namespace as the daemon's prefix sees it.
    let bridge = serde_json::json!({
        "cniVersion": "1.1.0", "name": NET, "type": "bridge", "bridge": twill_test_support::dhcp::BRIDGE,
        "ipam": {"type": twill_test_support::sandbox::FIXED_IPAM},
    });
    sb.twill("bridge", "ADD", "ctr", &pod.path, &bridge).ok();
    let inside = Path::new("/pods").join(pod.path.file_name().unwrap());
    assert!(!inside.exists());
    let dhcp = serde_json::json!({
        "cniVersion": "1.1.0", "name": NET, "type": "dhcp",
        "ipam": {"type": "dhcp", "daemonSocketPath": daemon.socket},
    });
    let ip = address(&sb.twill("dhcp", "ADD", "ctr", &inside, &dhcp).ok());
    lan.wait_for(5, "the lease", |l| l.len() == 1 && l[0].ip == ip);

    // SIGTERM: socket and pid file go, the lease stays held and saved.
    assert!(daemon.terminate().success(), "{}", daemon.log());
    assert!(!daemon.socket.exists());
    assert!(!pidfile.exists());
    assert_eq!(daemon.lease_files().len(), 1);
    assert_eq!(lan.leases().len(), 1);
    daemon.restart(&sb);
    sb.twill("dhcp", "DEL", "ctr", &inside, &dhcp).ok();
    lan.wait_for(5, "released", |l| l.is_empty());
    sb.twill("bridge", "DEL", "ctr", &pod.path, &bridge).ok();
}

/// Rewrites the saved lease of the only lease file as if its ACK came `secs_ago`.
fn age_saved_lease(daemon: &DhcpDaemon, secs_ago: u64) {
    let files = daemon.lease_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let path = daemon.state_dir.join(&files[0]);
    let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    record["boundAt"] = (now - secs_ago).into();
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
}

#[test]
fn a_lease_that_expired_while_the_daemon_was_down() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let mut daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let mut pod = sb.pod("p");
    let ip = address(&sb.twill("bridge", "ADD", "ctr", &pod.path, &conf).ok());
    lan.wait_for(5, "the lease", |l| l.len() == 1);

    // Down past the lease's end, with the server still there: the same address is acquired
    // again at start, and the interface stays up.
    daemon.kill();
    age_saved_lease(&daemon, 1000);
    daemon.restart(&sb);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !daemon.log().contains("Expired: lease of") {
        assert!(std::time::Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(lan.leases()[0].ip, ip);
    let eth0 = |pod: &mut twill_test_support::Ns| pod.nl.link_get(LinkId::Name("eth0")).unwrap();
    assert!(eth0(&mut pod).is_up());

    // Again, and now no server answers: the address is not used any longer.
    daemon.kill();
    age_saved_lease(&daemon, 1000);
    drop(lan);
    daemon.restart(&sb);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while eth0(&mut pod).is_up() {
        assert!(std::time::Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // DEL still ends it (the release goes nowhere) and forgets the lease.
    sb.twill("bridge", "DEL", "ctr", &pod.path, &conf).ok();
    assert!(daemon.lease_files().is_empty());
}

#[test]
fn a_restart_forgets_only_the_leases_of_pods_gone_meanwhile() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let mut daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let stays = sb.pod("stays");
    let goes = sb.pod("goes");
    sb.twill("bridge", "ADD", "stays", &stays.path, &conf).ok();
    sb.twill("bridge", "ADD", "goes", &goes.path, &conf).ok();
    lan.wait_for(5, "two leases", |l| l.len() == 2);
    daemon.kill();
    let _ = sb.delete_pod(goes);
    daemon.restart(&sb);
    assert_eq!(daemon.lease_files().len(), 1, "{}", daemon.log());
    assert!(
        daemon.log().contains("goes/dhcpnet/eth0: pod is gone"),
        "{}",
        daemon.log()
    );
    // The other one is still held: CHECK finds it, DEL releases it.
    let mut check = conf.clone();
    check["prevResult"] = sb.twill("dhcp", "ADD", "stays", &stays.path, &conf).ok();
    sb.twill("dhcp", "CHECK", "stays", &stays.path, &check).ok();
    sb.twill("bridge", "DEL", "stays", &stays.path, &conf).ok();
    let id = printed_client_id("stays", NET, "eth0");
    lan.wait_for(5, "its lease released", |l| {
        l.iter().all(|x| x.client_id != id)
    });
}

#[test]
fn parallel_adds_get_distinct_leases_and_one_gc_releases_them_all() {
    require_root();
    let mut sb = Sandbox::new();
    let lan = DhcpLan::start(&mut sb, &[]);
    let daemon = DhcpDaemon::start(&sb);
    let conf = daemon.bridge_conf(NET);
    let pods: Vec<_> = (0..8).map(|i| sb.pod(&format!("p{i}"))).collect();
    let ids: Vec<String> = (0..8).map(|i| format!("ctr{i}")).collect();
    let children: Vec<_> = pods
        .iter()
        .zip(&ids)
        .map(|(pod, id)| {
            sb.spawn(
                Impl::Twill,
                "bridge",
                &Request::new("ADD", id, &pod.path),
                &conf,
            )
        })
        .collect();
    let mut ips = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        ips.push(address(&serde_json::from_slice(&out.stdout).unwrap()));
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 8);
    lan.wait_for(5, "eight leases", |l| l.len() == 8);
    assert_eq!(daemon.lease_files().len(), 8);

    // A runtime that lost every pod: GC with nothing valid releases all eight.
    let mut gc = conf.clone();
    gc["cni.dev/valid-attachments"] = serde_json::json!([]);
    let req = Request {
        netns: None,
        ifname: "",
        ..Request::new("GC", "", Path::new(""))
    };
    sb.exec(Impl::Twill, "dhcp", &req, &gc).ok();
    lan.wait_for(5, "all released", |l| l.is_empty());
    assert!(daemon.lease_files().is_empty());
}

/// The plugin (through bridge) and the daemon through ADD, CHECK, GC and DEL with `ip`, `sh`,
/// `dhclient` and friends on PATH replaced by traps: neither executes a program.
#[test]
fn neither_the_plugin_nor_the_daemon_executes_a_program() {
    require_root();
    let mut sb = Sandbox::new();
    let (traps, marker) = sb.traps(&["ip", "sh", "dhclient", "udhcpc", "sysctl", "nft"]);
    let lan = DhcpLan::start(&mut sb, &[]);
    let daemon = DhcpDaemon::start_with_path(&sb, &traps);
    let conf = daemon.bridge_conf(NET);
    let pod = sb.pod("p1");
    let exec = |cmd: &str, conf: &Value| {
        let req = Request {
            path: Some(&traps),
            ..Request::new(cmd, "ctr-trap", &pod.path)
        };
        sb.exec(Impl::Twill, "bridge", &req, conf).ok()
    };
    let result = exec("ADD", &conf);
    assert!(in_range(address(&result)), "{result}");
    exec("CHECK", &with_prev(&conf, &result));
    let mut gc = conf.clone();
    gc["cniVersion"] = "1.1.0".into();
    gc["cni.dev/valid-attachments"] =
        serde_json::json!([{"containerID": "ctr-trap", "ifname": "eth0"}]);
    exec("GC", &gc);
    exec("DEL", &conf);
    lan.wait_for(5, "the released lease gone", |l| l.is_empty());
    assert!(
        !marker.exists(),
        "a program was executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}
