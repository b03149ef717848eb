//! `twill-test-echo`: a CNI plugin for tests only, built on the entry point so integration
//! tests can run it as a real process. It touches nothing; never install it as a network
//! plugin.
//!
//! * ADD prints the configuration's `prevResult` when there is one, else the minimal result
//!   `{"cniVersion": "<config version>"}`.
//! * DEL, CHECK, GC and STATUS succeed and print nothing.
//! * `"echoError": {"code": N, "msg": "…", "details": "…", "commands": ["DEL", …]}` in the
//!   configuration makes the listed commands (all when `commands` is absent) fail with that
//!   error (code defaults to 100), for testing how callers handle plugin errors.
//! * `"echoLog": "/path"` appends one JSON line per call (command, variables, name, version,
//!   prevResult) to that file, for testing what a caller passed. Its absence writes nothing.

use std::io::Write;
use std::process::ExitCode;

use serde_json::{json, Value};
use twill_cni::json::Obj;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Code, Version};

struct Echo;

fn config(args: &CmdArgs) -> Result<Obj<'_>, CniError> {
    Ok(Obj::root(&args.config)?)
}

/// Appends what this call received to the `echoLog` file, if configured.
fn record(args: &CmdArgs) -> Result<(), CniError> {
    let Some(path) = config(args)?.str("echoLog")? else {
        return Ok(());
    };
    let line = json!({
        "command": args.command.as_str(),
        "containerId": args.container_id,
        "netns": args.netns.as_ref().map(|p| p.to_string_lossy()),
        "ifname": args.ifname,
        "args": args.args.pairs(),
        "path": args.path.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        "name": args.name,
        "cniVersion": args.version.as_str(),
        "prevResult": config(args)?.get("prevResult"),
    });
    let io = |e: std::io::Error| CniError::io(format!("echoLog {path:?}: {e}"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    writeln!(file, "{line}").map_err(io)
}

/// The error `echoError` asks for, when it applies to this command.
fn scripted_failure(args: &CmdArgs) -> Result<(), CniError> {
    let Some(value) = config(args)?.get("echoError") else {
        return Ok(());
    };
    let spec = Obj::at(value, "echoError")?;
    if let Some(commands) = spec.str_array("commands")? {
        if !commands.contains(&args.command.as_str()) {
            return Ok(());
        }
    }
    let code = spec.u32("code")?.map_or(Code(100), Code);
    let msg = spec.str("msg")?.unwrap_or("echoError");
    let details = spec.str("details")?.unwrap_or_default();
    Err(CniError::new(code, msg).with_details(details))
}

fn common(args: &CmdArgs) -> Result<(), CniError> {
    record(args)?;
    scripted_failure(args)
}

impl Plugin for Echo {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        common(args)?;
        Ok(match config(args)?.get("prevResult") {
            Some(prev) => prev.clone(),
            None => json!({ "cniVersion": args.version.as_str() }),
        })
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        common(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        common(args)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        common(args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        common(args)
    }
}

fn main() -> ExitCode {
    skel::run(
        &Echo,
        "twill-test-echo: a CNI plugin for tests; ADD echoes prevResult, nothing is touched",
        &Version::ALL,
    )
}
