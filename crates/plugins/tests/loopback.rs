//! The loopback plugin: lo up (whatever CNI_IFNAME says), the result for every version,
//! prevResult passed through, DEL and CHECK.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::json;
use support::run::Request;
use support::{traffic, Impl, Sandbox};
use twill_kernel::LinkId;

#[test]
fn add_brings_lo_up_and_reports_its_addresses() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    assert!(!pod.nl.link_get(LinkId::Index(1)).unwrap().is_up());
    let c = json!({"cniVersion": "1.0.0", "name": "lo", "type": "loopback"});
    let req = Request {
        ifname: "whatever0",
        ..Request::new("ADD", "ctr", &pod.path)
    };
    let r = sb.exec(Impl::Twill, "loopback", &req, &c).ok();
    assert_eq!(
        r,
        json!({"cniVersion": "1.0.0",
               "interfaces": [{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": pod.path_str()}],
               "ips": [{"interface": 0, "address": "127.0.0.1/8"}, {"interface": 0, "address": "::1/128"}],
               "dns": {}})
    );
    assert!(pod.nl.link_get(LinkId::Index(1)).unwrap().is_up());
    traffic::udp(&pod, &pod, "127.0.0.1".parse().unwrap()).unwrap();
    traffic::udp(&pod, &pod, "::1".parse().unwrap()).unwrap();

    let mut check = c.clone();
    check["prevResult"] = r;
    sb.twill("loopback", "CHECK", "ctr", &pod.path, &check).ok();
    sb.twill("loopback", "DEL", "ctr", &pod.path, &c).ok();
    assert!(!pod.nl.link_get(LinkId::Index(1)).unwrap().is_up());
    let (_, msg) = sb
        .twill("loopback", "CHECK", "ctr", &pod.path, &check)
        .err();
    assert!(msg.contains("loopback interface is down"), "{msg}");
}

#[test]
fn every_version_and_prev_result_passthrough() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    for v in [
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
    ] {
        let c = json!({"cniVersion": v, "name": "lo", "type": "loopback"});
        let r = sb.twill("loopback", "ADD", "ctr", &pod.path, &c).ok();
        assert_eq!(r["cniVersion"], v);
        if v < "0.3.0" {
            assert_eq!(r["ip4"]["ip"], "127.0.0.1/8", "{r}");
            assert_eq!(r["ip6"]["ip"], "::1/128", "{r}");
        } else {
            assert_eq!(r["interfaces"][0]["name"], "lo", "{r}");
        }
    }
    // A previous result is passed through, converted to the configuration's version.
    let prev = json!({"cniVersion": "0.3.1", "interfaces": [{"name": "eth0"}],
                      "ips": [{"version": "4", "interface": 0, "address": "10.9.0.2/24"}]});
    let c = json!({"cniVersion": "1.0.0", "name": "lo", "type": "loopback", "prevResult": prev});
    let r = sb.twill("loopback", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(
        r,
        json!({"cniVersion": "1.0.0", "interfaces": [{"name": "eth0"}],
               "ips": [{"interface": 0, "address": "10.9.0.2/24"}], "dns": {}})
    );
}

#[test]
fn missing_netns_is_an_error_on_add_and_check() {
    let sb = Sandbox::new();
    let c = json!({"cniVersion": "1.0.0", "name": "lo", "type": "loopback"});
    let nope = sb.tmp.join("nope");
    assert_eq!(sb.twill("loopback", "ADD", "ctr", &nope, &c).err().0, 8);
    assert_eq!(sb.twill("loopback", "CHECK", "ctr", &nope, &c).err().0, 8);
}
