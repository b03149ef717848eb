//! Traffic control against the kernel: a tbf reads back with the parameters sent (also a
//! rate beyond 32 bits), "exists" on a second root, the ingress qdisc, an ifb with its alias,
//! a match-all u32 filter redirecting to the ifb, and deletions.

use twill_kernel::tc::{
    handle, Action, Filter, Mirred, NewIfb, Qdisc, QdiscKind, Tbf, ETH_P_ALL, INGRESS_HANDLE,
};
use twill_kernel::{LinkId, NewLink};

use crate::common::{Sandbox, TestNs};

fn veth(a: &mut TestNs) -> u32 {
    a.nl.link_add(&NewLink::veth("tc0", "tc1").up()).unwrap();
    a.nl.link_index("tc0").unwrap()
}

fn root(a: &mut TestNs, index: u32) -> Option<Qdisc> {
    a.nl.qdisc_list(Some(index))
        .unwrap()
        .into_iter()
        .find(|q| q.is_root())
}

#[test]
fn tbf_reads_back_and_a_second_root_exists() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let index = veth(&mut a);
    for tbf in [
        Tbf {
            rate: 1_000_000,
            buffer: 156_250,
            limit: 35_000,
        },
        Tbf {
            rate: 6_000_000_000,
            buffer: 1_000,
            limit: 1_000_000,
        },
    ] {
        let q = Qdisc::root_tbf(index, handle(1, 0), tbf);
        a.nl.qdisc_add(&q).unwrap();
        let got = root(&mut a, index).unwrap();
        assert_eq!(got, q);
        let e = a.nl.qdisc_add(&q).unwrap_err();
        assert!(e.is_exists(), "{e}");
        a.nl.qdisc_delete(&q).unwrap();
        // The device gets its default root back.
        assert!(!matches!(
            root(&mut a, index).map(|q| q.kind),
            Some(QdiscKind::Tbf(_))
        ));
    }
}

#[test]
fn ifb_redirect_filter_and_cleanup() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let index = veth(&mut a);
    let spec = NewIfb {
        name: "ifbt0",
        mtu: Some(1400),
        txqlen: Some(500),
        up: true,
        alias: Some("twill-test net id"),
    };
    a.nl.ifb_add(&spec).unwrap();
    let ifb = a.nl.ifb_get("ifbt0").unwrap().unwrap();
    assert_eq!((ifb.mtu, ifb.txqlen), (1400, 500));
    assert_eq!(ifb.alias.as_deref(), Some("twill-test net id"));
    assert_eq!(a.nl.ifb_list().unwrap(), std::slice::from_ref(&ifb));
    assert!(a.nl.ifb_get("tc0").unwrap().is_none(), "a veth is no ifb");
    assert!(a.nl.ifb_get("nope0").unwrap().is_none());
    assert!(a.nl.ifb_add(&spec).unwrap_err().is_exists());

    a.nl.qdisc_add(&Qdisc::ingress(index)).unwrap();
    let redirect = Action::Mirred(Mirred::egress_redirect(ifb.index));
    let f = Filter::u32_match_all(
        index,
        INGRESS_HANDLE,
        1,
        ETH_P_ALL,
        Some(handle(1, 1)),
        vec![redirect.clone()],
    );
    a.nl.filter_add(&f).unwrap();
    let listed = a.nl.filter_list(index, INGRESS_HANDLE).unwrap();
    let ours: Vec<&Filter> = listed
        .iter()
        .filter(|l| l.u32.as_ref().is_some_and(|u| u.has_selector))
        .collect();
    assert_eq!(ours.len(), 1, "{listed:?}");
    let u = ours[0].u32.as_ref().unwrap();
    assert_eq!((ours[0].priority, ours[0].protocol), (1, ETH_P_ALL));
    assert_eq!(
        (u.classid, u.terminal, &u.actions),
        (Some(handle(1, 1)), true, &vec![redirect])
    );
    assert_eq!(u.keys, f.u32.as_ref().unwrap().keys);

    a.nl.filter_delete(index, INGRESS_HANDLE, 1, ETH_P_ALL)
        .unwrap();
    assert!(a.nl.filter_list(index, INGRESS_HANDLE).unwrap().is_empty());
    a.nl.qdisc_delete(&Qdisc::ingress(index)).unwrap();
    assert!(!a
        .nl
        .qdisc_list(Some(index))
        .unwrap()
        .iter()
        .any(|q| q.kind == QdiscKind::Ingress));
    a.nl.link_delete(LinkId::Name("ifbt0")).unwrap();
    assert!(a.nl.ifb_list().unwrap().is_empty());
}
