//! The CNI commands a runtime or meta-plugin sends, and which environment variables each needs.

use std::fmt;

/// A command, as sent in `CNI_COMMAND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Attach a container to a network; prints a result.
    Add,
    /// Detach; best effort, prints nothing.
    Del,
    /// Verify an attachment (spec 0.4.0 on); prints nothing.
    Check,
    /// Release resources of attachments that are no longer valid (spec 1.1.0 on).
    Gc,
    /// Readiness for ADD (spec 1.1.0 on).
    Status,
    /// Which spec versions the plugin speaks.
    Version,
}

impl Command {
    /// The value of `CNI_COMMAND`.
    pub const fn as_env(self) -> &'static str {
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

    /// Whether the command is about one attachment, and so carries `CNI_CONTAINERID`,
    /// `CNI_NETNS`, `CNI_IFNAME` and `CNI_ARGS`. GC, STATUS and VERSION are about the plugin (or
    /// the whole network), and the spec gives them none of these.
    pub const fn is_per_attachment(self) -> bool {
        matches!(self, Command::Add | Command::Del | Command::Check)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_env())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_and_labels() {
        let all = [
            (Command::Add, "ADD", "add", true),
            (Command::Del, "DEL", "del", true),
            (Command::Check, "CHECK", "check", true),
            (Command::Gc, "GC", "gc", false),
            (Command::Status, "STATUS", "status", false),
            (Command::Version, "VERSION", "version", false),
        ];
        for (cmd, env, label, per) in all {
            assert_eq!(cmd.as_env(), env);
            assert_eq!(cmd.to_string(), env);
            assert_eq!(cmd.label(), label);
            assert_eq!(cmd.is_per_attachment(), per, "{cmd}");
        }
    }
}
