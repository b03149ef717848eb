//! A datagram really crosses a veth between two namespaces.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use twill_kernel::{Address, NewLink};

use crate::common::Sandbox;

#[test]
fn udp_datagram_crosses_a_veth() {
    let mut sb = Sandbox::new();
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

    // Sockets keep the namespace they were created in: bind the receiver inside `b`, the
    // sender inside `a`, then use both from this thread.
    let rx =
        b.ns.run(|| UdpSocket::bind("198.18.0.2:0"))
            .unwrap()
            .unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let to: SocketAddr = rx.local_addr().unwrap();
    let tx =
        a.ns.run(|| UdpSocket::bind("198.18.0.1:0"))
            .unwrap()
            .unwrap();
    // The first datagram may wait for neighbour resolution; a few tries at most.
    let mut buf = [0u8; 64];
    let mut got = None;
    for _ in 0..5 {
        tx.send_to(b"twill", to).unwrap();
        if let Ok((n, from)) = rx.recv_from(&mut buf) {
            got = Some((buf[..n].to_vec(), from));
            break;
        }
    }
    let (data, from) = got.expect("datagram from 198.18.0.1 to 198.18.0.2 arrived");
    assert_eq!(data, b"twill");
    assert_eq!(from.ip().to_string(), "198.18.0.1");
    // A namespace without the veth has no route there at all.
    let c = sb.ns();
    let lone = c.ns.run(|| UdpSocket::bind("0.0.0.0:0")).unwrap().unwrap();
    let e = lone.send_to(b"twill", to).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENETUNREACH), "{e}");
}
