//! `ptp`: attaches a container to the host through a veth pair routed point to point: the
//! host end is the pod's gateway, and the host's routing table joins pods with each other
//! and with the world. Keys, behaviour and deviations: docs/plugins/ptp.md.

mod add;
mod check;
pub mod config;

mod routing;

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
        &PtpPlugin,
        "twill ptp: attaches containers to the host through routed point-to-point veth pairs",
        &Version::ALL,
    )
}

struct PtpPlugin;

impl Plugin for PtpPlugin {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        add::add(args)
    }

    /// The masquerade elements go first and need nothing but their record; the rest runs
    /// even when their removal fails, whose error is then reported (all steps repeat). Its
    /// socket closes while the interface is deleted (see common::lingering).
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let mut lingering = Lingering::new();
        let unmasqueraded = masq::del(args, &mut lingering);
        lingering.close_during(|| crate::common::del::ipam_then_link(args))?;
        unmasqueraded
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        check::check(args)
    }

    /// Masquerade records of stale attachments, then the IPAM's state (without an IPAM
    /// there is nothing more to collect).
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        masq::gc(args)?;
        let net = NetConf::from_value(&args.config)?;
        match net.plugin.ipam {
            Some(i) => ipam::gc(&i.ipam_type, args),
            None => Ok(()),
        }
    }

    /// Ready when the IPAM is; a configuration without one can never ADD (code 7).
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = NetConf::from_value(&args.config)?;
        ipam::status(&config::required_ipam(&net)?, args)
    }
}
