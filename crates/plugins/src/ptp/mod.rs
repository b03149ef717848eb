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

use crate::common::ipam;

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

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        crate::common::del::ipam_then_link(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        check::check(args)
    }

    /// ptp keeps no state of its own; its IPAM does. Without an IPAM there is nothing to
    /// collect.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
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
