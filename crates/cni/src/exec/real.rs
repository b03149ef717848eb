//! The real executor: a child process, no shell, the parent's environment plus the request's.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command as Process, Stdio};
use std::thread;
use std::time::Duration;

use super::env::{EnvVars, PROTOCOL_VARS};
use super::process::{Exec, ExecFailure, ExecOutput, ExitState};

/// "Text file busy": the binary is open for writing somewhere — being installed, or a copy of a
/// descriptor inherited by a child another thread forked at that moment. The value is 26 on
/// Linux and the BSDs; the constant is kept here because `std` has no stable name for it on
/// this crate's minimum Rust.
const ETXTBSY: i32 = 26;

/// What happens to a plugin's stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StderrMode {
    /// Each chunk is copied to our stderr as it arrives, and the beginning is kept for error
    /// messages (a plugin that fails without an error object usually explains itself there).
    #[default]
    Tee,
    /// The plugin writes to our stderr directly; nothing is kept.
    Inherit,
    /// Kept for error messages and not shown: for callers that report errors themselves.
    Capture,
}

/// Starts plugins as child processes.
#[derive(Debug, Clone)]
pub struct RealExec {
    /// What to do with the plugin's stderr.
    pub stderr: StderrMode,
    /// The most a plugin may print on stdout; a result is a few KiB, so a plugin that exceeds
    /// this is broken, and it is killed rather than allowed to fill our memory.
    pub stdout_limit: usize,
    /// How much of stderr is kept for messages (all of it is still passed on in `Tee` mode).
    pub stderr_keep: usize,
    /// How many times a start failing with "text file busy" is retried.
    pub busy_retries: u32,
    /// The wait before the first retry; it doubles on each.
    pub busy_backoff: Duration,
}

impl Default for RealExec {
    /// 4 MiB of stdout, 64 KiB of stderr kept, and five retries from 50 ms: about 1.5 s in all,
    /// enough for an installer to finish writing a binary. libcni waits 1 s between each of
    /// its retries; a short first wait matters more, as the usual cause (a descriptor held by a
    /// concurrently forked child) clears within microseconds.
    fn default() -> RealExec {
        RealExec {
            stderr: StderrMode::Tee,
            stdout_limit: 4 << 20,
            stderr_keep: 64 << 10,
            busy_retries: 5,
            busy_backoff: Duration::from_millis(50),
        }
    }
}

impl RealExec {
    /// The process to start: no shell and no arguments, the inherited environment without any
    /// protocol variable, then the request's variables, and all three standard streams set up.
    pub fn command(&self, program: &Path, env: &EnvVars) -> Process {
        let mut cmd = Process::new(program);
        for name in PROTOCOL_VARS {
            cmd.env_remove(name);
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        cmd.stderr(match self.stderr {
            StderrMode::Inherit => Stdio::inherit(),
            StderrMode::Tee | StderrMode::Capture => Stdio::piped(),
        });
        cmd
    }

    fn spawn(&self, program: &Path, env: &EnvVars) -> Result<Child, ExecFailure> {
        let mut wait = self.busy_backoff;
        let mut attempt = 0;
        loop {
            match self.command(program, env).spawn() {
                Ok(child) => return Ok(child),
                Err(e) if e.raw_os_error() == Some(ETXTBSY) && attempt < self.busy_retries => {
                    attempt += 1;
                    thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                }
                Err(source) => {
                    return Err(ExecFailure::Spawn {
                        program: program.to_owned(),
                        source,
                    })
                }
            }
        }
    }
}

impl Exec for RealExec {
    fn run(&self, program: &Path, env: &EnvVars, stdin: &[u8]) -> Result<ExecOutput, ExecFailure> {
        let mut child = self.spawn(program, env)?;
        let input = child.stdin.take();
        let output = child.stdout.take();
        let errors = child.stderr.take();
        let lost = |source| ExecFailure::Io {
            program: program.to_owned(),
            source,
        };
        // stdin is written and stderr read on their own threads while this one reads stdout:
        // with any one of them done after another, a plugin that fills one pipe while we wait
        // on a different one would deadlock both processes.
        let (stdout, stderr) = thread::scope(|s| {
            s.spawn(move || {
                if let Some(mut pipe) = input {
                    // A plugin need not read all of stdin (a DEL may ignore it), so a broken
                    // pipe here is no error; dropping the pipe sends end-of-file.
                    let _ = pipe.write_all(stdin);
                }
            });
            let mode = self.stderr;
            let keep = self.stderr_keep;
            let stderr = errors.map(|pipe| s.spawn(move || drain_stderr(pipe, mode, keep)));
            let stdout = read_limited(output, self.stdout_limit);
            if !matches!(stdout, Ok(Some(_))) {
                // Stopped before the threads are joined: a plugin that keeps running would
                // otherwise hold its stdin and stderr open and the joins would never return.
                // Killing fails only if it has already exited, which is as good.
                let _ = child.kill();
            }
            (stdout, stderr.map(|h| h.join().unwrap_or_default()))
        });
        let stdout = match stdout {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                let _ = child.wait();
                return Err(ExecFailure::StdoutTooLarge {
                    program: program.to_owned(),
                    limit: self.stdout_limit,
                });
            }
            Err(e) => {
                let _ = child.wait();
                return Err(lost(e));
            }
        };
        let status = child.wait().map_err(lost)?;
        Ok(ExecOutput {
            exit: exit_state(status),
            stdout,
            stderr,
        })
    }
}

