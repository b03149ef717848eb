//! `bridge`: attaches a container to a Linux bridge on the host through a veth pair, with
//! addresses from an IPAM plugin. Keys, behaviour and deviations: docs/plugins/bridge.md.

mod add;
mod check;
pub mod config;

mod gateway;
mod setup;
pub mod spoofchk;
mod vlan;
mod vlan_gateway;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};

use crate::common::lingering::Lingering;
use crate::common::{ipam, masq};

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &BridgePlugin,
        "twill bridge: attaches containers to a Linux bridge through veth pairs",
        &Version::ALL,
    )
}

struct BridgePlugin;

fn ipam_type(args: &CmdArgs) -> Result<Option<String>, CniError> {
    let net = NetConf::from_value(&args.config)?;
    Ok(net.plugin.ipam.map(|i| i.ipam_type))
}

impl Plugin for BridgePlugin {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        add::add(args)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // The masquerade and spoof-check elements go first and need nothing but their
        // records; the rest runs even when their removal fails, whose error is then
        // reported (every step repeats safely). Their sockets close while the interface
        // is deleted: both wait for the kernel (see common::lingering).
        let mut lingering = Lingering::new();
        let unmasqueraded = masq::del(args, &mut lingering);
        let spoof = spoofchk::del(args, &mut lingering);
        lingering
            .close_during(|| crate::common::del::ipam_then_link(args))
            .and(unmasqueraded)
            .and(spoof)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        check::check(args)
    }

    /// Masquerade and spoof-check records of stale attachments, then the IPAM's state.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        masq::gc(args)?;
        let spoof = spoofchk::gc(args);
        match ipam_type(args)? {
            Some(t) => ipam::gc(&t, args).and(spoof),
            None => spoof,
        }
    }

    /// Ready when the IPAM is.
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        match ipam_type(args)? {
            Some(t) => ipam::status(&t, args),
            None => Ok(()),
        }
    }
}
