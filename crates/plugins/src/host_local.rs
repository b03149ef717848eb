//! `host-local`: a thin adapter from the entry point to `twill_ipam::host_local`.

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::result::{CniResult, V1Result};
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_ipam::{host_local, HostLocalConf, StoreConf};

/// The plugin; also called in-process by main plugins (see `common::ipam`).
pub struct HostLocal;

/// Runs host-local.
pub fn main() -> ExitCode {
    skel::run(
        &HostLocal,
        concat!("twill host-local IPAM plugin v", env!("CARGO_PKG_VERSION")),
        &Version::ALL,
    )
}

/// The configuration's `prevResult`, in the latest shape.
pub fn prev_result(args: &CmdArgs) -> Result<Option<V1Result>, CniError> {
    let Some(prev) = twill_cni::json::Obj::root(&args.config)?.get("prevResult") else {
        return Ok(None);
    };
    Ok(Some(
        CniResult::from_value_at(prev, "prevResult", args.version)?.into_latest(),
    ))
}

impl Plugin for HostLocal {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = HostLocalConf::parse(&args.config, &args.args)?;
        let result = host_local::add(&conf, &args.container_id, &args.ifname)?;
        Ok(CniResult::from_latest(result, args.version)?.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // A configuration that does not say where the store is could never have reserved
        // anything (ADD reads the same keys first), so there is nothing to release; failing
        // would only block the rest of the runtime's DEL chain.
        let Ok(conf) = StoreConf::parse(&args.config) else {
            return Ok(());
        };
        host_local::del(&conf, &args.container_id, &args.ifname)?;
        Ok(())
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = HostLocalConf::parse(&args.config, &args.args)?;
        let prev = prev_result(args)?;
        host_local::check(&conf, &args.container_id, &args.ifname, prev.as_ref())?;
        Ok(())
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = StoreConf::parse(&args.config)?;
        // No list (or `null`, as a runtime with no attachments sends) means none is valid.
        let valid = NetConf::from_value(&args.config)?
            .valid_attachments
            .unwrap_or_default();
        host_local::gc(&conf, &valid)?;
        Ok(())
    }
}
