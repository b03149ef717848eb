//! DEL is idempotent: it succeeds when the namespace, the link or the IPAM state are already
//! gone, and on repeats — and it releases the address even when the namespace is gone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::run::Request;
use support::{state, Impl, Sandbox};
use twill_kernel::LinkId;

fn conf(sb: &Sandbox) -> Value {
    sb.conf(json!({
        "cniVersion": "1.0.0", "name": "delnet", "type": "bridge", "bridge": "br-del",
        "isGateway": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.4.0.0/24"}], [{"subnet": "fd00:4::/64"}]]},
    }))
}

#[test]
fn netns_already_gone_still_releases_the_address() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let c = conf(&sb);
    sb.twill("bridge", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(sb.reserved("delnet").len(), 2);
    let path = sb.delete_pod(pod);
    sb.twill("bridge", "DEL", "ctr", &path, &c).ok();
    assert!(sb.reserved("delnet").is_empty());
    // The pair goes with the namespace (the kernel dismantles it asynchronously); then the
    // bridge has no ports left.
    let mut ports = json!(null);
    for _ in 0..200 {
        ports = state::host(&mut sb.host, "br-del")["ports"].clone();
        if ports == json!([]) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(ports, json!([]));
    sb.twill("bridge", "DEL", "ctr", &path, &c).ok();
}

#[test]
fn no_netns_at_all_releases_the_address() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = conf(&sb);
    sb.twill("bridge", "ADD", "ctr", &pod.path, &c).ok();
    let req = Request {
        netns: None,
        ..Request::new("DEL", "ctr", &pod.path)
    };
    sb.exec(Impl::Twill, "bridge", &req, &c).ok();
    assert!(sb.reserved("delnet").is_empty());
    // Without a namespace the link cannot be found; a later DEL with it removes it.
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_ok());
    sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
}

#[test]
fn link_gone_ipam_state_gone_and_repeats() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = conf(&sb);
    sb.twill("bridge", "ADD", "ctr", &pod.path, &c).ok();
    pod.nl.link_delete(LinkId::Name("eth0")).unwrap();
    sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();
    assert!(sb.reserved("delnet").is_empty());

    sb.twill("bridge", "ADD", "ctr", &pod.path, &c).ok();
    std::fs::remove_dir_all(sb.ipam_dir()).unwrap();
    sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    for _ in 0..3 {
        sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();
    }
    // A path that is not a namespace (what is left once its bind mount is gone).
    let stale = sb.tmp.join("stale-netns");
    std::fs::write(&stale, b"").unwrap();
    sb.twill("bridge", "DEL", "ctr", &stale, &c).ok();
}

#[test]
fn del_cleans_up_after_configurations_add_refuses() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let mut c = conf(&sb);
    c["ipMasqBackend"] = "iptables".into();
    assert_eq!(sb.twill("bridge", "ADD", "ctr", &pod.path, &c).err().0, 2);
    sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();
}

#[test]
fn loopback_del_when_netns_is_gone() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let c = json!({"cniVersion": "1.0.0", "name": "lo", "type": "loopback"});
    sb.twill("loopback", "ADD", "ctr", &pod.path, &c).ok();
    let path = sb.delete_pod(pod);
    sb.twill("loopback", "DEL", "ctr", &path, &c).ok();
    let req = Request {
        netns: None,
        ..Request::new("DEL", "ctr", &path)
    };
    sb.exec(Impl::Twill, "loopback", &req, &c).ok();
}