/// Reads all of stdout, or returns `None` as soon as it exceeds `limit`.
fn read_limited(pipe: Option<ChildStdout>, limit: usize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    if let Some(pipe) = pipe {
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        pipe.take(cap).read_to_end(&mut buf)?;
    }
    Ok((buf.len() <= limit).then_some(buf))
}

/// Reads stderr to its end, passing it on in `Tee` mode and keeping the first `keep` bytes.
/// Errors end the copy quietly: stderr is informational, and the exit status still tells
/// whether the plugin succeeded.
fn drain_stderr(mut pipe: ChildStderr, mode: StderrMode, keep: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let Some(data) = chunk.get(..n) else { break };
        if mode == StderrMode::Tee {
            let _ = io::stderr().lock().write_all(data);
        }
        let room = keep.saturating_sub(kept.len());
        kept.extend_from_slice(data.get(..room.min(n)).unwrap_or_default());
    }
    kept
}

#[cfg(unix)]
fn exit_state(status: std::process::ExitStatus) -> ExitState {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitState::Code(code),
        (None, Some(sig)) => ExitState::Signal(sig),
        // Stopped or continued cannot be reported by wait(); treat as an unknown failure.
        (None, None) => ExitState::Code(-1),
    }
}

#[cfg(not(unix))]
fn exit_state(status: std::process::ExitStatus) -> ExitState {
    ExitState::Code(status.code().unwrap_or(-1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn protocol_variables_are_removed_then_the_requests_set() {
        let env = vec![
            ("CNI_COMMAND", "GC".to_owned()),
            ("CNI_PATH", "/a".to_owned()),
        ];
        let cmd = RealExec::default().command(Path::new("/bin/true"), &env);
        let envs: Vec<(&OsStr, Option<&OsStr>)> = cmd.get_envs().collect();
        let get = |name: &str| {
            envs.iter()
                .find(|(k, _)| *k == OsStr::new(name))
                .map(|(_, v)| *v)
        };
        assert_eq!(get("CNI_COMMAND"), Some(Some(OsStr::new("GC"))));
        assert_eq!(get("CNI_PATH"), Some(Some(OsStr::new("/a"))));
        // A GC must not see a container, namespace or interface from our own environment.
        for gone in ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS"] {
            assert_eq!(get(gone), Some(None), "{gone} must be removed");
        }
        assert!(cmd.get_args().next().is_none(), "no arguments");
        assert_eq!(cmd.get_program(), OsStr::new("/bin/true"));
    }

    #[test]
    fn defaults_bound_output_and_retry_briefly() {
        let d = RealExec::default();
        assert_eq!(d.stderr, StderrMode::Tee);
        assert_eq!(d.stdout_limit, 4 << 20);
        let total: Duration = (0..d.busy_retries)
            .map(|i| d.busy_backoff * 2u32.pow(i))
            .sum();
        assert!(total < Duration::from_secs(2), "{total:?}");
    }
}
