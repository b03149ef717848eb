//! One plugin exec, timed, with the peak memory the kernel accounted to it.
//!
//! `std::process` does not expose a child's resource usage, so the child is reaped with
//! `wait4(2)`, which returns it.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What one exec cost and printed.
#[derive(Debug)]
pub struct Exec {
    /// Wall time from spawn to reaped.
    pub elapsed: Duration,
    /// Peak resident set of the plugin process (and the delegates it waited for), in KiB.
    pub max_rss_kib: u64,
    /// Its stdout.
    pub stdout: Vec<u8>,
    /// How it ended.
    pub status: ExitStatus,
}

/// A failure to run the plugin at all.
#[derive(Debug, thiserror::Error)]
#[error("exec {program}: {source}")]
pub struct SpawnError {
    program: String,
    source: std::io::Error,
}

/// Runs `program` with exactly `env` (nothing inherited but PATH) and `stdin`.
pub fn run(program: &Path, env: &[(&str, String)], stdin: &[u8]) -> Result<Exec, SpawnError> {
    let fail = |source| SpawnError {
        program: program.display().to_string(),
        source,
    };
    let start = Instant::now();
    let mut child = Command::new(program)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(fail)?;
    if let Some(mut pipe) = child.stdin.take() {
        // A plugin may exit without reading all of stdin; that is its business.
        let _ = pipe.write_all(stdin);
    }
    let mut stdout = Vec::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_end(&mut stdout).map_err(fail)?;
    }
    let (raw_status, max_rss_kib) = reap(child.id()).map_err(fail)?;
    Ok(Exec {
        elapsed: start.elapsed(),
        max_rss_kib,
        stdout,
        status: ExitStatus::from_raw(raw_status),
    })
}

fn reap(pid: u32) -> std::io::Result<(i32, u64)> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4(2) on our own child with valid pointers to locals.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}
