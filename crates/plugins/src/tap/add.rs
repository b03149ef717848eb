//! ADD: a persistent tap device made directly in the container's namespace as
//! `CNI_IFNAME`, its MAC, MTU and bridge set there, up; then IPAM and the addresses and
//! routes. Any failure deletes the device (and releases the address), so nothing is left
//! half configured.

use serde_json::Value;
use twill_cni::result::CniResult;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::tap::{self, TapSpec};
use twill_kernel::{LinkChange, LinkId, NetNs, Netlink};

use super::config::TapConf;
use crate::common::attach;
use crate::common::error::{internal, kernel};
use crate::common::{ipam, netns};

/// The device's flags as the reference makes it (through Go's netlink library): a single
/// queue tap with a virtio-net header and the packet-information prefix; a multi-queue
/// one without either. A program that opens the device sets its own.
pub fn spec(conf: &TapConf) -> TapSpec {
    TapSpec {
        multi_queue: conf.multi_queue,
        vnet_hdr: !conf.multi_queue,
        no_pi: conf.multi_queue,
        owner: conf.owner,
        group: conf.group,
    }
}

/// Runs ADD and returns the result in the configuration's version.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let conf = TapConf::parse(args)?;
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    let ifname = args.ifname.clone();
    let spec = spec(&conf);
    let (mut cnl, made) =
        netns::enter(&container, path, || tap::create_persistent(&ifname, &spec))?;
    made.map_err(|e| internal(format!("failed to create tap {ifname:?}: {e}")))?;
    let mut reserved = false;
    let sandbox = path.to_string_lossy().into_owned();
    configure(args, &conf, &container, &mut cnl, sandbox, &mut reserved).inspect_err(|_| {
        if let (true, Some(t)) = (reserved, &conf.ipam) {
            if let Err(e) = ipam::del(t, args) {
                eprintln!("tap: releasing the IPAM reservation after a failed ADD: {e}");
            }
        }
        if let Err(e) = cnl.link_delete(LinkId::Name(&args.ifname)) {
            eprintln!("tap: deleting {:?} after a failed ADD: {e}", args.ifname);
        }
    })
}

fn configure(
    args: &CmdArgs,
    conf: &TapConf,
    container: &NetNs,
    cnl: &mut Netlink,
    sandbox: String,
    reserved: &mut bool,
) -> Result<Value, CniError> {
    let index = cnl.link_index(&args.ifname).map_err(kernel)?;
    let id = LinkId::Index(index);
    let master = match &conf.bridge {
        Some(b) => Some(Some(bridge_index(cnl, b)?)),
        None => None,
    };
    let change = LinkChange {
        mtu: conf.mtu,
        mac: conf.mac,
        master,
        ..LinkChange::default()
    };
    cnl.link_set(id, &change)
        .map_err(|e| internal(format!("failed to set up tap {:?}: {e}", args.ifname)))?;
    cnl.link_set_up(id).map_err(kernel)?;
    let link = cnl.link_get(id).map_err(kernel)?;
    let mut result = attach::result_for(args, &link, sandbox);
    if let Some(t) = &conf.ipam {
        attach::take_ipam(t, args, &mut result, reserved)?;
        // A tap has a carrier only while a program holds it open: until then duplicate
        // address detection cannot finish, so it is not waited for.
        attach::configure_addresses(args, container, cnl, index, &result, false)?;
    }
    if let Some(dns) = &conf.dns {
        result.dns = dns.clone();
    }
    Ok(CniResult::from_latest(result, args.version)?.to_json())
}

/// The index of bridge `name` in the container's namespace; it must be a bridge.
pub fn bridge_index(cnl: &mut Netlink, name: &str) -> Result<u32, CniError> {
    let br = cnl
        .link_get(LinkId::Name(name))
        .map_err(|e| internal(format!("bridge {name:?} in the container: {e}")))?;
    if br.kind.as_deref() != Some("bridge") {
        return Err(internal(format!(
            "bridge {name:?} in the container is a {}, not a bridge",
            br.kind.as_deref().unwrap_or("device")
        )));
    }
    Ok(br.index)
}
