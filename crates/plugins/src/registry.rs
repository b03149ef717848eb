//! The plugins this binary holds, by the name runtimes exec them under. A new plugin adds one
//! line to [`PLUGINS`] and a module with a `main` built on `twill_cni::skel::run`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use twill_cni::CniError;

/// One plugin of the binary.
#[derive(Debug)]
pub struct Entry {
    /// The plugin's name: the binary name a configuration's `type` uses.
    pub name: &'static str,
    /// Runs the plugin on the process's environment and stdin.
    pub main: fn() -> ExitCode,
}

/// Every plugin, by name.
pub const PLUGINS: &[Entry] = &[
    Entry {
        name: "bandwidth",
        main: crate::bandwidth::main,
    },
    Entry {
        name: "bridge",
        main: crate::bridge::main,
    },
    Entry {
        name: "dhcp",
        main: crate::dhcp::main,
    },
    Entry {
        name: "dummy",
        main: crate::dummy::main,
    },
    Entry {
        name: "firewall",
        main: crate::firewall::main,
    },
    Entry {
        name: "flannel",
        main: crate::flannel::main,
    },
    Entry {
        name: "host-device",
        main: crate::host_device::main,
    },
    Entry {
        name: "host-local",
        main: crate::host_local::main,
    },
    Entry {
        name: "ipvlan",
        main: crate::ipvlan::main,
    },
    Entry {
        name: "loopback",
        main: crate::loopback::main,
    },
    Entry {
        name: "macvlan",
        main: crate::macvlan::main,
    },
    Entry {
        name: "portmap",
        main: crate::portmap::main,
    },
    Entry {
        name: "ptp",
        main: crate::ptp::main,
    },
    Entry {
        name: "sbr",
        main: crate::sbr::main,
    },
    Entry {
        name: "static",
        main: crate::static_ipam::main,
    },
    Entry {
        name: "tap",
        main: crate::tap::main,
    },
    Entry {
        name: "tuning",
        main: crate::tuning::main,
    },
    Entry {
        name: "vlan",
        main: crate::vlan::main,
    },
    Entry {
        name: "vrf",
        main: crate::vrf::main,
    },
];

/// The name of the binary itself, under which the first argument names the plugin.
const SELF_NAME: &str = "twill-cni";

/// The plugin named by the basename of `argv[0]`, or by the first argument when run as
/// `twill-cni`. The error message names the known plugins.
pub fn select(argv0: &OsStr, first_arg: Option<&OsStr>) -> Result<&'static Entry, String> {
    let base = Path::new(argv0)
        .file_name()
        .and_then(OsStr::to_str)
        .unwrap_or_default();
    let name = if base == SELF_NAME {
        match first_arg.map(|a| a.to_str()) {
            Some(Some(n)) => n,
            Some(None) => return Err(unknown("(not UTF-8)")),
            None => {
                return Err(format!(
                    "{SELF_NAME}: name a plugin: {SELF_NAME} <plugin> (known plugins: {})",
                    known()
                ))
            }
        }
    } else {
        base
    };
    PLUGINS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| unknown(name))
}

/// Every plugin name, one a line: what `make install` links to the binary.
pub fn list() -> String {
    PLUGINS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join("\n")
}

fn known() -> String {
    PLUGINS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown(name: &str) -> String {
    format!(
        "{SELF_NAME}: unknown plugin {name:?} (known plugins: {}); install {SELF_NAME} with a \
         symlink named after the plugin, or run {SELF_NAME} <plugin>",
        known()
    )
}

/// Reports a failed selection as a CNI error on stdout (a runtime reads it there) and as text
/// on stderr (a person reads it there), and exits 1.
pub fn refuse(message: &str) -> ExitCode {
    let err = CniError::invalid_config(message);
    let _ = writeln!(std::io::stdout().lock(), "{}", err.to_json(None));
    let _ = writeln!(std::io::stderr().lock(), "{message}");
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_by_basename_or_first_argument() {
        let by_link = select(OsStr::new("/opt/cni/bin/host-local"), None).unwrap();
        assert_eq!(by_link.name, "host-local");
        let by_arg = select(OsStr::new("./twill-cni"), Some(OsStr::new("static"))).unwrap();
        assert_eq!(by_arg.name, "static");
        let e = select(OsStr::new("/x/bridgez"), None).unwrap_err();
        assert!(
            e.contains("\"bridgez\"")
                && e.contains(
                    "bandwidth, bridge, dhcp, dummy, firewall, flannel, host-device, host-local, ipvlan, loopback, macvlan, portmap, ptp, sbr, static, tap, tuning, vlan, vrf"
                ),
            "{e}"
        );
        let e = select(OsStr::new("twill-cni"), None).unwrap_err();
        assert!(
            e.contains("known plugins: bandwidth, bridge, dhcp, dummy, firewall, flannel, host-device, host-local, ipvlan, loopback, macvlan, portmap, ptp, sbr, static, tap, tuning, vlan, vrf"),
            "{e}"
        );
        let e = select(OsStr::new("twill-cni"), Some(OsStr::new("nope"))).unwrap_err();
        assert!(e.contains("\"nope\""), "{e}");
    }

    #[test]
    fn names_are_unique() {
        for (i, p) in PLUGINS.iter().enumerate() {
            assert!(
                PLUGINS.iter().skip(i + 1).all(|q| q.name != p.name),
                "{}",
                p.name
            );
        }
    }
}
