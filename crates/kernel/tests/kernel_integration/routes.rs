//! Routes: default via a gateway, another table with a metric, on-link gateways, IPv6,
//! replace and delete.

use std::net::IpAddr;

use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{AddrFlags, Address, IpFamily, IpPrefix, NewLink, Route};

use crate::common::{Sandbox, TestNs};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A veth end `rt0`, up, with 198.18.2.1/24 and 2001:db8:2::1/64; returns its index.
fn wired(a: &mut TestNs) -> u32 {
    a.nl.link_add(&NewLink::veth("rt0", "rt1").up()).unwrap();
    a.nl.link_set_up("rt1".into()).unwrap();
    let index = a.nl.link_index("rt0").unwrap();
    a.nl.addr_add(&Address::new(index, "198.18.2.1/24".parse().unwrap()))
        .unwrap();
    let v6 = Address::new(index, "2001:db8:2::1/64".parse().unwrap()).with_flags(AddrFlags::NODAD);
    a.nl.addr_add(&v6).unwrap();
    index
}

#[test]
fn default_route_and_table_100() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let index = wired(&mut a);

    let default = Route::new(IpPrefix::default_route(IpFamily::V4)).via(ip("198.18.2.254"));
    a.nl.route_add(&default).unwrap();
    let main =
        a.nl.route_list(Some(IpFamily::V4), Some(TABLE_MAIN))
            .unwrap();
    let got = main
        .iter()
        .find(|r| r.dst.is_empty())
        .expect("default route listed");
    assert_eq!(
        (got.gateway, got.oif),
        (Some(ip("198.18.2.254")), Some(index))
    );
    // The kernel's own prefix route is there too, link-scoped without a gateway.
    assert!(main
        .iter()
        .any(|r| r.dst.to_string() == "198.18.2.0/24" && r.gateway.is_none()));

    let in100 = Route::new("10.1.0.0/16".parse().unwrap())
        .via(ip("198.18.2.254"))
        .table(100)
        .metric(50);
    a.nl.route_add(&in100).unwrap();
    let t100 = a.nl.route_list(Some(IpFamily::V4), Some(100)).unwrap();
    assert_eq!(t100.len(), 1, "{t100:?}");
    assert_eq!(
        (t100[0].dst, t100[0].priority, t100[0].table),
        (in100.dst, Some(50), 100)
    );
    assert!(a
        .nl
        .route_list(Some(IpFamily::V4), Some(TABLE_MAIN))
        .unwrap()
        .iter()
        .all(|r| r.dst != in100.dst));

    // Same destination, table and metric again: EEXIST naming the route; replace swaps it.
    let e = a.nl.route_add(&in100).unwrap_err();
    assert!(e.is_exists());
    assert!(
        e.to_string()
            .starts_with("add route 10.1.0.0/16 via 198.18.2.254 table 100 metric 50: File exists"),
        "{e}"
    );
    a.nl.route_replace(&in100.clone().via(ip("198.18.2.253")))
        .unwrap();
    let t100 = a.nl.route_list(Some(IpFamily::V4), Some(100)).unwrap();
    assert_eq!(t100.len(), 1);
    assert_eq!(t100[0].gateway, Some(ip("198.18.2.253")));

    // Deletion matches by destination and table; unset fields match anything.
    a.nl.route_delete(&Route::new(in100.dst).table(100))
        .unwrap();
    assert!(a
        .nl
        .route_list(Some(IpFamily::V4), Some(100))
        .unwrap()
        .is_empty());
    a.nl.route_delete(&Route::new(IpPrefix::default_route(IpFamily::V4)))
        .unwrap();
    let main =
        a.nl.route_list(Some(IpFamily::V4), Some(TABLE_MAIN))
            .unwrap();
    assert!(main.iter().all(|r| !r.dst.is_empty()));
    assert!(a.nl.route_delete(&default).unwrap_err().is_not_found());
}

#[test]
fn onlink_gateway_outside_every_prefix() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let index = wired(&mut a);
    // 10.255.255.1 is in no prefix of the link: refused unless marked on-link.
    let plain = Route::new("10.2.0.0/16".parse().unwrap())
        .via(ip("10.255.255.1"))
        .dev(index);
    let e = a.nl.route_add(&plain).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("add route 10.2.0.0/16 via 10.255.255.1"),
        "{e}"
    );
    a.nl.route_add(&plain.clone().onlink()).unwrap();
    let got = a.nl.route_list(Some(IpFamily::V4), None).unwrap();
    let r = got
        .iter()
        .find(|r| r.dst == plain.dst)
        .expect("on-link route listed");
    assert!(r.onlink);
    assert_eq!(r.gateway, Some(ip("10.255.255.1")));
}

#[test]
fn ipv6_routes() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let index = wired(&mut a);
    let r = Route::new("2001:db8:99::/48".parse().unwrap())
        .via(ip("2001:db8:2::fe"))
        .dev(index)
        .metric(20);
    a.nl.route_add(&r).unwrap();
    let v6 =
        a.nl.route_list(Some(IpFamily::V6), Some(TABLE_MAIN))
            .unwrap();
    let got = v6
        .iter()
        .find(|x| x.dst == r.dst)
        .expect("IPv6 route listed");
    assert_eq!(
        (got.gateway, got.oif, got.priority),
        (r.gateway, Some(index), Some(20))
    );
    let default6 = Route::new(IpPrefix::default_route(IpFamily::V6))
        .via(ip("2001:db8:2::fe"))
        .dev(index)
        .table(100);
    a.nl.route_add(&default6).unwrap();
    assert_eq!(
        a.nl.route_list(Some(IpFamily::V6), Some(100))
            .unwrap()
            .len(),
        1
    );
    a.nl.route_delete(&r).unwrap();
    assert!(a
        .nl
        .route_list(Some(IpFamily::V6), None)
        .unwrap()
        .iter()
        .all(|x| x.dst != r.dst));

    // Mixed families never reach the kernel.
    let bad = Route::new("10.3.0.0/16".parse().unwrap()).via(ip("2001:db8:2::fe"));
    let e = a.nl.route_add(&bad).unwrap_err();
    assert_eq!(e.errno(), None);
}
