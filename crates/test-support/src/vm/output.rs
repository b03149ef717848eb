//! What a guest's run returns, and the ways a run can fail to return anything.

use std::fmt;
use std::time::Duration;

/// A finished guest script: it ran and reported. Its own failure is a non-zero `status`.
#[derive(Debug, Clone)]
pub struct VmOutput {
    /// The script's exit status.
    pub status: i32,
    /// The script's stdout.
    pub stdout: String,
    /// The script's stderr.
    pub stderr: String,
    /// The serial console (kernel messages, `/init`'s markers).
    pub console: String,
    /// From QEMU's launch to the script's start (the guest's `TWILL-VM-START` marker).
    pub boot: Duration,
    /// From QEMU's launch to its exit.
    pub total: Duration,
}

impl VmOutput {
    /// The script exited 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// Fails the test unless the script exited 0, showing what the guest said.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.success(),
            "the guest's script exited {}\n--- stdout\n{}\n--- stderr\n{}\n--- console (end)\n{}",
            self.status,
            self.stdout,
            self.stderr,
            tail(&self.console)
        );
        self
    }
}

/// A run that did not report: the harness never mistakes one for a success.
#[derive(Debug)]
pub enum VmFailure {
    /// QEMU ran past the timeout and was killed.
    Timeout {
        /// The timeout.
        after: Duration,
        /// The serial console so far.
        console: String,
    },
    /// QEMU exited without the guest's report: it did not start, the guest panicked or
    /// powered off, `/init` failed, or the status on the share disagrees with the exit code.
    NoReport {
        /// What was missing or inconsistent.
        why: String,
        /// QEMU's exit code (`None`: killed by a signal).
        qemu_exit: Option<i32>,
        /// QEMU's own stderr.
        qemu_stderr: String,
        /// The serial console.
        console: String,
    },
}

impl fmt::Display for VmFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmFailure::Timeout { after, console } => write!(
                f,
                "the VM did not finish within {after:?}; QEMU was killed\n--- console (end)\n{}",
                tail(console)
            ),
            VmFailure::NoReport {
                why,
                qemu_exit,
                qemu_stderr,
                console,
            } => write!(
                f,
                "the guest did not report: {why} (QEMU exit {qemu_exit:?})\n--- QEMU stderr\n\
                 {qemu_stderr}\n--- console (end)\n{}",
                tail(console)
            ),
        }
    }
}

impl std::error::Error for VmFailure {}

/// The last lines of the console: where a panic or an `/init` error shows.
fn tail(console: &str) -> String {
    let lines: Vec<&str> = console.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
