//! `dhcp`: IPv4 addresses from a DHCP server. Two programs in one: the IPAM plugin, which
//! validates its configuration and asks the daemon ([`plugin`], over [`rpc`]); and
//! `dhcp daemon` ([`daemon`]), which holds the leases — acquires, renews, releases, and
//! keeps them on disk across its own restarts. The DHCP client itself (messages, options,
//! lease timers) is `twill_ipam::dhcp`.

pub mod daemon;
pub mod plugin;
pub mod rpc;

use std::ffi::OsStr;
use std::path::Path;
use std::process::ExitCode;

use twill_cni::skel;
use twill_cni::Version;

/// Runs the plugin, or the daemon when the first argument (after the plugin name, when run
/// as `twill-cni dhcp`) is `daemon`.
pub fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let via_self = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(OsStr::to_str)
        == Some("twill-cni");
    let rest = argv.get(if via_self { 2 } else { 1 }..).unwrap_or_default();
    if let Some((first, flags)) = rest.split_first() {
        if first == "daemon" {
            return daemon::run(flags);
        }
    }
    skel::run(
        &plugin::Dhcp,
        concat!("twill dhcp IPAM plugin v", env!("CARGO_PKG_VERSION")),
        &Version::ALL,
    )
}
