//! Links: veth pairs across namespaces, bridges and ports, changes, deletion, errors.

use std::os::fd::AsFd;

use twill_kernel::{LinkId, MacAddr, NewLink};

use crate::common::Sandbox;

#[test]
fn veth_pair_across_two_namespaces() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let mut b = sb.ns();
    a.nl.link_add(&NewLink::veth("va", "vb").peer_netns(b.ns.as_fd()).up())
        .unwrap();

    // The near end comes up with the request; the peer from a socket in its namespace.
    b.nl.link_set_up("vb".into()).unwrap();
    let va = a.nl.link_get("va".into()).unwrap();
    let vb = b.nl.link_get("vb".into()).unwrap();
    assert_eq!(va.kind.as_deref(), Some("veth"));
    assert_eq!(vb.kind.as_deref(), Some("veth"));
    assert!(va.is_up() && vb.is_up());
    // Each end points at the other, in a namespace it knows by id.
    assert_eq!(va.link, Some(vb.index));
    assert_eq!(vb.link, Some(va.index));
    assert!(va.link_netnsid.is_some() && vb.link_netnsid.is_some());
    // The peer exists only where it was put.
    assert!(a.nl.link_get("vb".into()).unwrap_err().is_not_found());
    assert!(b.nl.link_get("va".into()).unwrap_err().is_not_found());

    // Deleting one end removes both.
    a.nl.link_delete("va".into()).unwrap();
    assert!(b.nl.link_get("vb".into()).unwrap_err().is_not_found());
}

#[test]
fn bridge_with_a_port() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    a.nl.link_add(&NewLink::bridge("br0").up()).unwrap();
    a.nl.link_add(&NewLink::veth("port0", "peer0")).unwrap();
    let br = a.nl.link_get("br0".into()).unwrap();
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    assert!(br.is_up());

    a.nl.link_set_master("port0".into(), Some(br.index))
        .unwrap();
    assert_eq!(
        a.nl.link_get("port0".into()).unwrap().master,
        Some(br.index)
    );
    let ports: Vec<_> =
        a.nl.link_list()
            .unwrap()
            .into_iter()
            .filter(|l| l.master == Some(br.index))
            .collect();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].name, "port0");

    a.nl.link_set_master("port0".into(), None).unwrap();
    assert_eq!(a.nl.link_get("port0".into()).unwrap().master, None);
}

#[test]
fn mtu_mac_rename_and_up() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    a.nl.link_add(&NewLink::veth("old0", "other0")).unwrap();
    let mac: MacAddr = "02:00:5e:10:20:30".parse().unwrap();
    a.nl.link_set_mtu("old0".into(), 1400).unwrap();
    a.nl.link_set_mac("old0".into(), mac).unwrap();
    a.nl.link_rename("old0".into(), "new0").unwrap();
    a.nl.link_set_up("new0".into()).unwrap();

    let l = a.nl.link_get("new0".into()).unwrap();
    assert_eq!((l.mtu, l.mac, l.is_up()), (1400, Some(mac), true));
    assert!(a.nl.link_get("old0".into()).unwrap_err().is_not_found());
    // By index works the same and sees the same link.
    assert_eq!(a.nl.link_get(LinkId::Index(l.index)).unwrap().name, "new0");

    // Renaming onto a taken name fails, and the error names both.
    let e = a.nl.link_rename("new0".into(), "other0").unwrap_err();
    assert!(e.is_exists());
    assert_eq!(
        e.to_string(),
        "set link \"new0\" (rename to \"other0\"): File exists"
    );

    a.nl.link_set_down("new0".into()).unwrap();
    assert!(!a.nl.link_get("new0".into()).unwrap().is_up());
}

#[test]
fn move_link_into_another_namespace() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let mut b = sb.ns();
    a.nl.link_add(&NewLink::veth("mv0", "stay0")).unwrap();
    a.nl.link_set_netns("mv0".into(), b.ns.as_fd()).unwrap();
    assert!(a.nl.link_get("mv0".into()).unwrap_err().is_not_found());
    let moved = b.nl.link_get("mv0".into()).unwrap();
    assert_eq!(moved.kind.as_deref(), Some("veth"));
    assert!(moved.link_netnsid.is_some());
}

#[test]
fn errors_name_the_object() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    a.nl.link_add(&NewLink::bridge("dup0")).unwrap();
    let e = a.nl.link_add(&NewLink::bridge("dup0")).unwrap_err();
    assert!(e.is_exists());
    assert_eq!(e.to_string(), "create link \"dup0\": File exists");

    let e = a.nl.link_add(&NewLink::veth("dup0", "fresh0")).unwrap_err();
    assert!(e.is_exists());
    assert!(
        e.to_string()
            .starts_with("create link \"dup0\" (peer \"fresh0\"): File exists"),
        "{e}"
    );

    let e = a.nl.link_get("nope0".into()).unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "get link \"nope0\": No such device");

    let e = a.nl.link_delete(LinkId::Index(999_999)).unwrap_err();
    assert!(e.is_not_found());
    assert!(
        e.to_string().starts_with("delete link index 999999: "),
        "{e}"
    );

    // Names the kernel would reject fail before any request, with the reason.
    let e =
        a.nl.link_add(&NewLink::bridge("much-too-long-name"))
            .unwrap_err();
    assert_eq!(e.errno(), None);
    assert!(e.to_string().contains("must be 1 to 15 bytes"), "{e}");
}

#[test]
fn delete_removes_the_link() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    a.nl.link_add(&NewLink::bridge("gone0")).unwrap();
    let index = a.nl.link_index("gone0").unwrap();
    a.nl.link_delete(LinkId::Index(index)).unwrap();
    assert!(a
        .nl
        .link_get(LinkId::Index(index))
        .unwrap_err()
        .is_not_found());
    assert!(a.nl.link_list().unwrap().iter().all(|l| l.name != "gone0"));
}
