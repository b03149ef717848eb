//! Deleting without waiting for the kernel's reclamation: the call returns once both ends of
//! a veth are unlisted, their addresses gone, and a failure comes back as from a plain
//! delete.

use std::net::IpAddr;
use std::os::fd::AsFd;

use twill_kernel::reclaim::{delete_link_unwaited, Watch};
use twill_kernel::{Address, IpPrefix, LinkId, NewLink};

use crate::common::Sandbox;

#[test]
fn a_veth_across_namespaces_is_gone_when_the_call_returns() {
    let mut sb = Sandbox::new();
    let mut host = sb.ns();
    let mut pod = sb.ns();
    for round in 0..10 {
        let (inner, outer) = (format!("in{round}"), format!("out{round}"));
        host.nl
            .link_add(
                &NewLink::veth(&outer, &inner)
                    .peer_netns(pod.ns.as_fd())
                    .up(),
            )
            .unwrap();
        let index = pod.nl.link_index(&inner).unwrap();
        let peer = host.nl.link_index(&outer).unwrap();
        let addr: IpAddr = "10.70.0.2".parse().unwrap();
        pod.nl
            .addr_add(&Address::new(index, IpPrefix::new(addr, 24).unwrap()))
            .unwrap();

        let requester = pod.ns.netlink().unwrap();
        let mut pod_watch = pod.ns.netlink().unwrap();
        let mut host_watch = host.ns.netlink().unwrap();
        let mut watches = [
            Watch {
                socket: &mut pod_watch,
                index,
            },
            Watch {
                socket: &mut host_watch,
                index: peer,
            },
        ];
        delete_link_unwaited(requester, index, &mut watches).unwrap();

        assert!(pod
            .nl
            .link_get(LinkId::Index(index))
            .unwrap_err()
            .is_not_found());
        assert!(host
            .nl
            .link_get(LinkId::Name(&outer))
            .unwrap_err()
            .is_not_found());
        assert!(pod.nl.addr_list(None, Some(index)).unwrap().is_empty());
        // The names are free at once.
        host.nl
            .link_add(&NewLink::veth(&outer, &inner).peer_netns(pod.ns.as_fd()))
            .unwrap();
        host.nl.link_delete(LinkId::Name(&outer)).unwrap();
    }
}

#[test]
fn a_missing_link_is_not_found() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let requester = ns.ns.netlink().unwrap();
    let mut watch = ns.ns.netlink().unwrap();
    let e = delete_link_unwaited(
        requester,
        4242,
        &mut [Watch {
            socket: &mut watch,
            index: 4242,
        }],
    )
    .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}
