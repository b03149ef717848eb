//! `twill-cni`: every twill plugin in one binary. Installed once, with a symlink per plugin
//! name (`host-local -> twill-cni`); the name it is run under picks the plugin. For testing,
//! `twill-cni <plugin>` works too.

mod host_local;
mod registry;
mod static_ipam;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    let invoked = argv.next().unwrap_or_default();
    let explicit = argv.next();
    match registry::select(&invoked, explicit.as_deref()) {
        Ok(plugin) => (plugin.main)(),
        Err(message) => registry::refuse(&message),
    }
}
