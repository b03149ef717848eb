//! The harness: each test gets a "host" network namespace (with a real host's settings), its
//! own configuration, plugin, cache, state and namespace directories, and runs the real
//! `twill` binary inside that host namespace. Everything is removed on drop, also when the
//! test fails. Namespaces, host settings and plugin directories are the shared harness's
//! (`twill-test-support`).
//!
//! The machine's own network namespace is never touched: `twill` and every command the tests
//! run start in the test's host namespace (setns before exec), and the test thread itself
//! never changes namespace.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use twill_kernel::NetNs;
use twill_test_support::child::command_in;
use twill_test_support::{plugins, HostSettings, Namespaces};

pub use twill_test_support::files::list;

/// The binary under test.
pub const TWILL: &str = env!("CARGO_BIN_EXE_twill");
/// The reference plugins (Debian's containernetworking-plugins).
pub use twill_test_support::plugins::REFERENCE_DIR;
/// Where each sandbox keeps its namespaces (one directory per sandbox).
const ROOT: &str = "/run/twill-cli-tests";

/// The reference plugin directory; missing plugins fail the test.
pub fn reference_dir() -> &'static str {
    plugins::reference_dir(&["bridge", "host-local", "loopback", "ptp"]);
    REFERENCE_DIR
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
    /// The host namespace `twill` runs in.
    pub host: NetNs,
    /// Temporary files: bin/, net.d/, cache/, state/.
    pub tmp: PathBuf,
    /// Plugin directory for `twill` (CNI_PATH).
    pub cni_path: String,
    /// The sandbox's own namespace directory, which `twill` is given; last, so that it
    /// goes after the host's descriptor.
    nss: Namespaces,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let mut nss = Namespaces::own_dir(Path::new(ROOT));
        let tmp = std::env::temp_dir().join(format!("twill-cli-test-{}", nss.id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for sub in ["bin", "net.d"] {
            std::fs::create_dir_all(tmp.join(sub)).unwrap();
        }
        plugins::link_plugins(&tmp.join("bin"), &plugins::all_names());
        let host = nss.host("host", &HostSettings::default()).ns;
        Sandbox {
            cni_path: tmp.join("bin").display().to_string(),
            host,
            tmp,
            nss,
        }
    }

    /// The directory of named namespaces (`--netns-dir`).
    pub fn netns_dir(&self) -> &Path {
        self.nss.dir().dir()
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
        command_in(&self.host, program)
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
        self.nss.dir().create(name).unwrap();
        self.nss.dir().path(name).unwrap()
    }

    /// Deletes a namespace of the sandbox now.
    pub fn delete_ns(&self, name: &str) {
        self.nss.dir().delete(name).unwrap();
    }

    /// Names in the namespace directory, the host's excepted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut names = self.nss.dir().list().unwrap();
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

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The namespaces, the host's and every one `twill` made, go when `nss` drops, right
        // after this.
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}
