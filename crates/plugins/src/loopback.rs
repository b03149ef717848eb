//! `loopback`: brings `lo` up in the container's namespace. `CNI_IFNAME` is ignored: the
//! plugin only ever touches `lo`. See docs/plugins/loopback.md.

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::result::{CniResult, IpConfig, IpNet, V1Interface, V1Result};
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::{IpFamily, LinkId, Netlink};

use crate::common::error::{internal, kernel};
use crate::common::netns;

/// The loopback device's index: the kernel gives `lo` index 1 in every namespace.
const LO: u32 = 1;
const LO_NAME: &str = "lo";

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &Loopback,
        "twill loopback: brings lo up in the container's network namespace",
        &Version::ALL,
    )
}

struct Loopback;

fn open(args: &CmdArgs) -> Result<Netlink, CniError> {
    let ns = netns::open(args)?;
    let (nl, ()) = netns::enter(&ns, netns::path(args)?, || ())?;
    Ok(nl)
}

impl Plugin for Loopback {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let mut nl = open(args)?;
        nl.link_set_up(LinkId::Index(LO)).map_err(kernel)?;
        let addrs = nl.addr_list(None, Some(LO)).map_err(kernel)?;
        if let Some(odd) = addrs.iter().find(|a| !a.prefix.addr().is_loopback()) {
            return Err(internal(format!(
                "loopback interface found with non-loopback address {:?}",
                odd.prefix.addr().to_string()
            )));
        }
        let prev = Value::Object(Default::default());
        let prev = twill_cni::json::Obj::root(&args.config)?
            .get("prevResult")
            .unwrap_or(&prev);
        let result = if prev.as_object().is_some_and(|m| !m.is_empty()) {
            // Chained after another plugin: pass its result through, in our version.
            CniResult::from_value_at(prev, "prevResult", args.version)?.convert(args.version)?
        } else {
            let mut r = V1Result::new();
            let sandbox = netns::path(args)?.to_string_lossy().into_owned();
            let lo = r.add_interface(
                V1Interface::new(LO_NAME)
                    .with_mac("00:00:00:00:00:00")
                    .in_sandbox(sandbox),
            );
            // The first address of each family, as the reference reports.
            for family in [IpFamily::V4, IpFamily::V6] {
                if let Some(a) = addrs.iter().find(|a| a.prefix.family() == family) {
                    let net = IpNet::new(a.prefix.addr(), a.prefix.len())
                        .map_err(|e| internal(e.to_string()))?;
                    r.add_ip(IpConfig::new(net).on_interface(lo));
                }
            }
            CniResult::from_latest(r, args.version)?
        };
        Ok(result.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let Some(path) = args.netns.as_deref() else {
            return Ok(());
        };
        let Some((_ns, mut nl)) = netns::open_for_del(path)? else {
            return Ok(());
        };
        nl.link_set_down(LinkId::Index(LO)).map_err(kernel)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let mut nl = open(args)?;
        let lo = nl.link_get(LinkId::Index(LO)).map_err(kernel)?;
        if !lo.is_up() {
            return Err(internal("loopback interface is down"));
        }
        Ok(())
    }
}
