//! `tap`: a persistent tap device in the container's namespace, for a program there (a VM
//! monitor) to open later, optionally on a bridge there and with addresses from an IPAM.
//! Keys, behaviour and deviations: docs/plugins/tap.md.

mod add;
pub mod config;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::LinkId;

use self::config::TapConf;
use crate::common::check::{self, check_ips_and_routes, mac_matches, Inside, PREV_MISSING};
use crate::common::error::{internal, kernel};
use crate::common::{ipam, netns, unlink};

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &TapPlugin,
        "twill tap: persistent tap devices in the container's network namespace",
        &Version::ALL,
    )
}

struct TapPlugin;

fn ipam_type(args: &CmdArgs) -> Result<Option<String>, CniError> {
    let net = NetConf::from_value(&args.config)?;
    Ok(net.plugin.ipam.map(|i| i.ipam_type))
}

impl Plugin for TapPlugin {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        add::add(args)
    }

    /// IPAM DEL first (no namespace needed), then the device — only a tun/tap device of
    /// that name: another kind is not ours to delete. Succeeds when the namespace, the
    /// device or the reservation are gone, and on repeats. Keys ADD refuses are not refused.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let released = match ipam_type(args)? {
            Some(t) => ipam::del(&t, args),
            None => Ok(()),
        };
        if let Some(path) = args.netns.as_deref() {
            if let Some((_ns, mut nl, watch)) = netns::open_for_unlink(path)? {
                match nl.tun_info(LinkId::Name(&args.ifname)) {
                    Ok(Some(_)) => match unlink::container_link(nl, watch, &args.ifname) {
                        Err(e) if !e.is_not_found() => return Err(kernel(e)),
                        _ => {}
                    },
                    Ok(None) => {
                        eprintln!("tap: {:?} is not a tap device; left alone", args.ifname)
                    }
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(kernel(e)),
                }
            }
        }
        released
    }

    /// IPAM CHECK, then the device: a persistent tap, with the result's MAC, its
    /// multi-queue mode, owner, group and MTU as configured, on the bridge when one is
    /// configured, with the result's addresses and routes.
    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = TapConf::parse(args)?;
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
        let id = LinkId::Name(&args.ifname);
        let link = nl
            .link_get(id)
            .map_err(|e| internal(format!("tap {:?} not found: {e}", args.ifname)))?;
        let info = nl
            .tun_info(id)
            .map_err(kernel)?
            .filter(|t| t.tap)
            .ok_or_else(|| internal(format!("{:?} is not a tap device", args.ifname)))?;
        let want = add::spec(&conf);
        let mismatch = |what: &str| internal(format!("tap {:?}: {what} differs", args.ifname));
        if !mac_matches(&entry, &link) {
            return Err(mismatch("MAC"));
        }
        if !info.persist {
            return Err(mismatch("persistence"));
        }
        if info.multi_queue != want.multi_queue {
            return Err(mismatch("multiQueue"));
        }
        if info.owner != want.owner {
            return Err(mismatch("owner"));
        }
        if info.group != want.group {
            return Err(mismatch("group"));
        }
        if conf.mtu.is_some_and(|m| m != link.mtu) {
            return Err(mismatch("MTU"));
        }
        if let Some(b) = &conf.bridge {
            let br = add::bridge_index(&mut nl, b)?;
            if link.master != Some(br) {
                return Err(mismatch("bridge"));
            }
        }
        check_ips_and_routes(&mut nl, &args.ifname, link.index, &result)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        match ipam_type(args)? {
            Some(t) => ipam::gc(&t, args),
            None => Ok(()),
        }
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        match ipam_type(args)? {
            Some(t) => ipam::status(&t, args),
            None => Ok(()),
        }
    }
}
