//! `twill-cni`: every twill plugin in one binary. Installed once, with a symlink per plugin
//! name (`host-local -> twill-cni`); the name it is run under picks the plugin, so a runtime
//! execs it exactly as it execs the reference plugin of that name. `twill-cni <plugin>` runs a
//! plugin without a symlink; `twill-cni --list` prints the plugin names.

mod bridge;
mod common;
mod dummy;
mod firewall;
mod flannel;
mod host_device;
mod host_local;
mod loopback;
mod portmap;
mod ptp;
mod registry;
mod static_ipam;
mod tap;
mod tuning;
mod vlan;
mod vrf;

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    let invoked = argv.next().unwrap_or_default();
    let explicit = argv.next();
    if explicit.as_deref() == Some("--list".as_ref()) {
        let _ = writeln!(std::io::stdout().lock(), "{}", registry::list());
        return ExitCode::SUCCESS;
    }
    match registry::select(&invoked, explicit.as_deref()) {
        Ok(plugin) => (plugin.main)(),
        Err(message) => registry::refuse(&message),
    }
}
