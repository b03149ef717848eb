//! One plugin exec, timed, with the peak memory the kernel accounted to it.
//!
//! `std::process` does not expose a child's resource usage, so the child is reaped with
//! `wait4(2)`, which returns it — by a launcher process, see [`launch`].

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

/// Runs `program` with exactly `env` (nothing inherited but PATH) and `stdin`, through this
/// binary's launcher mode (see [`launch`]), which times the plugin alone and reports its peak
/// resident set.
pub fn run(
    program: &Path,
    env: &[(&str, String)],
    stdin: &[u8],
    metrics: &Path,
) -> Result<Exec, SpawnError> {
    let fail = |source| SpawnError {
        program: program.display().to_string(),
        source,
    };
    let me = std::env::current_exe().map_err(fail)?;
    let mut child = Command::new(me)
        .arg(LAUNCH)
        .arg(metrics)
        .arg(program)
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
    child.wait().map_err(fail)?;
    let text = std::fs::read_to_string(metrics).map_err(fail)?;
    let mut fields = text.split_whitespace().map(str::parse::<i64>);
    let mut next = || -> Result<i64, SpawnError> {
        match fields.next() {
            Some(Ok(v)) => Ok(v),
            _ => Err(fail(std::io::Error::other(format!(
                "launcher wrote no metrics: {text:?}"
            )))),
        }
    };
    let (nanos, rss, status) = (next()?, next()?, next()?);
    Ok(Exec {
        elapsed: Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)),
        max_rss_kib: u64::try_from(rss).unwrap_or(0),
        stdout,
        status: ExitStatus::from_raw(i32::try_from(status).unwrap_or(-1)),
    })
}

/// The first argument that puts this binary in launcher mode.
pub const LAUNCH: &str = "__launch";

/// Launcher mode: `twill-bench __launch METRICS PROGRAM`. Runs PROGRAM with this process's
/// environment and standard streams, and writes `<nanoseconds> <peak RSS KiB> <wait status>`
/// to METRICS.
///
/// Why a launcher: a child's peak RSS as `wait4` reports it includes the memory of the
/// process it was spawned from (the kernel records the parent's high-water mark when the
/// child execs), and the benchmark itself grows as it keeps results. This small, fresh
/// process is the parent instead, so the figure is the plugin's own whenever the plugin uses
/// more than the launcher (about 1.3 MiB) — as every plugin does.
pub fn launch(metrics: &Path, program: &Path) -> Result<(), std::io::Error> {
    let start = Instant::now();
    let child = Command::new(program).spawn()?;
    let (status, rss) = reap(child.id())?;
    let nanos = start.elapsed().as_nanos();
    std::fs::write(metrics, format!("{nanos} {rss} {status}\n"))
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
