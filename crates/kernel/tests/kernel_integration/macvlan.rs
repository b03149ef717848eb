//! macvlan children: created straight into another namespace under a name the parent's
//! namespace also has, their mode and parent read back, every mode, a MAC of their own,
//! and going with their parent. (ipvlan, which this kernel lacks, runs in the VM:
//! crates/plugins/tests/ipvlan_vm.rs.)

use std::os::fd::AsFd;

use twill_kernel::{LinkId, MacAddr, MacvlanMode, MacvlanSpec, NewLink};

use crate::common::Sandbox;

#[test]
fn macvlan_children_in_another_namespace() {
    let mut sb = Sandbox::new();
    let mut host = sb.ns();
    let mut pod = sb.ns();
    host.nl
        .link_add(&NewLink::veth("up0", "eth0").up())
        .unwrap();
    let up0 = host.nl.link_get(LinkId::Name("up0")).unwrap();
    let modes = [
        ("eth0", MacvlanMode::Bridge),
        ("mv1", MacvlanMode::Private),
        ("mv2", MacvlanMode::Vepa),
    ];
    for (i, (name, mode)) in modes.into_iter().enumerate() {
        let spec = MacvlanSpec {
            lower: up0.index,
            mode,
            netns: Some(pod.ns.as_fd()),
        };
        let mac = MacAddr([0x02, 0, 0, 0, 0, 0x10 + u8::try_from(i).unwrap()]);
        let link = NewLink::macvlan(name, spec).mac(mac).mtu(1400).up();
        // "eth0" also names the parent's peer in the host: no clash, the name is the pod's.
        host.nl.link_add(&link).unwrap();
        let child = pod.nl.link_get(LinkId::Name(name)).unwrap();
        assert_eq!(child.kind.as_deref(), Some("macvlan"));
        assert_eq!(
            (child.mac, child.mtu, child.is_up()),
            (Some(mac), 1400, true)
        );
        assert_eq!(
            child.link,
            Some(up0.index),
            "the parent's index, in the host"
        );
        assert!(child.link_netnsid.is_some(), "the parent lives elsewhere");
        assert_eq!(pod.nl.macvlan_mode(LinkId::Name(name)).unwrap(), Some(mode));
        assert!(host.nl.link_get(LinkId::Name(name)).is_ok() == (name == "eth0"));
    }
    // Not a macvlan: no mode. A name taken in the pod: EEXIST.
    assert_eq!(host.nl.macvlan_mode(LinkId::Name("up0")).unwrap(), None);
    let again = MacvlanSpec {
        lower: up0.index,
        mode: MacvlanMode::Bridge,
        netns: Some(pod.ns.as_fd()),
    };
    let e = host
        .nl
        .link_add(&NewLink::macvlan("mv1", again))
        .unwrap_err();
    assert!(e.is_exists(), "{e}");
    assert!(e.to_string().contains("macvlan bridge"), "{e}");
    // Passthru needs the parent to itself.
    let passthru = MacvlanSpec {
        mode: MacvlanMode::Passthru,
        ..again
    };
    assert!(host
        .nl
        .link_add(&NewLink::macvlan("pt0", passthru))
        .is_err());
    // The children go with their parent.
    host.nl.link_delete(LinkId::Name("up0")).unwrap();
    for (name, _) in modes {
        assert!(pod
            .nl
            .link_get(LinkId::Name(name))
            .unwrap_err()
            .is_not_found());
    }
}
