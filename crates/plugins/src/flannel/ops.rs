//! ADD, DEL and CHECK: build (or load) the delegate's configuration and hand the command to
//! the delegate, keeping the saved configuration in step with what the delegate holds.

use std::path::Path;

use serde_json::Value;
use twill_cni::exec::{self, RequestEnv};
use twill_cni::json::{replace_key, Obj};
use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Code};

use super::config::{self, FlannelConf};
use super::{delegate, saved, subnet_env};
use crate::common::error::internal;

fn io_error(what: &str, file: &Path, e: std::io::Error) -> CniError {
    CniError::io(format!("{what} {}: {e}", file.display()))
}

/// The request the delegate gets: ours, so it sees the same container, namespace,
/// interface, arguments and search path.
fn request() -> Result<RequestEnv, CniError> {
    RequestEnv::from_process_env()
}

/// ADD: validate, read `subnet.env`, build the delegate's configuration, save it, delegate.
/// A failed delegate ADD is undone with a delegate DEL and the saved file removed, so
/// nothing is left half configured.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let conf = FlannelConf::parse(args)?;
    let env = subnet_env::load(&conf.subnet_file)?;
    let conf_bytes = serde_json::to_vec(&Value::Object(delegate::build(&conf, &env)))
        .map_err(|e| internal(format!("encoding the delegate configuration: {e}")))?;
    // Before anything is saved: a delegate that is not installed must leave nothing behind.
    exec::find_plugin(&conf.delegate_type, &args.path)
        .map_err(|e| CniError::new(e.code, format!("delegate.type: {}", e.msg)))?;
    let req = request()?;
    let file = saved::path(&conf.data_dir, &args.container_id);
    saved::store(&file, &conf_bytes)
        .map_err(|e| io_error("saving the delegate configuration", &file, e))?;
    match exec::delegate_add(&conf.delegate_type, &conf_bytes, &req, &args.path) {
        Ok(result) => Ok(result.value),
        Err(e) => Err(undo(&conf.delegate_type, &conf_bytes, &req, args, &file, e)),
    }
}

/// After a failed delegate ADD, the delegate DEL the spec asks a delegating plugin for.
/// When it succeeds the saved file goes too; when it fails the file stays, so the DEL the
/// runtime sends for the failed ADD retries with the same configuration.
fn undo(
    plugin_type: &str,
    conf_bytes: &[u8],
    req: &RequestEnv,
    args: &CmdArgs,
    file: &Path,
    failed: CniError,
) -> CniError {
    match exec::delegate_del(plugin_type, conf_bytes, req, &args.path) {
        Ok(()) => {
            if let Err(e) = saved::remove(file) {
                eprintln!(
                    "flannel: removing {} after a failed ADD: {e}",
                    file.display()
                );
            }
            failed
        }
        Err(e) => CniError {
            msg: format!(
                "{}; undoing it failed too ({}), so {} stays for the runtime's DEL",
                failed.msg,
                e.msg,
                file.display()
            ),
            ..failed
        },
    }
}

/// The delegate type of a saved configuration, or `None` when it is not one.
fn saved_type(conf_bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(conf_bytes).ok()?;
    let t = Obj::root(&v).ok()?.str("type").ok()??;
    (!t.is_empty()).then(|| t.to_owned())
}

/// DEL: the delegate gets exactly the saved configuration; the file goes once the delegate
/// succeeded. No file means nothing to do: never added, or already deleted.
pub fn del(args: &CmdArgs) -> Result<(), CniError> {
    // ADD saves nothing under a `dataDir` it cannot read, so there is nothing to delete.
    let Ok(data_dir) = config::data_dir(&args.config) else {
        return Ok(());
    };
    let file = saved::path(&data_dir, &args.container_id);
    let conf_bytes = match saved::load(&file) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(()),
        Err(e) => return Err(io_error("reading the saved configuration", &file, e)),
    };
    let Some(plugin_type) = saved_type(&conf_bytes) else {
        // Written atomically, so not one of ours (or damaged on disk): it names no
        // delegate to ask, and keeping it would fail every DEL of this container.
        eprintln!(
            "flannel: discarding {}: not a delegate configuration",
            file.display()
        );
        return saved::remove(&file).map_err(|e| io_error("removing", &file, e));
    };
    exec::delegate_del(&plugin_type, &conf_bytes, &request()?, &args.path)?;
    saved::remove(&file).map_err(|e| io_error("removing", &file, e))
}

/// CHECK: the delegate checks what it made, from the saved configuration with the
/// runtime's `prevResult` and version (the version the `prevResult` is in).
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let data_dir = config::data_dir(&args.config)?;
    let file = saved::path(&data_dir, &args.container_id);
    let conf_bytes = match saved::load(&file) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(CniError::new(
                Code::UNKNOWN_CONTAINER,
                format!(
                    "container {:?} has no saved delegate configuration {} (dataDir): \
                     it was not added to this network",
                    args.container_id,
                    file.display()
                ),
            ))
        }
        Err(e) => return Err(io_error("reading the saved configuration", &file, e)),
    };
    let unreadable = || {
        CniError::decoding(format!(
            "saved configuration {}: not a delegate configuration",
            file.display()
        ))
    };
    let plugin_type = saved_type(&conf_bytes).ok_or_else(unreadable)?;
    let mut conf: Value = serde_json::from_slice(&conf_bytes).map_err(|_| unreadable())?;
    let map = conf.as_object_mut().ok_or_else(unreadable)?;
    if let Some(prev) = Obj::root(&args.config)?.get("prevResult") {
        replace_key(map, "prevResult", prev.clone());
    }
    replace_key(map, "cniVersion", args.version.as_str().into());
    let conf_bytes = serde_json::to_vec(&conf)
        .map_err(|e| internal(format!("encoding the delegate configuration: {e}")))?;
    exec::delegate_check(&plugin_type, &conf_bytes, &request()?, &args.path)
}
