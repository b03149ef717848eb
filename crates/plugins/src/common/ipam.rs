//! Delegation to the IPAM plugin named in `ipam.type`, found on `CNI_PATH` and executed with
//! this plugin's own request environment and the configuration exactly as received — the
//! only subprocess on a plugin's path.

use twill_cni::exec::{self, RequestEnv};
use twill_cni::result::V1Result;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

/// The request environment to pass on: ours, so the delegate sees the same container,
/// namespace, interface, arguments and search path.
fn env() -> Result<RequestEnv, CniError> {
    RequestEnv::from_process_env()
}

/// ADD: the delegate's result in the latest shape.
pub fn add(ipam_type: &str, args: &CmdArgs) -> Result<V1Result, CniError> {
    let raw = exec::delegate_add(ipam_type, &args.stdin, &env()?, &args.path)?;
    Ok(raw.typed()?.into_latest())
}

/// DEL: releases what ADD reserved; works without the container's namespace.
pub fn del(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    exec::delegate_del(ipam_type, &args.stdin, &env()?, &args.path)
}

/// CHECK.
pub fn check(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    exec::delegate_check(ipam_type, &args.stdin, &env()?, &args.path)
}

/// GC.
pub fn gc(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    exec::delegate_gc(ipam_type, &args.stdin, &env()?, &args.path)
}

/// STATUS.
pub fn status(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    exec::delegate_status(ipam_type, &args.stdin, &env()?, &args.path)
}
