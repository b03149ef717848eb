//! `ipvlan`: gives a container an ipvlan child of a parent device — an interface sharing
//! the parent's MAC, told apart by IP address, in layer 2, layer 3 or layer 3 "symmetric"
//! (`l3s`) mode. Keys, behaviour and deviations: docs/plugins/ipvlan.md.

mod add;
pub mod config;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};

use crate::common::child::Kind;
use crate::common::child_check::{self, Expected};
use crate::common::ipam;

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &IpvlanPlugin,
        "twill ipvlan: gives containers an ipvlan child of a parent device",
        &Version::ALL,
    )
}

struct IpvlanPlugin;

impl Plugin for IpvlanPlugin {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        add::add(args)
    }

    /// Releases the reservation (when there is an IPAM: chained, the addresses are the
    /// previous plugin's), then deletes the child in the container. Needs neither the
    /// parent nor the namespace; repeats succeed.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        crate::common::del::ipam_then_link(args)
    }

    /// The child against `prevResult`: kind ipvlan, the configured mode and parent (when
    /// `master` names it: without, ADD may have taken a chained result's interface, which
    /// this `prevResult` no longer shows), the addresses and routes.
    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::IpvlanConf::parse(args)?;
        let want = Expected {
            plugin: "ipvlan",
            lower: &conf.lower,
            kind: Kind::Ipvlan(conf.mode),
            ipam: conf.ipam.as_deref(),
            prev: conf.net.plugin.prev_result.as_ref(),
            parent_known: conf.lower.master.is_some(),
        };
        child_check::check(args, want)
    }

    /// The IPAM's state; chained without one, there is nothing to collect.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        match NetConf::from_value(&args.config)?.plugin.ipam {
            Some(i) => ipam::gc(&i.ipam_type, args),
            None => Ok(()),
        }
    }

    /// Ready when the configuration reads and the IPAM (if any) is.
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::IpvlanConf::parse(args)?;
        match conf.ipam {
            Some(t) => ipam::status(&t, args),
            None => Ok(()),
        }
    }
}
