//! Delegation to the IPAM plugin named in `ipam.type`, found on `CNI_PATH`, with this plugin's
//! own request environment and the configuration exactly as received.
//!
//! When the plugin found on `CNI_PATH` is this very binary (twill installs every plugin as a
//! symlink to one binary), the IPAM plugin is called in-process: it would receive exactly the
//! same environment and stdin, so the outcome is the same, minus a process start — the
//! largest single cost of a bridge ADD. Any other binary of that name (the reference
//! host-local, dhcp, a third-party IPAM) is executed as the spec describes.

use std::path::PathBuf;

use twill_cni::exec::{self, RequestEnv};
use twill_cni::result::{CniResult, V1Result};
use twill_cni::skel::{CmdArgs, Plugin};
use twill_cni::CniError;

use crate::{host_local, static_ipam};

/// The request environment to pass on: ours, so the delegate sees the same container,
/// namespace, interface, arguments and search path.
fn env() -> Result<RequestEnv, CniError> {
    RequestEnv::from_process_env()
}

/// This binary's IPAM plugin for `ipam_type`, when `CNI_PATH` resolves that name to this
/// binary. Any doubt (no such file, unreadable links) means executing it instead.
fn in_process(ipam_type: &str, args: &CmdArgs) -> Option<&'static dyn Plugin> {
    let plugin: &'static dyn Plugin = match ipam_type {
        "host-local" => &host_local::HostLocal,
        "static" => &static_ipam::Static,
        _ => return None,
    };
    let found = exec::find_plugin(ipam_type, &args.path).ok()?;
    let found = std::fs::canonicalize(found).ok()?;
    let me: PathBuf = std::fs::canonicalize("/proc/self/exe").ok()?;
    (found == me).then_some(plugin)
}

/// ADD: the delegate's result in the latest shape.
pub fn add(ipam_type: &str, args: &CmdArgs) -> Result<V1Result, CniError> {
    if let Some(plugin) = in_process(ipam_type, args) {
        let value = plugin.add(args)?;
        return Ok(CniResult::from_value(&value, args.version)?.into_latest());
    }
    let raw = exec::delegate_add(ipam_type, &args.stdin, &env()?, &args.path)?;
    Ok(raw.typed()?.into_latest())
}

/// DEL: releases what ADD reserved; works without the container's namespace.
pub fn del(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    if let Some(plugin) = in_process(ipam_type, args) {
        return plugin.del(args);
    }
    exec::delegate_del(ipam_type, &args.stdin, &env()?, &args.path)
}

/// CHECK.
pub fn check(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    if let Some(plugin) = in_process(ipam_type, args) {
        return plugin.check(args);
    }
    exec::delegate_check(ipam_type, &args.stdin, &env()?, &args.path)
}

/// GC.
pub fn gc(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    if let Some(plugin) = in_process(ipam_type, args) {
        return plugin.gc(args);
    }
    exec::delegate_gc(ipam_type, &args.stdin, &env()?, &args.path)
}

/// STATUS.
pub fn status(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    if let Some(plugin) = in_process(ipam_type, args) {
        return plugin.status(args);
    }
    exec::delegate_status(ipam_type, &args.stdin, &env()?, &args.path)
}
