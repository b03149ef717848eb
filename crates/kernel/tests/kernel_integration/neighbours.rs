//! Neighbours and vxlan FDB entries: add, list, replace, append, delete, and the errors a
//! reconciler relies on (exists, not found).

use std::net::IpAddr;

use twill_kernel::neigh::{NTF_SELF, NUD_PERMANENT};
use twill_kernel::{AddrFlags, Address, MacAddr, NeighFamily, Neighbour, NewLink, VxlanSpec};

use crate::common::{Sandbox, TestNs};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

/// A vxlan device `vx` (vni 1, port 8472, nolearning) on a veth `ul` with 198.18.0.1/24;
/// returns the indexes of both.
fn vxlan(t: &mut TestNs) -> (u32, u32) {
    t.nl.link_add(&NewLink::veth("ul", "ul1").up()).unwrap();
    let ul = t.nl.link_index("ul").unwrap();
    t.nl.addr_add(&Address::new(ul, "198.18.0.1/24".parse().unwrap()))
        .unwrap();
    let spec = VxlanSpec {
        local: Some(ip("198.18.0.1")),
        dev: Some(ul),
        learning: false,
        ..VxlanSpec::new(1, 8472)
    };
    t.nl.link_add(&NewLink::vxlan("vx", spec).up()).unwrap();
    (t.nl.link_index("vx").unwrap(), ul)
}

#[test]
fn arp_and_ndp_entries_round_trip() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let (vx, ul) = vxlan(&mut a);
    let v6 = Address::new(vx, "2001:db8:9::1/64".parse().unwrap()).with_flags(AddrFlags::NODAD);
    a.nl.addr_add(&v6).unwrap();

    let m1 = mac("02:00:00:00:00:01");
    let arp = Neighbour::arp(vx, ip("10.244.2.0"), m1);
    a.nl.neigh_add(&arp).unwrap();
    let listed = a.nl.neigh_list(NeighFamily::Inet, Some(vx)).unwrap();
    assert_eq!(listed, vec![arp.clone()]);
    assert!(listed[0].has_state(NUD_PERMANENT));
    let e = a.nl.neigh_add(&arp).unwrap_err();
    assert!(e.is_exists(), "{e}");
    assert!(
        e.to_string()
            .starts_with("add neighbour 10.244.2.0 lladdr 02:00:00:00:00:01 dev index"),
        "{e}"
    );

    // Replace moves the address to another MAC; the filter keeps other devices out.
    let m2 = mac("02:00:00:00:00:02");
    let moved = Neighbour::arp(vx, ip("10.244.2.0"), m2);
    a.nl.neigh_replace(&moved).unwrap();
    a.nl.neigh_replace(&moved).unwrap();
    let on_ul = Neighbour::arp(ul, ip("198.18.0.9"), m1);
    a.nl.neigh_add(&on_ul).unwrap();
    assert_eq!(
        a.nl.neigh_list(NeighFamily::Inet, Some(vx)).unwrap(),
        vec![moved.clone()]
    );
    let all = a.nl.neigh_list(NeighFamily::Inet, None).unwrap();
    assert!(all.contains(&moved) && all.contains(&on_ul), "{all:?}");

    // IPv6 lives in its own table.
    let ndp = Neighbour::arp(vx, ip("2001:db8:9::2"), m1);
    assert_eq!(ndp.family, NeighFamily::Inet6);
    a.nl.neigh_add(&ndp).unwrap();
    let six = a.nl.neigh_list(NeighFamily::Inet6, Some(vx)).unwrap();
    assert!(six.contains(&ndp), "{six:?}");
    assert!(!a
        .nl
        .neigh_list(NeighFamily::Inet, Some(vx))
        .unwrap()
        .contains(&ndp));

    // Deleting twice: the second is "not found", which DEL paths treat as success.
    for n in [&moved, &ndp] {
        a.nl.neigh_delete(n).unwrap();
        let e = a.nl.neigh_delete(n).unwrap_err();
        assert!(e.is_not_found(), "{e}");
    }
    assert_eq!(a.nl.neigh_list(NeighFamily::Inet, Some(vx)).unwrap(), []);
}

#[test]
fn vxlan_fdb_entries_round_trip() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let (vx, ul) = vxlan(&mut a);
    let m = mac("02:00:00:00:00:0b");
    let fdb = Neighbour::fdb(vx, m, ip("198.18.0.2"));

    // Append creates; appending the same remote again is no error (idempotent).
    a.nl.neigh_append(&fdb).unwrap();
    a.nl.neigh_append(&fdb).unwrap();
    let listed = a.nl.neigh_list(NeighFamily::Bridge, Some(vx)).unwrap();
    assert_eq!(listed, vec![fdb.clone()]);
    assert!(listed[0].flags & NTF_SELF != 0);
    // Entries of other devices (the veth's multicast addresses) stay out of a filtered list.
    let all = a.nl.neigh_list(NeighFamily::Bridge, None).unwrap();
    assert!(all.contains(&fdb));
    assert!(all.iter().any(|n| n.ifindex == ul), "{all:?}");

    // For a unicast MAC, append keeps the first remote (the kernel only grows the remote
    // lists of the all-zeros and multicast MACs); replace moves it.
    let elsewhere = Neighbour::fdb(vx, m, ip("198.18.0.3"));
    a.nl.neigh_append(&elsewhere).unwrap();
    assert_eq!(
        a.nl.neigh_list(NeighFamily::Bridge, Some(vx)).unwrap(),
        vec![fdb.clone()]
    );
    a.nl.neigh_replace(&elsewhere).unwrap();
    assert_eq!(
        a.nl.neigh_list(NeighFamily::Bridge, Some(vx)).unwrap(),
        vec![elsewhere.clone()]
    );

    // The all-zeros MAC is the flood list: one entry per remote.
    let zero = MacAddr([0; 6]);
    let flood = [ip("198.18.0.2"), ip("198.18.0.3")].map(|r| Neighbour::fdb(vx, zero, r));
    for f in &flood {
        a.nl.neigh_append(f).unwrap();
    }
    let listed = a.nl.neigh_list(NeighFamily::Bridge, Some(vx)).unwrap();
    assert!(
        flood.iter().all(|f| listed.contains(f)),
        "flood list: {listed:?}"
    );

    // Deleting one remote of the flood list leaves the other. Deleting it again is no
    // error while the MAC has other remotes (the kernel answers 0 then), and "not found"
    // once the MAC has none.
    a.nl.neigh_delete(&flood[0]).unwrap();
    a.nl.neigh_delete(&flood[0]).unwrap();
    let listed = a.nl.neigh_list(NeighFamily::Bridge, Some(vx)).unwrap();
    assert!(
        listed.contains(&flood[1]) && !listed.contains(&flood[0]),
        "{listed:?}"
    );
    // Adding with EXCL over an existing entry fails with "exists".
    let e = a.nl.neigh_add(&flood[1]).unwrap_err();
    assert!(e.is_exists(), "{e}");
    a.nl.neigh_delete(&flood[1]).unwrap();
    let e = a.nl.neigh_delete(&flood[1]).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(
        e.to_string()
            .starts_with("delete neighbour fdb 00:00:00:00:00:00 dst 198.18.0.3 dev index"),
        "{e}"
    );
    a.nl.neigh_delete(&elsewhere).unwrap();
    assert!(a.nl.neigh_delete(&elsewhere).unwrap_err().is_not_found());
    assert_eq!(a.nl.neigh_list(NeighFamily::Bridge, Some(vx)).unwrap(), []);
}
