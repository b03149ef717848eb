//! Finding the host end of the container's veth: the container interface's peer index,
//! looked up in the plugin's (the host's) namespace, which must be an interface the
//! previous result reports outside any sandbox. The reference's discovery, plus a check
//! that the link found really is that veth's peer (an index alone could name an unrelated
//! link when the peer lives in a third namespace).

use twill_cni::result::V1Result;
use twill_cni::CniError;
use twill_kernel::{Link, LinkId, Netlink};

use crate::common::error::{internal, kernel};

/// The host end: its name and index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEnd {
    /// Name.
    pub name: String,
    /// Interface index in the host namespace.
    pub index: u32,
}

/// Finds the host end of `ifname` (inside the namespace `pod` is a socket of) among
/// `prev`'s interfaces.
pub fn find(
    prev: &V1Result,
    ifname: &str,
    pod: &mut Netlink,
    host: &mut Netlink,
) -> Result<HostEnd, CniError> {
    if prev.interfaces.is_empty() {
        return Err(CniError::invalid_config(
            "prevResult.interfaces: no interfaces provided: bandwidth shapes the host end of the container's veth, which the previous plugin must report",
        ));
    }
    let inner = match pod.link_get(LinkId::Name(ifname)) {
        Ok(l) => l,
        Err(e) if e.is_not_found() => {
            return Err(internal(format!(
                "container interface {ifname} has no veth peer: no such interface in CNI_NETNS"
            )))
        }
        Err(e) => return Err(kernel(e)),
    };
    let peer = match (&inner.kind, inner.link) {
        (Some(k), Some(p)) if k == "veth" && p > 0 => p,
        _ => {
            return Err(internal(format!(
                "container interface {ifname} has no veth peer: it is a {} link",
                inner.kind.as_deref().unwrap_or("kindless")
            )))
        }
    };
    let outer: Link = match host.link_get(LinkId::Index(peer)) {
        Ok(l) if l.kind.as_deref() == Some("veth") && l.link == Some(inner.index) => l,
        Ok(_) => {
            return Err(internal(format!(
                "veth peer with index {peer} is not in host ns"
            )))
        }
        Err(e) if e.is_not_found() => {
            return Err(internal(format!(
                "veth peer with index {peer} is not in host ns"
            )))
        }
        Err(e) => return Err(kernel(e)),
    };
    let listed = prev
        .interfaces
        .iter()
        .any(|i| i.sandbox.is_empty() && i.name == outer.name);
    if !listed {
        return Err(internal(format!(
            "no veth peer of container interface found in host ns: {:?} (the peer of {ifname}) is not among prevResult's host interfaces",
            outer.name
        )));
    }
    Ok(HostEnd {
        name: outer.name,
        index: outer.index,
    })
}
