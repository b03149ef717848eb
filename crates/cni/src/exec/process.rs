//! The seam between the protocol and the operating system: run one binary with an environment
//! and stdin, and report what it printed and how it ended. [`super::RealExec`] is the real
//! thing; tests and embedding runtimes substitute their own.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{CniError, Code};

use super::env::EnvVars;
use super::find::find_plugin;

/// How a plugin process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitState {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

impl ExitState {
    /// Exit code 0.
    pub fn success(self) -> bool {
        self == ExitState::Code(0)
    }
}

impl fmt::Display for ExitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitState::Code(c) => write!(f, "exit status {c}"),
            ExitState::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// What one plugin run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// How it ended.
    pub exit: ExitState,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// What it wrote to stderr, when the executor kept a copy (possibly only the beginning);
    /// `None` when stderr went straight to the caller's.
    pub stderr: Option<Vec<u8>>,
}

/// A run that did not produce an [`ExecOutput`].
#[derive(Debug, thiserror::Error)]
pub enum ExecFailure {
    /// The binary could not be started (permissions, format, still being written…).
    #[error("cannot execute {}: {source}", program.display())]
    Spawn {
        /// The binary.
        program: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Reading its output or waiting for it failed.
    #[error("lost contact with {}: {source}", program.display())]
    Io {
        /// The binary.
        program: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// It printed more than the executor accepts; it was killed.
    #[error("{} printed more than {limit} bytes on stdout; it was stopped", program.display())]
    StdoutTooLarge {
        /// The binary.
        program: PathBuf,
        /// The limit in bytes.
        limit: usize,
    },
}

impl From<ExecFailure> for CniError {
    /// All three are failures to talk to the plugin, not anything the plugin reported: code 5
    /// (I/O failure).
    fn from(e: ExecFailure) -> CniError {
        CniError::new(Code::IO_FAILURE, e.to_string())
    }
}

/// Runs plugin binaries. The environment given is only the protocol variables of the request:
/// an implementation that starts processes adds them to its own inherited environment after
/// removing every inherited protocol variable (see [`super::env::PROTOCOL_VARS`]).
pub trait Exec {
    /// Runs `program` with the protocol variables `env` and `stdin` on its standard input.
    fn run(&self, program: &Path, env: &EnvVars, stdin: &[u8]) -> Result<ExecOutput, ExecFailure>;

    /// Finds the binary for a plugin `type`; by default, [`find_plugin`] on the file system. A
    /// fake can answer without any file existing.
    fn find(&self, plugin_type: &str, cni_path: &[PathBuf]) -> Result<PathBuf, CniError> {
        find_plugin(plugin_type, cni_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_states_read_like_go_and_only_zero_succeeds() {
        assert_eq!(ExitState::Code(1).to_string(), "exit status 1");
        assert_eq!(ExitState::Signal(9).to_string(), "killed by signal 9");
        assert!(ExitState::Code(0).success());
        assert!(!ExitState::Code(1).success());
        assert!(!ExitState::Signal(0).success());
    }

    #[test]
    fn exec_failures_are_io_errors() {
        let e = ExecFailure::StdoutTooLarge {
            program: "/x/y".into(),
            limit: 10,
        };
        let c = CniError::from(e);
        assert_eq!(c.code, Code::IO_FAILURE);
        assert_eq!(
            c.msg,
            "/x/y printed more than 10 bytes on stdout; it was stopped"
        );
    }
}
