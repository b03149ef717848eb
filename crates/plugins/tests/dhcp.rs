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
    let _ = T1_SECS;
}

fn with_prev(conf: &Value, prev: &Value) -> Value {
    let mut c = conf.clone();
    c["prevResult"] = prev.clone();
    c
}

#[allow(dead_code)]
fn dhcp_req<'a>(command: &'a str, id: &'a str, netns: &'a Path) -> Request<'a> {
    Request::new(command, id, netns)
}

#[allow(dead_code)]
const TWILL: Impl = Impl::Twill;
