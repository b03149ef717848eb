//! `twill-cni`: every twill plugin in one binary. Installed once, with a symlink per plugin
//! name (`tuning -> twill-cni`); the name it is run under picks the plugin, so a runtime
//! execs it exactly as it execs the reference plugin of that name. `twill-cni NAME` runs a
//! plugin without a symlink; `twill-cni --list` prints the plugin names.

mod registry;
mod tuning;

use std::ffi::OsStr;
use std::path::Path;
use std::process::ExitCode;

/// The binary's own name, under which it expects the plugin name as its first argument.
const MULTI_CALL_NAME: &str = "twill-cni";

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    let invoked = args
        .first()
        .map(|a| Path::new(a).file_name().unwrap_or(a.as_os_str()))
        .unwrap_or(OsStr::new(MULTI_CALL_NAME));
    let name = if invoked == MULTI_CALL_NAME {
        args.get(1).map(|a| a.as_os_str())
    } else {
        Some(invoked)
    };
    if invoked == MULTI_CALL_NAME && name == Some(OsStr::new("--list")) {
        // One name a line: what `make install` links to the binary.
        println!("{}", registry::names().join("\n"));
        return ExitCode::SUCCESS;
    }
    let Some(name) = name.and_then(OsStr::to_str) else {
        eprintln!(
            "usage: {MULTI_CALL_NAME} PLUGIN (or run it through a symlink named after the plugin); plugins: {}",
            registry::names().join(", ")
        );
        return ExitCode::from(1);
    };
    match registry::lookup(name) {
        Some(run) => run(),
        None => {
            eprintln!(
                "{MULTI_CALL_NAME}: no plugin named {name:?}; plugins: {}",
                registry::names().join(", ")
            );
            ExitCode::from(1)
        }
    }
}
