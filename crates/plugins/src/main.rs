//! `twill-cni`: every twill plugin in one binary. Installed once, with a symlink per plugin
//! name (`host-local -> twill-cni`); the name it is run under picks the plugin, so a runtime
//! execs it exactly as it execs the reference plugin of that name. `twill-cni <plugin>` runs a
//! plugin without a symlink; `twill-cni --list` prints the plugin names.

mod bandwidth;
mod bridge;
mod common;
mod dhcp;
mod dummy;
mod firewall;
mod flannel;
mod host_device;
mod host_local;
mod ipvlan;
mod loopback;
mod macvlan;
mod portmap;
mod ptp;
mod registry;
mod sbr;
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
    // A plugin is a short-lived process: the last closes of its netfilter sockets, which make
    // nf_tables wait for the freeing of what was deleted, go to a detached process once the
    // answer is written (twill_kernel::reclaim; docs/reclaim.md). Only netfilter sockets are
    // deferred: the long-lived `dhcp daemon` opens none, so it keeps nothing.
    twill_kernel::reclaim::defer_socket_closes();
    let code = match registry::select(&invoked, explicit.as_deref()) {
        Ok(plugin) => (plugin.main)(),
        Err(message) => registry::refuse(&message),
    };
    let _ = std::io::stdout().flush();
    twill_kernel::reclaim::hand_off();
    code
}
