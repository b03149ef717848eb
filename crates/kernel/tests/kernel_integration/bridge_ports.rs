//! Bridge ports: a veth created already attached and up, port options set and read back
//! (and cross-checked with iproute2's view), promiscuous mode, the operational state.

use std::os::fd::AsFd;
use std::process::Command;

use twill_kernel::bridge_port::{BridgePortChange, PortState};
use twill_kernel::link_ext::{IFF_PROMISC, OPER_UP};
use twill_kernel::NewLink;

use crate::common::Sandbox;

/// `ip -d -j link show dev DEV` inside namespace `ns`, compact JSON text: the reference view.
fn ip_detail(ns: &std::path::Path, dev: &str) -> String {
    let netns = format!("--net={}", ns.display());
    let out = Command::new("nsenter")
        .args([netns.as_str(), "ip", "-d", "-j", "link", "show", "dev", dev])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace(' ', "")
}

#[test]
fn veth_enslaved_on_creation_with_port_options() {
    let mut sb = Sandbox::new();
    let mut host = sb.ns();
    let mut pod = sb.ns();
    host.nl.link_add(&NewLink::bridge("br0").up()).unwrap();
    let br = host.nl.link_get("br0".into()).unwrap();

    let spec = NewLink::veth("vport0", "eth0")
        .peer_netns(pod.ns.as_fd())
        .up();
    host.nl.link_add_enslaved(&spec, br.index).unwrap();
    let port = host.nl.link_get("vport0".into()).unwrap();
    assert_eq!(port.master, Some(br.index));
    assert!(port.is_up());
    assert!(pod.nl.link_get("eth0".into()).is_ok());

    let info = host.nl.bridge_port_get(port.index.into()).unwrap().unwrap();
    assert!(!info.hairpin && !info.isolated && info.learning);

    let change = BridgePortChange {
        hairpin: Some(true),
        isolated: Some(true),
        learning: Some(false),
    };
    host.nl.bridge_port_set("vport0".into(), &change).unwrap();
    let info = host.nl.bridge_port_get("vport0".into()).unwrap().unwrap();
    assert!(info.hairpin && info.isolated && !info.learning);

    // iproute2 agrees, which proves the attribute numbers.
    let detail = ip_detail(&host.path, "vport0");
    for expected in [
        r#""hairpin":true"#,
        r#""isolated":true"#,
        r#""learning":false"#,
    ] {
        assert!(detail.contains(expected), "{expected} not in {detail}");
    }

    // With the peer up, the port forwards and the link is operationally up (both settle
    // asynchronously; bounded wait).
    pod.nl.link_set_up("eth0".into()).unwrap();
    let mut settled = false;
    for _ in 0..100 {
        let msg = host.nl.link_get_message("vport0".into()).unwrap();
        let state = host
            .nl
            .bridge_port_get("vport0".into())
            .unwrap()
            .unwrap()
            .state;
        if msg.oper_state == Some(OPER_UP) && state == PortState::FORWARDING {
            settled = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(settled, "port never became operationally up and forwarding");

    // A link that is not a port has no port information.
    assert_eq!(host.nl.bridge_port_get("br0".into()).unwrap(), None);
}

#[test]
fn promiscuous_mode_on_and_off() {
    let mut sb = Sandbox::new();
    let mut host = sb.ns();
    host.nl.link_add(&NewLink::bridge("br0")).unwrap();
    host.nl.link_set_promisc_flag("br0".into(), true).unwrap();
    let br = host.nl.link_get("br0".into()).unwrap();
    assert_ne!(br.flags & IFF_PROMISC, 0);
    assert!(!br.is_up(), "only the promiscuous flag changes");
    host.nl.link_set_promisc_flag("br0".into(), false).unwrap();
    assert_eq!(
        host.nl.link_get("br0".into()).unwrap().flags & IFF_PROMISC,
        0
    );
}

#[test]
fn enslaving_to_a_missing_master_fails_and_creates_nothing() {
    let mut sb = Sandbox::new();
    let mut host = sb.ns();
    let err = host
        .nl
        .link_add_enslaved(&NewLink::veth("vport0", "vpeer0"), 4242)
        .unwrap_err();
    assert!(err.to_string().contains("vport0"), "{err}");
    assert!(host
        .nl
        .link_get("vport0".into())
        .unwrap_err()
        .is_not_found());
    assert!(host
        .nl
        .link_get("vpeer0".into())
        .unwrap_err()
        .is_not_found());
}
