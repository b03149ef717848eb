//! Making sure the bridge exists, is a bridge, and is up (and promiscuous when asked).

use twill_cni::CniError;
use twill_kernel::link_ext::IFF_PROMISC;
use twill_kernel::{sysctl, Link, LinkId, MacAddr, Netlink, NewLink};

use super::config::BridgeConf;
use crate::common::error::{internal, kernel};

/// The bridge as found or created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bridge {
    /// Its interface index.
    pub index: u32,
    /// Its MAC before this ADD's port joined (the one `isGateway` pins).
    pub mac: Option<MacAddr>,
}

/// Finds or creates the bridge. An existing bridge is only changed where it must be (up,
/// promiscuous); one request when nothing needs changing. A bridge is created with the
/// configured MTU and up in one request. A link of that name that is not a bridge is an
/// error.
pub fn ensure_bridge(nl: &mut Netlink, conf: &BridgeConf) -> Result<Bridge, CniError> {
    let name = conf.bridge.as_str();
    let fail = |e| internal(format!("failed to create bridge {name:?}: {e}"));
    let link = match nl.link_get(LinkId::Name(name)) {
        Ok(link) => link,
        Err(e) if e.is_not_found() => create(nl, conf).map_err(fail)?,
        Err(e) => return Err(fail(e.to_string())),
    };
    if link.kind.as_deref() != Some("bridge") {
        return Err(fail(format!("{name:?} already exists but is not a bridge")));
    }
    if conf.vlans.filtering()
        && nl.bridge_vlan_filtering(LinkId::Index(link.index)).ok() != Some(Some(true))
    {
        // Also on an existing bridge: VLAN keys on a bridge that does not filter would be
        // silently ignored (the reference sets filtering only on a bridge it creates). Its
        // other ports keep working: each has VLAN 1 as PVID from when it joined.
        nl.bridge_set_vlan_filtering(LinkId::Index(link.index), true)
            .map_err(|e| internal(format!("could not turn on vlan filtering of {name:?}: {e}")))?;
    }
    if conf.promisc && link.flags & IFF_PROMISC == 0 {
        nl.link_set_promisc_flag(LinkId::Index(link.index), true)
            .map_err(|e| internal(format!("could not set promiscuous mode on {name:?}: {e}")))?;
    }
    if !link.is_up() {
        nl.link_set_up(LinkId::Index(link.index)).map_err(kernel)?;
    }
    // The bridge's routes are ours to manage, never router advertisements'. Best effort, as
    // in the reference (no IPv6 means no such file).
    let _ = sysctl::write(&format!("net/ipv6/conf/{name}/accept_ra"), "0");
    Ok(Bridge {
        index: link.index,
        mac: link.mac,
    })
}

fn create(nl: &mut Netlink, conf: &BridgeConf) -> Result<Link, String> {
    let mut spec = NewLink::bridge(&conf.bridge).up();
    if let Some(mtu) = conf.mtu {
        spec = spec.mtu(mtu);
    }
    match nl.link_add(&spec) {
        // Another ADD created it between our lookup and our request: use theirs.
        Err(e) if !e.is_exists() => return Err(format!("could not add {:?}: {e}", conf.bridge)),
        _ => {}
    }
    nl.link_get(LinkId::Name(&conf.bridge))
        .map_err(|e| e.to_string())
}
