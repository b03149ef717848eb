//! ADD: find the device, record it, move it into the container as `CNI_IFNAME`, then IPAM
//! and the addresses and routes. Any failure after the move releases the reservation and
//! brings the device back, so nothing is left half configured.

use serde_json::Value;
use twill_cni::result::CniResult;
use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Code, Version};
use twill_kernel::{Link, LinkId, NetNs, Netlink};

use super::config::{self, HostDeviceConf};
use super::saved::{self, Saved};
use super::{find, moving};
use crate::common::attach;
use crate::common::error::{internal, kernel};
use crate::common::{ipam, netns};

/// `IFF_LOOPBACK`.
const IFF_LOOPBACK: u32 = 0x8;

/// Runs ADD and returns the result in the configuration's version.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let conf = HostDeviceConf::parse(args)?;
    let sel = config::selector(args)?;
    if conf.ipam.is_none() && args.version < Version::V0_3_0 {
        // Checked before anything moves: the reference moves the device, then fails to
        // print the result and leaves the device in the container.
        return Err(CniError::new(
            Code::INCOMPATIBLE_VERSION,
            format!(
                "cniVersion {}: a result of this version needs an address, and without \
                 \"ipam\" host-device has none; use 0.3.0 or later",
                args.version.as_str()
            ),
        ));
    }
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    let mut host = Netlink::open().map_err(kernel)?;
    let (mut cnl, ()) = netns::enter(&container, path, || ())?;
    if cnl.link_get(LinkId::Name(&args.ifname)).is_ok() {
        return Err(internal(format!(
            "container interface {:?} already exists",
            args.ifname
        )));
    }
    let dev = find::host_link(&mut host, &sel)?;
    if dev.flags & IFF_LOOPBACK != 0 {
        // The kernel refuses to move it (it is local to its namespace), but only after the
        // host's loopback was taken down for the move: refused before anything changes.
        return Err(CniError::invalid_config(format!(
            "{}: the loopback device cannot be moved into a container",
            sel.describe()
        )));
    }
    let saved = Saved {
        container_id: args.container_id.clone(),
        ifname: args.ifname.clone(),
        original: dev.name.clone(),
        mac: dev.mac.map(|m| m.to_string()),
        alias: host.link_alias(LinkId::Index(dev.index)).map_err(kernel)?,
        up: dev.is_up(),
    };
    let file = saved::file(&conf.data_dir, args);
    saved::store(&file, &saved)?;
    let inside = match moving::move_in(&mut host, &mut cnl, &container, &dev, &args.ifname, &saved)
    {
        Ok(l) => l,
        Err(e) => {
            let _ = saved::remove(&file);
            return Err(e);
        }
    };
    let ctx = Ctx {
        args,
        conf: &conf,
        container: &container,
        sandbox: path.to_string_lossy().into_owned(),
    };
    let mut reserved = false;
    configure(&ctx, &mut cnl, &inside, &mut reserved).inspect_err(|_| {
        if let (true, Some(t)) = (reserved, &conf.ipam) {
            if let Err(e) = ipam::del(t, args) {
                eprintln!("host-device: releasing the IPAM reservation after a failed ADD: {e}");
            }
        }
        match moving::move_out(&mut cnl, inside.index, &saved.original) {
            Ok(()) => {
                moving::restore_on_host(&mut host, &saved);
                let _ = saved::remove(&file);
            }
            Err(e) => eprintln!("host-device: moving the device back after a failed ADD: {e}"),
        }
    })
}

struct Ctx<'a> {
    args: &'a CmdArgs,
    conf: &'a HostDeviceConf,
    container: &'a NetNs,
    sandbox: String,
}

/// The result, with the IPAM's addresses and routes configured on the device when there
/// is an IPAM. Sets `reserved` once the IPAM's ADD succeeded.
fn configure(
    ctx: &Ctx<'_>,
    cnl: &mut Netlink,
    dev: &Link,
    reserved: &mut bool,
) -> Result<Value, CniError> {
    let args = ctx.args;
    let mut result = attach::result_for(args, dev, ctx.sandbox.clone());
    if let Some(t) = &ctx.conf.ipam {
        attach::take_ipam(t, args, &mut result, reserved)?;
        attach::configure_addresses(args, ctx.container, cnl, dev.index, &result, false)?;
    }
    if let Some(dns) = &ctx.conf.dns {
        result.dns = dns.clone();
    }
    Ok(CniResult::from_latest(result, args.version)?.to_json())
}
