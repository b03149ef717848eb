//! CHECK: the IPAM reservation (delegated), then the device in the container: present under
//! `CNI_IFNAME` with the MAC of `prevResult`, carrying its original name as alias, and the
//! addresses and routes of `prevResult`.

use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::LinkId;

use super::config::HostDeviceConf;
use crate::common::check::{self, check_ips_and_routes, Inside, PREV_MISSING};
use crate::common::error::{internal, kernel};

/// Runs CHECK.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = HostDeviceConf::parse(args)?;
    let Inside {
        mut nl,
        result,
        entry,
    } = check::enter(
        args,
        conf.ipam.as_deref(),
        conf.net.plugin.prev_result.as_ref(),
        PREV_MISSING,
    )?;
    let link = check::container_link(&mut nl, &args.ifname)?;
    check::check_mac(&entry, &link, &args.ifname)?;
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
