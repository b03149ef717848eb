//! `macvlan`: gives a container a macvlan child of a parent device — an interface with a MAC
//! of its own on the parent's wire, reaching the parent's network directly (no host bridge,
//! no routing through the host). Keys, behaviour and deviations: docs/plugins/macvlan.md.

mod add;
mod check;
pub mod config;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};

use crate::common::ipam;

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &MacvlanPlugin,
        "twill macvlan: gives containers a macvlan child of a parent device",
        &Version::ALL,
    )
}

struct MacvlanPlugin;

impl Plugin for MacvlanPlugin {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        add::add(args)
    }

    /// Releases the reservation, then deletes the child in the container. Needs neither the
    /// parent (the reference fails when it is gone, so its pods can never be deleted) nor
    /// the namespace; repeats succeed.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        crate::common::del::ipam_then_link(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        check::check(args)
    }

    /// The IPAM's state; without an IPAM there is nothing to collect.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        match NetConf::from_value(&args.config)?.plugin.ipam {
            Some(i) => ipam::gc(&i.ipam_type, args),
            None => Ok(()),
        }
    }

    /// Ready when the configuration reads and the IPAM (if any) is.
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::MacvlanConf::parse(args)?;
        match conf.ipam {
            Some(t) => ipam::status(&t, args),
            None => Ok(()),
        }
    }
}
