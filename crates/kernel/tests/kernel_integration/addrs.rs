//! Addresses: IPv4 with broadcast, IPv6 without DAD, list, delete, errors.

use twill_kernel::{AddrFlags, Address, IpFamily, NewLink};

use crate::common::Sandbox;

#[test]
fn ipv4_and_ipv6_addresses() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    a.nl.link_add(&NewLink::veth("ad0", "ad1").up()).unwrap();
    let index = a.nl.link_index("ad0").unwrap();

    let v4 = Address::new(index, "198.18.1.1/24".parse().unwrap())
        .with_broadcast("198.18.1.255".parse().unwrap());
    let v6 = Address::new(index, "2001:db8:1::1/64".parse().unwrap()).with_flags(AddrFlags::NODAD);
    a.nl.addr_add(&v4).unwrap();
    a.nl.addr_add(&v6).unwrap();

    let on_link = a.nl.addr_list(None, Some(index)).unwrap();
    let got4 = on_link
        .iter()
        .find(|x| x.prefix == v4.prefix)
        .expect("IPv4 address listed");
    assert_eq!(got4.broadcast, v4.broadcast);
    assert!(got4.flags.contains(AddrFlags::PERMANENT));
    let got6 = on_link
        .iter()
        .find(|x| x.prefix == v6.prefix)
        .expect("IPv6 address listed");
    assert!(got6.flags.contains(AddrFlags::NODAD));
    assert!(
        !got6.flags.contains(AddrFlags::TENTATIVE),
        "NODAD address must be usable at once"
    );

    // Family filter.
    let only4 = a.nl.addr_list(Some(IpFamily::V4), Some(index)).unwrap();
    assert!(only4.iter().all(|x| x.prefix.family() == IpFamily::V4));
    assert!(only4.iter().any(|x| x.prefix == v4.prefix));

    // Duplicate: EEXIST naming the address and link.
    let e = a.nl.addr_add(&v4).unwrap_err();
    assert!(e.is_exists());
    assert!(
        e.to_string().starts_with(&format!(
            "add address 198.18.1.1/24 on index {index}: File exists"
        )),
        "{e}"
    );
    // Replace is idempotent.
    a.nl.addr_replace(&v4).unwrap();

    a.nl.addr_delete(&v4).unwrap();
    a.nl.addr_delete(&v6).unwrap();
    let left = a.nl.addr_list(None, Some(index)).unwrap();
    assert!(
        left.iter()
            .all(|x| x.prefix != v4.prefix && x.prefix != v6.prefix),
        "{left:?}"
    );
    assert!(a.nl.addr_delete(&v4).unwrap_err().is_not_found());
}
