//! The harness: each test gets a "host" network namespace, its own configuration, plugin,
//! cache, state and namespace directories, and runs the real `twill` binary inside that host
//! namespace. Everything is removed on drop, also when the test fails.
//!
//! The machine's own network namespace is never touched: `twill` and every command the tests
//! run start in the test's host namespace (setns before exec), and the test thread itself
//! never changes namespace.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use twill_kernel::{NetNs, NetNsDir};

/// The binary under test.
pub const TWILL: &str = env!("CARGO_BIN_EXE_twill");
/// The reference plugins (Debian's containernetworking-plugins).
pub const REFERENCE_DIR: &str = "/usr/lib/cni";
/// Where each sandbox keeps its namespaces (one directory per sandbox).
const ROOT: &str = "/run/twill-cli-tests";

/// The multi-call plugin binary, built beside `twill` by a workspace build.
pub fn twill_cni() -> PathBuf {
    let p = Path::new(TWILL).with_file_name("twill-cni");
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace` first (`make unit` does)",
        p.display()
    );
    p
}

/// The reference plugin directory; missing plugins fail the test.
pub fn reference_dir() -> &'static str {
    for p in ["bridge", "host-local", "loopback", "ptp"] {
        assert!(
            Path::new(REFERENCE_DIR).join(p).is_file(),
            "{REFERENCE_DIR}/{p} is missing: run scripts/setup.sh (as root)"
        );
    }
    REFERENCE_DIR
}

fn require_root() {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the twill CLI integration tests need root: run them as root"
    );
}

/// What a `twill` (or other) process did.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn from(o: Output) -> Out {
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Asserts exit 0; stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "failed: {self:?}");
        &self.stdout
    }

    /// Asserts a failure; stderr.
    pub fn fails(&self) -> &str {
        assert_ne!(self.code, Some(0), "succeeded: {self:?}");
        &self.stderr
    }

    /// stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// One test's world.
pub struct Sandbox {
    dir: NetNsDir,
    /// The host namespace `twill` runs in.
    pub host: NetNs,
    /// Temporary files: bin/, net.d/, cache/, state/.
    pub tmp: PathBuf,
    /// Plugin directory for `twill` (CNI_PATH).
    pub cni_path: String,
    home: (u64, u64),
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Sandbox {
    pub fn new() -> Sandbox {
        require_root();
        let cni = twill_cni();
        let home = NetNs::current().unwrap().identity().unwrap();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = NetNsDir::new(Path::new(ROOT).join(&id));
        let tmp = std::env::temp_dir().join(format!("twill-cli-test-{id}"));
        let _ = std::fs::remove_dir_all(&tmp);
        for sub in ["bin", "net.d"] {
            std::fs::create_dir_all(tmp.join(sub)).unwrap();
        }
        let list = Command::new(&cni).arg("--list").output().unwrap();
        for name in String::from_utf8_lossy(&list.stdout).split_whitespace() {
            std::os::unix::fs::symlink(&cni, tmp.join("bin").join(name)).unwrap();
        }
        let host = dir.create("host").unwrap();
        let sb = Sandbox {
            cni_path: tmp.join("bin").display().to_string(),
            dir,
            host,
            tmp,
            home,
        };
        sb.sh("ip link set lo up").ok();
        sb
    }

    /// The directory of named namespaces (`--netns-dir`).
    pub fn netns_dir(&self) -> &Path {
        self.dir.dir()
    }

    pub fn confdir(&self) -> PathBuf {
        self.tmp.join("net.d")
    }

    pub fn cache(&self) -> PathBuf {
        self.tmp.join("cache")
    }

    pub fn state(&self) -> PathBuf {
        self.tmp.join("state")
    }

    /// host-local's directory for the embedded default network (beside the cache).
    pub fn default_ipam_dir(&self) -> PathBuf {
        self.cache().join("networks").join("twill")
    }

    /// A command started inside the host namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let fd = self.host.as_fd().as_raw_fd();
        // SAFETY: the closure runs in the forked child before exec and only calls setns(2),
        // which is async-signal-safe; `fd` stays open in the parent for the whole spawn. The
        // child, not this process, enters the test's host namespace.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// `twill` with this sandbox's directories and `cni_path` as CNI_PATH.
    pub fn twill_cmd(&self, cni_path: &str, args: &[&str]) -> Command {
        let mut cmd = self.command(TWILL);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NETCONFPATH", self.confdir())
            .env("CNI_PATH", cni_path)
            .env("TWILL_CACHE_DIR", self.cache())
            .env("TWILL_STATE_DIR", self.state())
            .env("TWILL_NETNS_DIR", self.netns_dir())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `twill args` with our plugins.
    pub fn twill(&self, args: &[&str]) -> Out {
        self.twill_with(&self.cni_path, args, &[])
    }

    /// Runs `twill args` with `cni_path` and extra environment.
    pub fn twill_with(&self, cni_path: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = self.twill_cmd(cni_path, args);
        cmd.envs(env.iter().copied());
        Out::from(cmd.output().unwrap())
    }

    /// Starts `twill args` in the background (stdout/stderr captured).
    pub fn spawn_twill(&self, args: &[&str]) -> Child {
        let mut cmd = self.twill_cmd(&self.cni_path, args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    }

    /// A shell command in the host namespace.
    pub fn sh(&self, script: &str) -> Out {
        Out::from(self.command("sh").args(["-c", script]).output().unwrap())
    }

    /// A pod namespace made by the test; its path.
    pub fn pod(&self, name: &str) -> PathBuf {
        self.dir.create(name).unwrap();
        self.dir.path(name).unwrap()
    }

    /// Deletes a namespace of the sandbox now.
    pub fn delete_ns(&self, name: &str) {
        self.dir.delete(name).unwrap();
    }

    /// Names in the namespace directory, the host's excepted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut names = self.dir.list().unwrap();
        names.retain(|n| n != "host");
        names
    }

    /// Link names in the host namespace.
    pub fn host_links(&self) -> Vec<String> {
        let out = self.sh("ip -o link show");
        out.ok()
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_owned())
            .collect()
    }

    /// Files of the cache's results directory.
    pub fn cache_files(&self) -> Vec<String> {
        list(&self.cache().join("results"))
    }

    /// Addresses host-local reserved in `dir`.
    pub fn reserved(&self, dir: &Path) -> Vec<String> {
        let mut l = list(dir);
        l.retain(|n| n != "lock" && !n.starts_with("last_reserved_ip") && n != ".twill-owners");
        l
    }

    /// Writes `conf` as `<confdir>/<name>.conflist`.
    pub fn write_conflist(&self, conf: &Value) {
        let name = conf["name"].as_str().unwrap();
        std::fs::write(
            self.confdir().join(format!("{name}.conflist")),
            conf.to_string(),
        )
        .unwrap();
    }

    /// Polls `cond` every 50 ms for up to `secs` seconds.
    pub fn wait_for(&self, secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Names in `dir` (none when it does not exist), sorted, dot files skipped.
pub fn list(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for name in self.dir.list().unwrap_or_default() {
            if let Err(e) = self.dir.delete(&name) {
                eprintln!("sandbox cleanup: {e}");
            }
        }
        let c = std::ffi::CString::new(self.dir.dir().as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: umount2(2) with a valid path; the directory was made a mount point by
        // NetNsDir. Failure (not a mount point) is fine.
        unsafe {
            libc::umount2(c.as_ptr(), libc::MNT_DETACH);
        }
        let _ = std::fs::remove_dir(self.dir.dir());
        // The shared parent goes with the last sandbox (fails while others remain).
        let _ = std::fs::remove_dir(ROOT);
        let _ = std::fs::remove_dir_all(&self.tmp);
        if !std::thread::panicking() {
            let now = NetNs::current().and_then(|ns| ns.identity()).unwrap();
            assert_eq!(now, self.home, "the test thread changed network namespace");
        }
    }
}
