//! Shared by the integration tests: the reference plugins, the Go driver over libcni, test
//! namespaces that play the host, and an executor that runs plugins inside one.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;
use twill_cni::exec::{EnvVars, Exec, ExecFailure, ExecOutput, ExitState, RealExec, StderrMode};
use twill_kernel::{NetNs, NetNsDir};

/// Where the reference plugins are installed.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// The reference plugin directory; a missing installation fails the test with instructions.
pub fn reference_dir() -> PathBuf {
    let dir = PathBuf::from(REFERENCE_DIR);
    for plugin in ["host-local", "bridge", "loopback"] {
        assert!(
            dir.join(plugin).is_file(),
            "{REFERENCE_DIR}/{plugin} is missing: run scripts/setup.sh (as root) to install \
             containernetworking-plugins"
        );
    }
    dir
}

/// The Go driver over libcni, built once per test run from tools/libcni-driver.
pub fn driver() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/libcni-driver");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libcni-driver");
        let built = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&src)
            .env("GOPATH", "/usr/share/gocode")
            .env("GO111MODULE", "off")
            .env("GOFLAGS", "")
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"),
            )
            .output()
            .unwrap_or_else(|e| panic!("cannot run go ({e}): run scripts/setup.sh (as root)"));
        assert!(
            built.status.success(),
            "building tools/libcni-driver failed (run scripts/setup.sh for golang-go and \
             golang-github-appc-cni-dev): {}",
            String::from_utf8_lossy(&built.stderr)
        );
        out
    })
}

/// A temporary directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("twill-rti-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `conflist` as `<dir>/<name>.conflist`.
pub fn write_conflist(dir: &Path, conflist: &Value) {
    let name = conflist["name"].as_str().unwrap();
    std::fs::write(dir.join(format!("{name}.conflist")), conflist.to_string()).unwrap();
}

/// What a Go driver run is given.
pub struct DriverRun<'a> {
    pub confdir: &'a Path,
    pub cache: &'a Path,
    pub cap_args: Option<&'a Value>,
    pub cni_args: &'a str,
    /// The namespace to run in (the test's "host"); `None` runs where the test runs, for
    /// plugins that touch no network state (host-local alone).
    pub host: Option<&'a NetNs>,
}

impl DriverRun<'_> {
    /// Runs the driver with `args`; the whole output.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(driver());
        cmd.args(args)
            .env("DRIVER_CNI_PATH", reference_dir())
            .env("DRIVER_CACHE_DIR", self.cache)
            .env("DRIVER_CNI_ARGS", self.cni_args)
            .env(
                "DRIVER_CAP_ARGS",
                self.cap_args.map(Value::to_string).unwrap_or_default(),
            );
        for var in [
            "CNI_COMMAND",
            "CNI_CONTAINERID",
            "CNI_NETNS",
            "CNI_IFNAME",
            "CNI_ARGS",
            "CNI_PATH",
        ] {
            cmd.env_remove(var);
        }
        if let Some(ns) = self.host {
            enter_in_child(&mut cmd, ns.as_fd().try_clone_to_owned().unwrap());
        }
        cmd.output().unwrap()
    }

    /// Runs an operation on one attachment; stdout on success, stderr as the error.
    pub fn op(
        &self,
        cmd: &str,
        net: &str,
        cid: &str,
        netns: &str,
        ifname: &str,
    ) -> Result<String, String> {
        let confdir = self.confdir.to_str().unwrap();
        let out = self.run(&[cmd, confdir, net, cid, netns, ifname]);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// Makes `cmd`'s child enter the namespace `ns` before it executes.
pub fn enter_in_child(cmd: &mut Command, ns: OwnedFd) {
    let fd = ns.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and calls only setns(2), which
    // is async-signal-safe; `ns` is moved into the closure, so the descriptor stays open until
    // the Command is dropped, after the child has started.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &ns;
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Runs plugins inside a test namespace: each child enters it before executing, so nothing a
/// plugin does reaches the machine's own namespace. The environment is built by
/// [`RealExec::command`] (inherited minus protocol variables, plus the request's).
#[derive(Debug)]
pub struct NsExec {
    pub host: OwnedFd,
    real: RealExec,
}

impl NsExec {
    pub fn new(host: &NetNs) -> NsExec {
        NsExec {
            host: host.as_fd().try_clone_to_owned().unwrap(),
            real: RealExec {
                stderr: StderrMode::Capture,
                ..RealExec::default()
            },
        }
    }
}

impl Exec for NsExec {
    fn run(&self, program: &Path, env: &EnvVars, stdin: &[u8]) -> Result<ExecOutput, ExecFailure> {
        let mut cmd = self.real.command(program, env);
        cmd.stderr(Stdio::piped());
        let fd = self.host.try_clone().map_err(|source| ExecFailure::Spawn {
            program: program.to_owned(),
            source,
        })?;
        enter_in_child(&mut cmd, fd);
        let mut child = cmd.spawn().map_err(|source| ExecFailure::Spawn {
            program: program.to_owned(),
            source,
        })?;
        // Results and configurations are a few KiB: well within a pipe's buffer, so writing
        // all of stdin before reading stdout cannot deadlock.
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin);
        }
        let out = child.wait_with_output().map_err(|source| ExecFailure::Io {
            program: program.to_owned(),
            source,
        })?;
        use std::os::unix::process::ExitStatusExt;
        let exit = match (out.status.code(), out.status.signal()) {
            (Some(c), _) => ExitState::Code(c),
            (None, s) => ExitState::Signal(s.unwrap_or(0)),
        };
        Ok(ExecOutput {
            exit,
            stdout: out.stdout,
            stderr: Some(out.stderr),
        })
    }
}

