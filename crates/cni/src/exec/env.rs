//! The request environment: the `CNI_*` variables a plugin is executed with.
//!
//! Only the variables the spec defines for a command are set, and only when they have a value;
//! the executor removes every other protocol variable the parent process may carry (see
//! [`PROTOCOL_VARS`]), so a meta-plugin's own `CNI_NETNS` never leaks into a GC it delegates.

use std::path::PathBuf;

use crate::error::CniError;

use super::command::Command;

/// The six variables the protocol defines. They are the only ones the executor removes from the
/// inherited environment; others, such as `CNI_NETNS_OVERRIDE` (a deliberate operator knob that
/// delegates must see too), are inherited like any variable.
pub const PROTOCOL_VARS: [&str; 6] = [
    "CNI_COMMAND",
    "CNI_CONTAINERID",
    "CNI_NETNS",
    "CNI_IFNAME",
    "CNI_ARGS",
    "CNI_PATH",
];

/// The value libcni sends in `CNI_NETNS`, `CNI_IFNAME` and `CNI_PATH` with VERSION: plugins
/// built on old skeletons insist on those variables for every command, and the field expects
/// exactly this placeholder.
pub const VERSION_PLACEHOLDER: &str = "dummy";

/// The environment variables of one request, as name/value pairs in a stable order.
pub type EnvVars = Vec<(&'static str, String)>;

/// What a runtime knows about one attachment, or what a meta-plugin was itself called with:
/// everything that goes into the `CNI_*` variables except the command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestEnv {
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS`: the path of the network namespace; may be empty on DEL.
    pub netns: String,
    /// `CNI_IFNAME`: the interface name inside the namespace.
    pub ifname: String,
    /// `CNI_ARGS`: `K=V;K2=V2`, passed through verbatim.
    pub args: String,
    /// `CNI_PATH`: where plugins look for their own delegates.
    pub path: Vec<PathBuf>,
}

impl RequestEnv {
    /// A request for one attachment, with no `CNI_ARGS` and no `CNI_PATH`.
    pub fn new(
        container_id: impl Into<String>,
        netns: impl Into<String>,
        ifname: impl Into<String>,
    ) -> RequestEnv {
        RequestEnv {
            container_id: container_id.into(),
            netns: netns.into(),
            ifname: ifname.into(),
            args: String::new(),
            path: Vec::new(),
        }
    }

    /// Sets `CNI_ARGS`.
    pub fn with_args(mut self, args: impl Into<String>) -> RequestEnv {
        self.args = args.into();
        self
    }

    /// Sets `CNI_PATH`.
    pub fn with_path(mut self, path: Vec<PathBuf>) -> RequestEnv {
        self.path = path;
        self
    }

    /// The request a meta-plugin received, read from its own environment, so that its
    /// delegates get the same one. Absent variables are empty; a value that is not UTF-8 is
    /// refused with code 4 naming the variable rather than altered.
    pub fn from_process_env() -> Result<RequestEnv, CniError> {
        let var = |name: &str| -> Result<String, CniError> {
            match std::env::var_os(name) {
                None => Ok(String::new()),
                Some(v) => v.into_string().map_err(|_| {
                    CniError::invalid_environment(format!("{name} is not valid UTF-8"))
                }),
            }
        };
        Ok(RequestEnv {
            container_id: var("CNI_CONTAINERID")?,
            netns: var("CNI_NETNS")?,
            ifname: var("CNI_IFNAME")?,
            args: var("CNI_ARGS")?,
            path: split_cni_path(&var("CNI_PATH")?),
        })
    }

    /// The variables to set for `command`. Per-attachment variables go only to ADD, DEL and
    /// CHECK; GC and STATUS get `CNI_PATH` alone, as the spec says; VERSION gets libcni's
    /// placeholders. A variable with an empty value is left unset: plugins cannot tell the two
    /// apart, and unset is what the spec describes for an optional variable.
    pub fn vars(&self, command: Command) -> EnvVars {
        let mut vars: EnvVars = vec![("CNI_COMMAND", command.as_str().to_owned())];
        let mut put = |name: &'static str, value: String| {
            if !value.is_empty() {
                vars.push((name, value));
            }
        };
        if command == Command::Version {
            put("CNI_NETNS", VERSION_PLACEHOLDER.to_owned());
            put("CNI_IFNAME", VERSION_PLACEHOLDER.to_owned());
            put("CNI_PATH", VERSION_PLACEHOLDER.to_owned());
            return vars;
        }
        if command.is_per_attachment() {
            put("CNI_CONTAINERID", self.container_id.clone());
            put("CNI_NETNS", self.netns.clone());
            put("CNI_IFNAME", self.ifname.clone());
            put("CNI_ARGS", self.args.clone());
        }
        put("CNI_PATH", join_cni_path(&self.path));
        vars
    }
}

/// Splits a `CNI_PATH` value on `:`. Empty entries are dropped: Go keeps them and then looks
/// for the plugin in the current directory, which is never what a runtime means.
pub fn split_cni_path(value: &str) -> Vec<PathBuf> {
    value
        .split(':')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Joins directories into a `CNI_PATH` value.
pub fn join_cni_path(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.to_string_lossy())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> RequestEnv {
        RequestEnv::new("c1", "/run/netns/a", "eth0")
            .with_args("IgnoreUnknown=1;IP=10.0.0.2")
            .with_path(vec!["/opt/cni/bin".into(), "/usr/lib/cni".into()])
    }

    #[test]
    fn per_attachment_commands_get_every_variable() {
        for cmd in [Command::Add, Command::Del, Command::Check] {
            assert_eq!(
                full().vars(cmd),
                vec![
                    ("CNI_COMMAND", cmd.as_str().to_owned()),
                    ("CNI_CONTAINERID", "c1".to_owned()),
                    ("CNI_NETNS", "/run/netns/a".to_owned()),
                    ("CNI_IFNAME", "eth0".to_owned()),
                    ("CNI_ARGS", "IgnoreUnknown=1;IP=10.0.0.2".to_owned()),
                    ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni".to_owned()),
                ]
            );
        }
    }

    #[test]
    fn gc_and_status_get_only_the_path() {
        for cmd in [Command::Gc, Command::Status] {
            assert_eq!(
                full().vars(cmd),
                vec![
                    ("CNI_COMMAND", cmd.as_str().to_owned()),
                    ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni".to_owned()),
                ]
            );
        }
    }

    #[test]
    fn version_gets_the_placeholders() {
        let names: Vec<_> = full().vars(Command::Version);
        assert_eq!(
            names,
            vec![
                ("CNI_COMMAND", "VERSION".to_owned()),
                ("CNI_NETNS", "dummy".to_owned()),
                ("CNI_IFNAME", "dummy".to_owned()),
                ("CNI_PATH", "dummy".to_owned()),
            ]
        );
    }

    #[test]
    fn empty_values_are_left_unset() {
        let vars = RequestEnv::new("c1", "", "eth0").vars(Command::Del);
        let names: Vec<_> = vars.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_IFNAME"]);
    }

    #[test]
    fn cni_path_splits_and_joins() {
        assert_eq!(
            split_cni_path("/a::/b:"),
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert!(split_cni_path("").is_empty());
        assert_eq!(join_cni_path(&split_cni_path("/a:/b")), "/a:/b");
    }
}
