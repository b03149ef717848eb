//! `static`: a thin adapter from the entry point to `twill_ipam::static_ipam`. It holds no
//! state, so DEL and GC have nothing to do.

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::result::CniResult;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_ipam::StaticConf;

/// The plugin; also called in-process by main plugins (see `common::ipam`).
pub struct Static;

/// Runs static.
pub fn main() -> ExitCode {
    skel::run(
        &Static,
        concat!("twill static IPAM plugin v", env!("CARGO_PKG_VERSION")),
        &Version::ALL,
    )
}

impl Plugin for Static {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = StaticConf::parse(&args.config, &args.args)?;
        Ok(CniResult::from_latest(conf.result(), args.version)?.to_json())
    }

    fn del(&self, _args: &CmdArgs) -> Result<(), CniError> {
        // Nothing is held, so there is nothing to release, whatever the configuration says.
        Ok(())
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = StaticConf::parse(&args.config, &args.args)?;
        let prev = crate::host_local::prev_result(args)?;
        conf.check(prev.as_ref(), &args.ifname)?;
        Ok(())
    }
}