/// Test namespaces, deleted on drop (also when the test fails).
pub struct Sandbox {
    dir: NetNsDir,
    names: Vec<String>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        // SAFETY: geteuid(2) has no preconditions.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "the runtime's namespace tests need root (CAP_SYS_ADMIN)"
        );
        Sandbox {
            dir: NetNsDir::unshared("/run/twill-runtime-tests"),
            names: Vec::new(),
        }
    }

    /// A fresh namespace and its path.
    pub fn ns(&mut self, tag: &str) -> (NetNs, PathBuf) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "twr-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let ns = self.dir.create(&name).unwrap();
        self.names.push(name.clone());
        (ns, self.dir.path(&name).unwrap())
    }
}

impl Sandbox {
    /// Deletes the namespace at `path` now, as when a container is gone (it lives on while
    /// a descriptor of it is open: drop the `NetNs` first).
    pub fn remove(&mut self, path: &Path) {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        self.dir.delete(&name).unwrap();
        self.names.retain(|n| *n != name);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for name in self.names.drain(..) {
            let _ = self.dir.delete(&name);
        }
        self.dir.remove_if_empty();
    }
}

/// The files host-local keeps for network `net` under `data_dir`: the allocated addresses.
pub fn allocations(data_dir: &Path, net: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir.join(net))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n != "lock" && !n.starts_with("last_reserved_ip") && n != ".twill-owners"
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs `program args` inside `ns` (not the machine's own namespace); its stdout. A failure
/// fails the test, naming what to install when the program is missing.
pub fn in_ns(ns: &NetNs, program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    enter_in_child(&mut cmd, ns.as_fd().try_clone_to_owned().unwrap());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run scripts/setup.sh (as root)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Our multi-call plugin binary, `twill-cni`, built beside the test executable (`cargo test
/// --workspace` builds it for the plugin crate's tests); built here when it is missing.
pub fn twill_cni() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // <target>/<profile>/deps/<this test> -> <target>/<profile>/twill-cni
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
            let bin = profile_dir.join("twill-cni");
            if !bin.is_file() {
                let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
                    "debug" => "dev".to_owned(),
                    other => other.to_owned(),
                };
                let status = Command::new(env!("CARGO"))
                    .args(["build", "-q", "-p", "twill-plugins", "--bin", "twill-cni"])
                    .args(["--profile", &profile])
                    .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .status()
                    .unwrap();
                assert!(
                    status.success() && bin.is_file(),
                    "cannot build twill-cni: run `cargo build -p twill-plugins`"
                );
            }
            bin
        })
        .clone()
}
