//! DEL for the plugins that give a container one interface of their own (bridge, ptp):
//! release the IPAM reservation first (it needs no namespace), then delete the container's
//! interface, which takes its host end with it.

use twill_cni::config::NetConf;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use super::error::kernel;
use super::{ipam, netns, unlink};

/// Runs DEL. Succeeds when the namespace, the interface or the reservation are already gone,
/// and on repeats. Keys ADD refuses are not refused here, and neither is a missing `ipam` (no
/// ADD of such a configuration reserved anything): a DEL must be able to clean up after any
/// ADD, failed ones included, or the runtime retries it forever.
pub fn ipam_then_link(args: &CmdArgs) -> Result<(), CniError> {
    let net = NetConf::from_value(&args.config)?;
    // The interface is removed even when the release fails; the release's error is then
    // reported, so the runtime retries (both steps are idempotent).
    let released = match &net.plugin.ipam {
        Some(i) => ipam::del(&i.ipam_type, args),
        None => Ok(()),
    };
    if let Some(path) = args.netns.as_deref() {
        if let Some((_ns, nl, watch)) = netns::open_for_unlink(path)? {
            match unlink::container_link(nl, watch, &args.ifname) {
                Err(e) if !e.is_not_found() => return Err(kernel(e)),
                _ => {}
            }
        }
    }
    released
}
