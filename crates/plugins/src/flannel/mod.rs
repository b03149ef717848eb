//! `flannel`: the meta-plugin of flannel networks. It reads the node's subnet from the
//! `subnet.env` flanneld (or twilld) writes, builds a configuration for a real plugin (by
//! default `bridge` with `host-local`) and delegates every command to it.
//!
//! * [`config`]: the plugin's keys; [`subnet_env`]: the file; [`delegate`]: the delegate's
//!   configuration built from both; [`saved`]: that configuration kept per container.
//! * [`ops`]: ADD, DEL and CHECK; [`cluster`]: GC and STATUS.
//!
//! Nothing is executed but the delegate. Keys, behaviour and the decisions where twill
//! departs from the reference (flannel-io/cni-plugin): docs/plugins/flannel.md.

pub mod config;
pub mod delegate;
pub mod saved;
pub mod subnet_env;

mod cluster;
mod ops;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};

/// What the binary says about itself when run by hand.
const ABOUT: &str = concat!(
    "twill flannel meta-plugin v",
    env!("CARGO_PKG_VERSION"),
    ": delegates to bridge (or another plugin) with the node's subnet from flanneld"
);

/// The `flannel` plugin.
#[derive(Debug)]
pub struct Flannel;

/// Runs `flannel` as a whole process.
pub fn main() -> ExitCode {
    skel::run(&Flannel, ABOUT, &Version::ALL)
}

impl Plugin for Flannel {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        ops::add(args)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        ops::del(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        ops::check(args)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        cluster::gc(args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        cluster::status(args)
    }
}
