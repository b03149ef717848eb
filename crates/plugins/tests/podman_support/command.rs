//! Running a command with its output in files and a time limit.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What a command did.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    /// Shown (through `Debug`) when a command fails.
    #[allow(dead_code)]
    pub stderr: String,
}

impl Out {
    /// Asserts exit 0; stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "failed: {self:?}");
        &self.stdout
    }

    /// stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// Runs `cmd` with stdout and stderr in files under `dir` (numbered by `counter`) — conmon,
/// started by `podman run -d`, outlives podman and would hold a pipe open — and kills it
/// after `limit`.
pub fn run(
    mut cmd: Command,
    dir: &Path,
    counter: &AtomicU32,
    limit: Duration,
) -> Result<Out, String> {
    let n = counter.fetch_add(1, Ordering::Relaxed);
    let out_path = dir.join(format!("cmd-{n}.out"));
    let err_path = dir.join(format!("cmd-{n}.err"));
    let file = |p: &PathBuf| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    cmd.stdin(Stdio::null())
        .stdout(file(&out_path)?)
        .stderr(file(&err_path)?);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() <= deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{cmd:?} did not finish within {limit:?}: {other:?}"
                ));
            }
        }
    };
    Ok(Out {
        code: status.code(),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    })
}
