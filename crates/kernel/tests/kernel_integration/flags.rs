//! Link tunables: promiscuous and all-multicast mode, transmit queue length, read back.

use twill_kernel::link::Tunable;
use twill_kernel::{LinkId, NewLink};

use crate::common::Sandbox;

#[test]
fn promisc_allmulti_and_txqlen_are_set_and_read_back() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    a.nl.link_add(&NewLink::veth("t0", "t1").up()).unwrap();
    let before = a.nl.link_tunables("t0".into()).unwrap();
    assert!(!before.promisc && !before.allmulti);
    assert_eq!(before.mtu, 1500);
    assert_eq!(before.txqlen, 1000);

    a.nl.link_set_promisc("t0".into(), true).unwrap();
    a.nl.link_set_allmulti("t0".into(), true).unwrap();
    a.nl.link_set_txqlen("t0".into(), 42).unwrap();
    let after = a.nl.link_tunables(LinkId::Index(before.index)).unwrap();
    assert!(after.promisc && after.allmulti);
    assert_eq!(after.txqlen, 42);
    // The other end and the other flags are untouched.
    let link = a.nl.link_get("t0".into()).unwrap();
    assert!(link.is_up(), "changing a flag must not bring the link down");
    let peer = a.nl.link_tunables("t1".into()).unwrap();
    assert!(!peer.promisc && !peer.allmulti && peer.txqlen == 1000);

    a.nl.link_set_promisc("t0".into(), false).unwrap();
    a.nl.link_set_allmulti("t0".into(), false).unwrap();
    a.nl.link_set_txqlen("t0".into(), 0).unwrap();
    let reset = a.nl.link_tunables("t0".into()).unwrap();
    assert!(!reset.promisc && !reset.allmulti);
    assert_eq!(reset.txqlen, 0);
    assert_eq!(reset.mac, before.mac);
}

#[test]
fn a_bridge_port_reports_the_flag_asked_for_not_the_bridge_s_promiscuity() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    a.nl.link_add(&NewLink::bridge("br0").up()).unwrap();
    a.nl.link_add(&NewLink::veth("p0", "p1").up()).unwrap();
    let br = a.nl.link_index("br0").unwrap();
    a.nl.link_set_master("p0".into(), Some(br)).unwrap();
    // The bridge raises the port's promiscuity count, which is not a user's setting.
    assert!(!a.nl.link_tunables("p0".into()).unwrap().promisc);
}

#[test]
fn errors_name_the_link_and_the_change() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let e =
        a.nl.link_set_tunable("nope0".into(), Tunable::Promisc(true))
            .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("\"nope0\" (promisc on)"), "{e}");
    let e = a.nl.link_tunables("nope0".into()).unwrap_err();
    assert!(e.is_not_found() && e.to_string().contains("nope0"), "{e}");
    let e = a.nl.link_set_txqlen("bad/name".into(), 1).unwrap_err();
    assert!(e.to_string().contains("bad/name"), "{e}");
}
