//! tun devices: created in the namespace of the thread that opens them, gone when the last
//! queue closes, packets without a packet-information header.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use twill_kernel::tun::vnet::{Gso, VnetRepr, VNET_HDR_LEN};
use twill_kernel::tun::{Offloads, TunOptions};
use twill_kernel::{tun, Address, LinkId, Netlink};

const MQ: TunOptions = TunOptions {
    multi_queue: true,
    vnet_hdr: false,
};

use crate::common::Sandbox;

/// Waits (briefly) until `name` is gone from the socket's namespace.
fn gone(nl: &mut Netlink, name: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match nl.link_get(LinkId::Name(name)) {
            Err(e) if e.is_not_found() => return true,
            Err(e) => panic!("get link {name}: {e}"),
            Ok(_) if Instant::now() > deadline => return false,
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[test]
fn tun_device_lives_in_the_creating_namespace_until_its_fd_closes() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let mut b = sb.ns();
    let fd =
        a.ns.run(|| tun::create("twt0", TunOptions::default()))
            .unwrap()
            .unwrap();
    let link = a.nl.link_get("twt0".into()).unwrap();
    assert_eq!(link.kind.as_deref(), Some("tun"));
    assert!(b.nl.link_get("twt0".into()).unwrap_err().is_not_found());

    // The name is taken: a second create fails instead of sharing the device.
    let e =
        a.ns.run(|| tun::create("twt0", TunOptions::default()))
            .unwrap()
            .unwrap_err();
    assert_eq!(e.errno().map(|e| e.raw()), Some(libc::EBUSY), "{e}");
    assert!(
        e.to_string().starts_with("create tun device \"twt0\""),
        "{e}"
    );
    // A single-queue device takes no extra queue.
    let e =
        a.ns.run(|| tun::attach_queue("twt0", TunOptions::default()))
            .unwrap()
            .unwrap_err();
    assert_eq!(e.errno().map(|e| e.raw()), Some(libc::EINVAL), "{e}");

    drop(fd);
    assert!(
        gone(&mut a.nl, "twt0"),
        "tun device outlived its descriptor"
    );
}

#[test]
fn multi_queue_tun_device_lasts_until_its_last_queue_closes() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let (first, second) =
        a.ns.run(|| {
            let first = tun::create("twq0", MQ)?;
            Ok::<_, twill_kernel::Error>((first, tun::attach_queue("twq0", MQ)?))
        })
        .unwrap()
        .unwrap();
    drop(first);
    a.nl.link_get("twq0".into()).unwrap();
    drop(second);
    assert!(gone(&mut a.nl, "twq0"));

    // Attaching to a device that does not exist fails rather than creating one.
    let e =
        a.ns.run(|| tun::attach_queue("twq0", MQ))
            .unwrap()
            .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(gone(&mut a.nl, "twq0"));
}

#[test]
fn packets_routed_to_a_tun_device_are_read_without_a_header() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let fd =
        a.ns.run(|| tun::create("twt1", TunOptions::default()))
            .unwrap()
            .unwrap();
    tun::set_nonblocking(fd.as_fd(), true).unwrap();
    let mut dev = File::from(fd);
    let mut buf = [0u8; 2048];
    let e = dev.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");

    let index = a.nl.link_index("twt1").unwrap();
    a.nl.addr_add(&Address::new(index, "10.244.9.1/24".parse().unwrap()))
        .unwrap();
    a.nl.link_set_up(LinkId::Index(index)).unwrap();
    let tx =
        a.ns.run(|| UdpSocket::bind("10.244.9.1:0"))
            .unwrap()
            .unwrap();
    tx.send_to(b"into the tun", "10.244.9.2:9").unwrap();

    // Other packets (IPv6 router solicitations, reports) may come first.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no UDP packet read from the tun");
        match dev.read(&mut buf) {
            Ok(n) => {
                let p = &buf[..n];
                // An IPv4 header straight away (IFF_NO_PI), UDP, to 10.244.9.2.
                if n > 28 && p[0] >> 4 == 4 && p[9] == 17 && p[16..20] == [10, 244, 9, 2] {
                    assert!(p.ends_with(b"into the tun"));
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("read from tun: {e}"),
        }
    }
}

#[test]
fn with_vnet_headers_and_offloads_a_packet_arrives_with_its_checksum_left_to_do() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let opts = TunOptions {
        multi_queue: true,
        vnet_hdr: true,
    };
    let (fd, second) =
        a.ns.run(move || {
            let fd = tun::create("twv0", opts)?;
            Ok::<_, twill_kernel::Error>((fd, tun::attach_queue("twv0", opts)?))
        })
        .unwrap()
        .unwrap();
    drop(second);
    tun::set_vnet_hdr_len(fd.as_fd(), VNET_HDR_LEN).unwrap();
    let e = tun::set_vnet_hdr_len(fd.as_fd(), 2).unwrap_err();
    assert_eq!(e.errno().map(|e| e.raw()), Some(libc::EINVAL), "{e}");
    // An unknown flag is refused whole, and what was set before stays.
    tun::set_offloads(fd.as_fd(), Offloads::CSUM | Offloads::TSO4).unwrap();
    let e = tun::set_offloads(fd.as_fd(), Offloads::CSUM | Offloads::from_bits(1 << 12));
    assert_eq!(e.unwrap_err().errno().map(|e| e.raw()), Some(libc::EINVAL));
    tun::set_offloads(fd.as_fd(), Offloads::CSUM | Offloads::TSO4 | Offloads::TSO6).unwrap();
    tun::set_nonblocking(fd.as_fd(), true).unwrap();
    let mut dev = File::from(fd);

    let index = a.nl.link_index("twv0").unwrap();
    a.nl.addr_add(&Address::new(index, "10.244.9.1/24".parse().unwrap()))
        .unwrap();
    a.nl.link_set_up(LinkId::Index(index)).unwrap();
    let tx =
        a.ns.run(|| UdpSocket::bind("10.244.9.1:0"))
            .unwrap()
            .unwrap();
    tx.send_to(b"with a header", "10.244.9.2:9").unwrap();

    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no UDP packet read from the tun");
        match dev.read(&mut buf) {
            Ok(n) => {
                let (h, p) = buf[..n].split_at(VNET_HDR_LEN);
                if p.len() > 28 && p[0] >> 4 == 4 && p[9] == 17 && p[16..20] == [10, 244, 9, 2] {
                    let v = VnetRepr::parse_bytes(h).unwrap();
                    assert_eq!(v.gso, Gso::None, "{v:?}");
                    // TUN_F_CSUM: the UDP checksum is ours to finish.
                    assert!(v.needs_csum, "{v:?}");
                    assert_eq!((v.csum_start, v.csum_offset), (20, 6), "{v:?}");
                    assert!(p.ends_with(b"with a header"));
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("read from tun: {e}"),
        }
    }
}
