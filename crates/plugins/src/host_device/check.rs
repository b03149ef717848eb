//! CHECK: the IPAM reservation (delegated), then the device in the container: present under
//! `CNI_IFNAME` with the MAC of `prevResult`, carrying its original name as alias, and the
//! addresses and routes of `prevResult`.

use twill_cni::result::CniResult;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::LinkId;

use super::config::HostDeviceConf;
use crate::common::check::{check_ips_and_routes, mac_matches};
use crate::common::error::{internal, kernel};
use crate::common::{ipam, netns};

/// Runs CHECK.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = HostDeviceConf::parse(args)?;
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
        .ok_or_else(|| internal("Required prevResult missing"))?;
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
    let (mut nl, ()) = netns::enter(&container, path, || ())?;
    let link = nl.link_get(LinkId::Name(&args.ifname)).map_err(|e| {
        internal(format!(
            "Container Interface name in prevResult: {} not found: {e}",
            args.ifname
        ))
    })?;
    if !mac_matches(entry, &link) {
        return Err(internal(format!(
            "Interface {} Mac {} doesn't match container Mac: {}",
            args.ifname,
            entry.mac,
            link.mac.map(|m| m.to_string()).unwrap_or_default()
        )));
    }
    if nl
        .link_alias(LinkId::Index(link.index))
        .map_err(kernel)?
        .is_none()
    {
        return Err(internal(format!(
            "{}: no alias naming its host device: DEL could not give it back",
            args.ifname
        )));
    }
    check_ips_and_routes(&mut nl, &args.ifname, link.index, &result)
}
