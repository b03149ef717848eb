//! CHECK: the IPAM reservation (delegated), then what ADD created against the kernel: the
//! bridge (kind, MAC, promiscuous mode), the container's veth and its host peer attached to
//! the bridge, and the addresses and routes of `prevResult` inside the container.

use twill_cni::result::V1Interface;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::link_ext::IFF_PROMISC;
use twill_kernel::{Link, LinkId, Netlink};

use super::config::BridgeConf;
use super::spoofchk;
use crate::common::check::{
    self, check_ips_and_routes, checked_veth, mac_matches, Begun, PREV_MISSING,
};
use crate::common::error::{internal, kernel};
use crate::common::{masq, netns};

/// Runs CHECK.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = BridgeConf::parse(args)?;
    let Begun {
        path,
        container,
        result,
    } = check::begin(
        args,
        conf.ipam.as_deref(),
        conf.net.plugin.prev_result.as_ref(),
        PREV_MISSING,
    )?;
    if conf.ip_masq && conf.ipam.is_some() {
        masq::check(args, &result.ips)?;
    }
    let sandbox = path.to_string_lossy();
    let named = |name: &str| result.interfaces.iter().find(|i| i.name == name);
    let br_entry = named(&conf.bridge).cloned().unwrap_or_default();
    let cont_entry = result
        .interfaces
        .iter()
        .find(|i| i.name == args.ifname && i.sandbox == sandbox)
        .cloned()
        .unwrap_or_default();

    let mut host = Netlink::open().map_err(kernel)?;
    let bridge = check_bridge(&mut host, &conf, &br_entry)?;
    if cont_entry.sandbox != sandbox {
        return Err(internal(format!(
            "Sandbox in prevResult {} doesn't match configured netns: {sandbox}",
            cont_entry.sandbox
        )));
    }
    let (mut nl, ()) = netns::enter(&container, path, || ())?;
    let cont = checked_veth(&mut nl, &cont_entry, "Container")?;

    let mut found = false;
    for entry in result.interfaces.iter() {
        if entry.name == br_entry.name || !entry.sandbox.is_empty() {
            continue;
        }
        let veth = checked_veth(&mut host, entry, "Host")?;
        // Peers name each other's index (in the other namespace): both must agree.
        if veth.link != Some(cont.index) || cont.link != Some(veth.index) {
            continue;
        }
        if veth.master != Some(bridge.index) {
            return Err(internal(format!(
                "Interface {} not attached to bridge {}",
                entry.name, conf.bridge
            )));
        }
        super::vlan::check(&mut host, veth.index, &entry.name, &conf.vlans)?;
        found = true;
        break;
    }
    if !found {
        return Err(internal(format!(
            "CNI veth created for bridge {} was not found",
            conf.bridge
        )));
    }
    check_ips_and_routes(&mut nl, &args.ifname, cont.index, &result)?;
    if spoofchk::enabled(&conf)? {
        spoofchk::check(args, cont.mac)?;
    }
    Ok(())
}

fn check_bridge(
    host: &mut Netlink,
    conf: &BridgeConf,
    entry: &V1Interface,
) -> Result<Link, CniError> {
    if entry.name.is_empty() {
        return Err(internal("Bridge interface name missing"));
    }
    let link = host
        .link_get(LinkId::Name(&entry.name))
        .map_err(|e| internal(format!("Error: Bridge {} not found: {e}", entry.name)))?;
    if link.kind.as_deref() != Some("bridge") {
        return Err(internal(format!("Error: {} is not a bridge", entry.name)));
    }
    // Only a pinned MAC (set by a gateway ADD) is stable: an unpinned bridge takes its
    // lowest port's MAC, which changes whenever another pod joins or leaves.
    let pinned = conf.is_gateway && conf.ipam.is_some();
    if pinned && !mac_matches(entry, &link) {
        return Err(internal(format!(
            "Bridge interface {} Mac doesn't match: {}",
            entry.name, entry.mac
        )));
    }
    if conf.promisc && link.flags & IFF_PROMISC == 0 {
        return Err(internal(format!(
            "Bridge interface {} not in promiscuous mode",
            entry.name
        )));
    }
    Ok(link)
}
