//! Deleting an interface at the speed of the deletion: the kernel unlists a link and removes
//! its addresses and routes within a millisecond, then spends 10–50 ms reclaiming the device
//! before it acknowledges. The request is made by a detached process
//! (`twill_kernel::reclaim`), and the plugin goes on once the kernel has announced the removal
//! of both ends of the pair: nothing of the attachment is visible any more.

use twill_kernel::reclaim::{delete_link_unwaited, Watch};
use twill_kernel::{LinkId, NetNs, Netlink, Result};

/// Deletes the container's interface `ifname` through `nl`, with `watch` a second socket in
/// the container's namespace; a veth takes its host end along. Returns once both ends are
/// gone. A missing interface is a not-found error, as from `Netlink::link_delete`.
pub fn container_link(mut nl: Netlink, mut watch: Netlink, ifname: &str) -> Result<()> {
    let link = nl.link_get(LinkId::Name(ifname))?;
    let mut host = Netlink::open()?;
    let mut watches = vec![Watch {
        socket: &mut watch,
        index: link.index,
    }];
    // A veth's host end is watched when it is in this namespace, as the plugin made it: the
    // kernel announces it last. Indexes are per namespace, so the host link found at the
    // peer's index must be a veth whose own peer is elsewhere and has the container end's
    // index; a peer found anywhere else is not waited for (its own namespace's listeners see
    // it go an instant after the container end). A lower device (macvlan, ipvlan, vlan) is not
    // deleted with its child and is never watched.
    if let (Some("veth"), Some(peer), Some(_)) =
        (link.kind.as_deref(), link.link, link.link_netnsid)
    {
        let ours = host.link_get(LinkId::Index(peer));
        if ours.is_ok_and(|l| {
            l.kind.as_deref() == Some("veth")
                && l.link_netnsid.is_some()
                && l.link == Some(link.index)
        }) {
            watches.push(Watch {
                socket: &mut host,
                index: peer,
            });
        }
    }
    delete_link_unwaited(nl, link.index, &mut watches)
}

/// Deletes interface `ifname` of namespace `ns` (opening both sockets there on one visit);
/// see [`container_link`].
pub fn in_namespace(ns: &NetNs, ifname: &str) -> Result<()> {
    let (nl, watch) = ns.run(super::netns::socket_pair)??;
    container_link(nl, watch, ifname)
}

/// Deletes the host's link `name` (a veth takes its container end along); returns once the
/// kernel has announced its removal. Used to undo a failed ADD: the container end goes in
/// the same kernel operation, an instant later.
pub fn host_link(name: &str) -> Result<()> {
    let mut watch = Netlink::open()?;
    let index = watch.link_index(name)?;
    in_host(watch, index)
}

/// Deletes the host's link `index` (in the plugin's own namespace); returns once the kernel
/// has announced its removal. A missing link is a not-found error.
pub fn host_index(index: u32) -> Result<()> {
    in_host(Netlink::open()?, index)
}

fn in_host(mut watch: Netlink, index: u32) -> Result<()> {
    let requester = Netlink::open()?;
    delete_link_unwaited(
        requester,
        index,
        &mut [Watch {
            socket: &mut watch,
            index,
        }],
    )
}
