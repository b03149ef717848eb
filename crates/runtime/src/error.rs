//! What can go wrong in the runtime, and the CNI code each failure maps to.

use std::io;
use std::path::PathBuf;

use twill_cni::config::ConfigError;
use twill_cni::exec::Command;
use twill_cni::{CniError, Code, Version};

/// A runtime failure. A plugin's own error arrives as [`RuntimeError::Cni`] with its code and
/// message untouched (already prefixed `plugin type="x" name="net" failed (add): …`); every
/// other variant is the runtime's own, and [`RuntimeError::code`] gives the CNI code a runtime
/// reports for it.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A plugin failed, or the protocol refused the request.
    #[error("{0}")]
    Cni(CniError),
    /// A configuration file is not a valid network configuration.
    #[error("{}: {source}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// Why it was refused; names the field.
        source: ConfigError,
    },
    /// A file or directory could not be read or written.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write cache file", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The configuration directory holds no network configuration at all.
    #[error("no net configurations found in {}", dir.display())]
    NoConfigsFound {
        /// The directory.
        dir: PathBuf,
    },
    /// No network of that name in the configuration directory.
    #[error("no net configuration with name {name:?} in {}", dir.display())]
    NotFound {
        /// The directory.
        dir: PathBuf,
        /// The network asked for.
        name: String,
    },
    /// A network of the same name was already found in an earlier file, which wins.
    #[error("{}: network {name:?} is already defined in {}; this file is ignored", path.display(), first.display())]
    DuplicateName {
        /// The file that is ignored.
        path: PathBuf,
        /// The network's name.
        name: String,
        /// The file that defines it first.
        first: PathBuf,
    },
    /// A network list ended up without any plugin (none inline, none in its directory).
    #[error("network {name:?} has no plugins (none in the list and none in {})", dir.display())]
    NoPlugins {
        /// The network.
        name: String,
        /// The directory plugin files were looked for in.
        dir: PathBuf,
    },
    /// The list's version predates the command (CHECK before 0.4.0, GC and STATUS before 1.1.0).
    #[error("configuration version \"{version}\" does not support the {} command", command.as_str())]
    UnsupportedCommand {
        /// The list's version.
        version: Version,
        /// The command refused.
        command: Command,
    },
    /// CHECK needs the result of the ADD, and there is none (or none readable).
    #[error("network {network:?} has no cached result for container {container_id:?} interface {ifname:?}: {reason}")]
    NoCachedResult {
        /// The network.
        network: String,
        /// The container.
        container_id: String,
        /// The interface.
        ifname: String,
        /// Missing, or why it could not be read.
        reason: String,
    },
    /// A plugin does not support the version the list runs at.
    #[error("plugin {plugin_type} does not support config version \"{version}\"")]
    VersionUnsupported {
        /// The plugin's type.
        plugin_type: String,
        /// The list's version.
        version: Version,
    },
    /// ADD failed and the rollback DEL failed too; the ADD's error comes first.
    #[error("{add}; rolling back with DEL also failed: {del}")]
    RollbackFailed {
        /// Why ADD failed.
        add: Box<RuntimeError>,
        /// Why the DEL that undoes it failed.
        del: Box<RuntimeError>,
    },
    /// Several independent steps failed (GC, validation): every one was attempted.
    #[error("{}", join(.0))]
    Several(Vec<RuntimeError>),
}

fn join(errors: &[RuntimeError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RuntimeError {
    /// The CNI error code a runtime reports for this failure.
    pub fn code(&self) -> Code {
        match self {
            RuntimeError::Cni(e) => e.code,
            RuntimeError::Config { source, .. } => source.code(),
            RuntimeError::Io { .. } => Code::IO_FAILURE,
            RuntimeError::NoConfigsFound { .. }
            | RuntimeError::NotFound { .. }
            | RuntimeError::DuplicateName { .. }
            | RuntimeError::NoPlugins { .. } => Code::INVALID_NETWORK_CONFIG,
            RuntimeError::UnsupportedCommand { .. } | RuntimeError::VersionUnsupported { .. } => {
                Code::INCOMPATIBLE_VERSION
            }
            RuntimeError::NoCachedResult { .. } => Code::UNKNOWN_CONTAINER,
            RuntimeError::RollbackFailed { add, .. } => add.code(),
            // The first failure speaks for the group, as its message comes first.
            RuntimeError::Several(all) => all.first().map_or(Code::UNKNOWN, RuntimeError::code),
        }
    }

    /// The failure as a CNI error object, for a CLI or a runtime that reports CNI errors.
    pub fn to_cni(&self) -> CniError {
        match self {
            RuntimeError::Cni(e) => e.clone(),
            other => CniError::new(other.code(), other.to_string()),
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        RuntimeError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Wraps a list of failures: `Ok` when empty, the failure itself when there is one.
    pub(crate) fn from_many(mut errors: Vec<RuntimeError>) -> Result<(), RuntimeError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(RuntimeError::Several(errors)),
        }
    }
}

impl From<CniError> for RuntimeError {
    fn from(e: CniError) -> Self {
        RuntimeError::Cni(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_cni_form() {
        let e = RuntimeError::UnsupportedCommand {
            version: Version::V0_3_1,
            command: Command::Check,
        };
        assert_eq!(e.code(), Code::INCOMPATIBLE_VERSION);
        assert_eq!(
            e.to_cni().msg,
            "configuration version \"0.3.1\" does not support the CHECK command"
        );
        let plugin = CniError::new(Code(11), "busy").with_details("d");
        assert_eq!(RuntimeError::from(plugin.clone()).to_cni(), plugin);
        let many = RuntimeError::Several(vec![
            RuntimeError::Cni(CniError::new(Code(5), "a")),
            RuntimeError::Cni(CniError::new(Code(7), "b")),
        ]);
        assert_eq!((many.code(), many.to_string().as_str()), (Code(5), "a; b"));
        assert!(RuntimeError::from_many(Vec::new()).is_ok());
    }
}
