//! Packets prove the rules: a set lookup drops one UDP port, a map redirects another.
//! Two namespaces joined by a veth: `a` (198.18.0.1) sends, `b` (198.18.0.2) filters and
//! receives.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use twill_kernel::nft::expr::Verdict;
use twill_kernel::nft::*;
use twill_kernel::{Address, NewLink};

use crate::common::{Sandbox, TestNs};
use crate::fixtures::{hostport_key, T};

/// The port nothing listens on; the map sends its traffic elsewhere.
const MAPPED_PORT: u16 = 20_000;

fn wire(sb: &mut Sandbox) -> (TestNs, TestNs) {
    let mut a = sb.ns();
    let mut b = sb.ns();
    a.nl.link_add(&NewLink::veth("ta", "tb").peer_netns(b.ns.as_fd()).up())
        .unwrap();
    b.nl.link_set_up("tb".into()).unwrap();
    let ia = a.nl.link_index("ta").unwrap();
    let ib = b.nl.link_index("tb").unwrap();
    a.nl.addr_add(&Address::new(ia, "198.18.0.1/24".parse().unwrap()))
        .unwrap();
    b.nl.addr_add(&Address::new(ib, "198.18.0.2/24".parse().unwrap()))
        .unwrap();
    (a, b)
}

fn ruleset(fam: Family) -> Batch {
    let input = Chain::base(fam, T, "input", ChainType::Filter, Hook::Input, 0);
    let pre = Chain::base(fam, T, "prerouting", ChainType::Nat, Hook::Prerouting, -100);
    let dnat_to = SetData::Values(vec![DataType::Ipv4Addr, DataType::InetService]);
    let fields = [Field::IpDaddr, Field::L4Proto, Field::ThDport];
    let mut batch = Batch::new();
    batch
        .add_table(&Table::new(fam, T))
        .add_chain(&input)
        .add_chain(&pre)
        .add_set(&Set::new(fam, T, "blocked", &[DataType::InetService]))
        .add_set(&Set::new(fam, T, "hostports", &hostport_key()).map(dnat_to))
        .add_rule(
            &Rule::new(fam, T, "input")
                .match_value(Field::L4Proto, &Value::Proto(17), false)
                .match_set(&[Field::ThDport], "blocked", false)
                .counter()
                .verdict(Verdict::Drop),
        )
        .add_rule(&Rule::new(fam, T, "prerouting").dnat_map(Family::Ip, &fields, "hostports"));
    batch
}

/// Sends from a fresh socket in `a` to `to` up to `tries` times; returns what `rx` got.
fn send(a: &TestNs, rx: &UdpSocket, to: SocketAddr, tries: u32) -> Option<Vec<u8>> {
    let tx =
        a.ns.run(|| UdpSocket::bind("198.18.0.1:0"))
            .unwrap()
            .unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    for _ in 0..tries {
        tx.send_to(b"twill", to).unwrap();
        if let Ok((n, _)) = rx.recv_from(&mut buf) {
            return Some(buf[..n].to_vec());
        }
    }
    None
}

#[test]
fn a_set_element_drops_a_port_and_a_map_element_redirects_one() {
    let mut sb = Sandbox::new();
    let (a, b) = wire(&mut sb);
    let mut nft = Nftables::open_in(&b.ns).unwrap();
    nft.apply(&ruleset(Family::Inet)).unwrap();

    let rx =
        b.ns.run(|| UdpSocket::bind("198.18.0.2:0"))
            .unwrap()
            .unwrap();
    let to = rx.local_addr().unwrap();
    // Open at first (several tries: the first datagram waits for ARP).
    assert_eq!(send(&a, &rx, to, 10).as_deref(), Some(&b"twill"[..]));

    // One element closes the port…
    let blocked = SetRef::new(Family::Inet, T, "blocked");
    let port = [Element::new(&[Value::Port(to.port())])];
    nft.apply(Batch::new().add_elements(&blocked, &port))
        .unwrap();
    assert_eq!(
        send(&a, &rx, to, 3),
        None,
        "datagram to a blocked port arrived"
    );
    let other =
        b.ns.run(|| UdpSocket::bind("198.18.0.2:0"))
            .unwrap()
            .unwrap();
    let other_to = other.local_addr().unwrap();
    assert!(
        send(&a, &other, other_to, 3).is_some(),
        "an unblocked port is closed too"
    );
    // …deleting it opens the port again.
    nft.apply(Batch::new().delete_elements(&blocked, &port))
        .unwrap();
    assert!(
        send(&a, &rx, to, 3).is_some(),
        "the port stayed closed after the delete"
    );

    // A map element sends MAPPED_PORT to the receiver's port.
    let hostports = SetRef::new(Family::Inet, T, "hostports");
    let b_addr = Value::Ipv4("198.18.0.2".parse().unwrap());
    let mapping = [
        Element::new(&[b_addr.clone(), Value::Proto(17), Value::Port(MAPPED_PORT)])
            .to_values(&[b_addr, Value::Port(to.port())]),
    ];
    let mapped: SocketAddr = format!("198.18.0.2:{MAPPED_PORT}").parse().unwrap();
    assert_eq!(send(&a, &rx, mapped, 2), None, "unmapped port delivered");
    nft.apply(Batch::new().add_elements(&hostports, &mapping))
        .unwrap();
    assert_eq!(send(&a, &rx, mapped, 3).as_deref(), Some(&b"twill"[..]));
    // After the delete, a new flow (a new source port) is not redirected.
    nft.apply(Batch::new().delete_elements(&hostports, &mapping))
        .unwrap();
    assert_eq!(
        send(&a, &rx, mapped, 2),
        None,
        "delivered after the mapping was deleted"
    );

    // The drop rule counted what it dropped.
    let rules = nft.list_rules(Family::Inet, T, Some("input")).unwrap();
    let counted = rules[0].exprs.iter().find_map(|e| match e {
        expr::Expr::Counter(c) => Some(c.packets),
        _ => None,
    });
    assert_eq!(counted, Some(3));
}
