//! Running plugin binaries as real processes with an explicit environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// Where Debian's `containernetworking-plugins` puts the reference plugins.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// The test plugin built from this crate.
pub const ECHO: &str = env!("CARGO_BIN_EXE_twill-test-echo");

/// A reference plugin binary; its absence fails the test (never a skip).
pub fn reference(name: &str) -> PathBuf {
    let path = Path::new(REFERENCE_DIR).join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup.sh, which installs Debian's containernetworking-plugins",
        path.display()
    );
    path
}

/// A temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty directory unique to this process and call.
    pub fn new(prefix: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a plugin process did.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub exit: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: Vec<u8>,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Run {
    /// stdout as one JSON document, if it is one.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.stdout).ok()
    }

    /// 0 for a clean success, else the printed error's code.
    pub fn code(&self) -> Option<u64> {
        match self.exit {
            Some(0) => Some(0),
            _ => self.json()?.get("code")?.as_u64(),
        }
    }

    /// The printed error's message and details, space-separated.
    pub fn message(&self) -> String {
        let v = self.json().unwrap_or(Value::Null);
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        format!("{} {}", text("msg"), text("details"))
    }
}

/// Runs `bin` with exactly `env` (nothing inherited from the test process) and `stdin`.
pub fn exec(bin: &Path, env: &[(String, String)], stdin: &[u8]) -> Run {
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // A writer thread, so a plugin that stops reading early cannot deadlock the test; the
    // broken pipe it then gets is expected and ignored.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        exit: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `pairs` as owned strings, for [`exec`].
pub fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
