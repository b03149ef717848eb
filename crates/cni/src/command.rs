//! The `CNI_COMMAND` values and what each needs from the environment: one type for the
//! plugin side (`skel`) and the runtime side (`exec`).

use std::fmt;
use std::str::FromStr;

use crate::skel::env::{CNI_CONTAINERID, CNI_IFNAME, CNI_NETNS, CNI_PATH};

/// A CNI operation, as named by `CNI_COMMAND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Attach a container to the network and print a result.
    Add,
    /// Undo an ADD, best effort.
    Del,
    /// Verify what ADD created (0.4.0 and later).
    Check,
    /// Release resources of attachments the runtime no longer knows (1.1.0 and later).
    Gc,
    /// Report whether ADD can succeed (1.1.0 and later).
    Status,
    /// Report the spec versions the plugin supports.
    Version,
}

/// A `CNI_COMMAND` that names no CNI operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown CNI_COMMAND {0:?}")]
pub struct UnknownCommand(pub String);

impl Command {
    /// Every command, in the spec's order.
    pub const ALL: [Command; 6] = [
        Command::Add,
        Command::Del,
        Command::Check,
        Command::Gc,
        Command::Status,
        Command::Version,
    ];

    /// The command as `CNI_COMMAND` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Gc => "GC",
            Command::Status => "STATUS",
            Command::Version => "VERSION",
        }
    }

    /// The lower-case label error messages use, as libcni writes them: `failed (add)`.
    pub const fn label(self) -> &'static str {
        match self {
            Command::Add => "add",
            Command::Del => "del",
            Command::Check => "check",
            Command::Gc => "gc",
            Command::Status => "status",
            Command::Version => "version",
        }
    }

    /// The variables besides `CNI_COMMAND` that must be set and non-empty, in the order they are
    /// reported when missing.
    ///
    /// This is the spec's table, with one deliberate difference from the Go library: `CNI_PATH`
    /// is optional for ADD, DEL and CHECK, as the spec says (Go's skeleton requires it). GC needs
    /// it because the spec says so and because GC must reach the delegates.
    pub const fn required_vars(self) -> &'static [&'static str] {
        match self {
            Command::Add | Command::Check => &[CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME],
            Command::Del => &[CNI_CONTAINERID, CNI_IFNAME],
            Command::Gc => &[CNI_PATH],
            Command::Status | Command::Version => &[],
        }
    }

    /// Whether the command concerns one attachment, so that `CNI_CONTAINERID`, `CNI_NETNS`,
    /// `CNI_IFNAME` and `CNI_ARGS` mean something. GC and STATUS concern the whole network; the
    /// spec does not set those variables for them, so they are ignored there, never validated.
    pub const fn is_per_attachment(self) -> bool {
        matches!(self, Command::Add | Command::Del | Command::Check)
    }
}

impl FromStr for Command {
    type Err = UnknownCommand;

    /// Exact, upper-case matching: runtimes send upper case and the Go library accepts nothing
    /// else, so a lower-case `add` is refused here too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Command::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCommand(s.to_owned()))
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_upper_case_is_accepted() {
        for c in Command::ALL {
            assert_eq!(c.as_str().parse::<Command>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        for bad in ["add", "Add", " ADD", "ADD ", "", "DELETE", "FOO"] {
            assert_eq!(bad.parse::<Command>(), Err(UnknownCommand(bad.to_owned())));
        }
    }

    #[test]
    fn required_variables_follow_the_spec_table() {
        assert_eq!(
            Command::Add.required_vars(),
            ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"]
        );
        assert_eq!(Command::Check.required_vars(), Command::Add.required_vars());
        assert_eq!(
            Command::Del.required_vars(),
            ["CNI_CONTAINERID", "CNI_IFNAME"]
        );
        assert_eq!(Command::Gc.required_vars(), ["CNI_PATH"]);
        assert!(Command::Status.required_vars().is_empty());
        assert!(Command::Version.required_vars().is_empty());
    }

    #[test]
    fn labels_are_lower_case_names() {
        for c in Command::ALL {
            assert_eq!(c.label(), c.as_str().to_ascii_lowercase());
        }
    }

    #[test]
    fn only_add_del_check_are_per_attachment() {
        let per: Vec<_> = Command::ALL
            .into_iter()
            .filter(|c| c.is_per_attachment())
            .collect();
        assert_eq!(per, [Command::Add, Command::Del, Command::Check]);
    }
}
