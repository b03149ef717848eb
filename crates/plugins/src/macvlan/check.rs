//! CHECK: the IPAM reservation (delegated), then the container's interface against
//! `prevResult`: a macvlan of the configured mode and parent, with its MAC, addresses and
//! routes.

use twill_cni::result::CniResult;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::{LinkId, Netlink};

use super::config::MacvlanConf;
use crate::common::check::{check_ips_and_routes, mac_matches};
use crate::common::error::{internal, kernel};
use crate::common::{ipam, lower, netns};

/// Runs CHECK.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = MacvlanConf::parse(args)?;
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    if let Some(t) = &conf.ipam {
        ipam::check(t, args)?;
    }
    let prev = conf
        .net
        .plugin
        .prev_result
        .as_ref()
        .ok_or_else(|| internal("macvlan: Required prevResult missing"))?;
    let result = CniResult::from_value_at(prev, "prevResult", args.version)?.into_latest();
    let sandbox = path.to_string_lossy();
    let entry = result
        .interfaces
        .iter()
        .find(|i| i.name == args.ifname && i.sandbox == sandbox)
        .ok_or_else(|| {
            internal(format!(
                "Sandbox in prevResult doesn't match configured netns: {sandbox}"
            ))
        })?;

    let (mut inside, ()) = netns::enter(&container, path, || ())?;
    let parent = if conf.lower.link_in_container {
        lower::find_parent(&mut inside, conf.lower.master.as_deref(), None)?
    } else {
        let mut host = Netlink::open().map_err(kernel)?;
        lower::find_parent(&mut host, conf.lower.master.as_deref(), None)?
    };
    let msg = inside
        .link_get_message(LinkId::Name(&args.ifname))
        .map_err(|e| {
            internal(format!(
                "Container Interface name in prevResult: {} not found: {e}",
                args.ifname
            ))
        })?;
    let link = twill_kernel::Link::from_message(msg.clone())
        .map_err(|e| internal(format!("reading {}: {e}", args.ifname)))?;
    if link.kind.as_deref() != Some("macvlan") {
        return Err(internal(format!(
            "Error: Container interface {} not of type macvlan",
            args.ifname
        )));
    }
    if msg.macvlan_mode != Some(conf.mode) {
        let have = msg.macvlan_mode.map_or("unknown", |m| m.name());
        return Err(internal(format!(
            "Container macvlan mode {have} does not match expected value: {}",
            conf.mode
        )));
    }
    // The parent's index, as the container sees it: in its own namespace with
    // `linkInContainer`, else in another one (a link-netnsid).
    let same_ns = link.link_netnsid.is_none();
    if link.link != Some(parent.index) || same_ns != conf.lower.link_in_container {
        return Err(internal(format!(
            "Container interface {} is not a child of master {:?}",
            args.ifname, parent.name
        )));
    }
    if !mac_matches(entry, &link) {
        return Err(internal(format!(
            "Interface {} Mac {} doesn't match container Mac: {}",
            args.ifname,
            entry.mac,
            link.mac.map(|m| m.to_string()).unwrap_or_default()
        )));
    }
    check_ips_and_routes(&mut inside, &args.ifname, link.index, &result)
}
