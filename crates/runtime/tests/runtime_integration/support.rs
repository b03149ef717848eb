//! Shared by the runtime's integration tests: the Go driver over libcni and an executor that
//! runs plugins inside a test host namespace, on top of the shared harness
//! (`twill-test-support`: namespaces, host settings, plugin binaries, temporary directories).

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use twill_cni::exec::{EnvVars, Exec, ExecFailure, ExecOutput, ExitState, RealExec, StderrMode};
use twill_kernel::NetNs;
use twill_test_support::{plugins, HostSettings, Namespaces};

/// The reference plugin directory; a missing installation fails the test with instructions.
pub fn reference_dir() -> PathBuf {
    plugins::reference_dir(&["host-local", "bridge", "loopback"]).to_owned()
}

/// The Go driver over libcni (built once per test process by the shared harness).
pub fn driver() -> &'static Path {
    twill_test_support::libcni::driver()
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

/// Test namespaces, deleted on drop (also when the test fails): the shared harness's.
#[derive(Debug, Default)]
pub struct Sandbox(Namespaces);

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox(Namespaces::new())
    }

    /// A namespace playing a host, with a real host's settings, and its path.
    pub fn host(&mut self, tag: &str) -> (NetNs, PathBuf) {
        let ns = self.0.host(tag, &HostSettings::default());
        (ns.ns, ns.path)
    }

    /// A fresh container namespace and its path.
    pub fn ns(&mut self, tag: &str) -> (NetNs, PathBuf) {
        let ns = self.0.plain(tag);
        (ns.ns, ns.path)
    }

    /// Deletes the namespace at `path` now, as when a container is gone (it lives on while
    /// a descriptor of it is open: drop the `NetNs` first).
    pub fn remove(&mut self, path: &Path) {
        self.0.delete(path.file_name().unwrap().to_str().unwrap());
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

pub use twill_test_support::child::{enter_in_child, in_ns};
pub use twill_test_support::plugins::twill_cni;
pub use twill_test_support::TempDir;
