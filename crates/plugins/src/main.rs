//! `twill-cni`: every twill CNI plugin in one binary. Installed once, with a symlink per
//! plugin name (`bridge`, `loopback`, …) in the runtime's plugin directory; the name it is
//! run under picks the plugin. `twill-cni NAME` runs plugin NAME directly.

mod bridge;
mod common;
mod loopback;
mod registry;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    let invoked = argv.next().unwrap_or_default();
    let base = basename(&invoked);
    let name = if base == "twill-cni" {
        argv.next().map(|a| basename(&a)).unwrap_or_default()
    } else {
        base
    };
    match registry::find(&name) {
        Some(run) => run(),
        None => {
            eprintln!(
                "twill-cni: no plugin named {name:?}; run as a symlink named after one of: {}",
                registry::names().join(", ")
            );
            ExitCode::FAILURE
        }
    }
}

fn basename(arg: &OsString) -> String {
    Path::new(arg)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
