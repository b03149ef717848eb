//! podman (Debian's 4.3, CNI backend, runc) driving twill's plugins, with nothing of the
//! machine involved: podman runs in a network namespace of the test's own and in a private
//! mount namespace where /run, /var/lib, /etc/containers and /dev/shm are the test's
//! ([`namespaces`]); its configuration, storage (vfs), plugin directory (only twill-cni's
//! names, [`files`]) and network configuration directory are temporary; its containers live
//! in a cgroup of the test's own ([`cgroup`]). Dropping the sandbox removes the containers,
//! kills anything left in the mount namespace, removes the cgroups and the files; the
//! namespaces go with their last descriptor.

pub mod cgroup;
pub mod command;
pub mod files;
pub mod namespaces;
pub mod ruleset;
mod state;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use twill_test_support::home::Home;
use twill_test_support::require_root;

pub use command::Out;
use files::Layout;
use namespaces::{Binds, Namespaces};

/// The image every container runs.
pub const IMAGE: &str = "localhost/twill-busybox";
/// How long one podman command may take before the test fails.
const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One test's podman.
pub struct Podman {
    pub files: Layout,
    pub ns: Namespaces,
    /// The cgroup parent of every container of this sandbox.
    cgroup: String,
    /// The page httpd serves from the image.
    pub page: String,
    /// Numbers the commands' output files.
    runs: AtomicU32,
    home: Home,
}

impl Podman {
    /// A sandbox with podman configured and the busybox image imported.
    pub fn new() -> Podman {
        require_root();
        let home = Home::here();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let files = Layout {
            tmp: std::env::temp_dir().join(format!("twill-podman-test-{id}")),
        };
        files.create();
        let ns = Namespaces::new(&Binds {
            run: files.run(),
            var_lib: files.var_lib(),
            etc_containers: files.etc_containers(),
        });
        let pm = Podman {
            files,
            ns,
            cgroup: format!("twill-podman-test-{id}"),
            page: format!("served by busybox httpd in podman, sandbox {id}\n"),
            runs: AtomicU32::new(0),
            home,
        };
        // From here on a failure still cleans up (Drop).
        pm.files.link_plugins();
        pm.files.build_image(&pm.page);
        let tar = pm.files.image_tar().display().to_string();
        pm.podman(&["import", "--quiet", &tar, IMAGE]).ok();
        pm
    }

    /// `podman args` inside the sandbox, bounded by [`PODMAN_TIMEOUT`].
    pub fn podman(&self, args: &[&str]) -> Out {
        self.try_podman(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Podman::podman`] without panicking (for cleanup).
    fn try_podman(&self, args: &[&str]) -> Result<Out, String> {
        let f = &self.files;
        let mut cmd = Command::new("podman");
        // Only what podman needs from the environment: nothing of the caller's configuration.
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", f.home())
            .env("TMPDIR", f.scratch())
            .env("CONTAINERS_CONF", f.containers_conf())
            .env("CONTAINERS_STORAGE_CONF", f.storage_conf())
            .env("CONTAINERS_REGISTRIES_CONF", f.registries_conf())
            .arg("--root")
            .arg(f.storage())
            .arg("--runroot")
            .arg(f.runroot())
            .args(["--storage-driver", "vfs"])
            .args(args);
        self.ns.enter(&mut cmd, true);
        command::run(cmd, &self.files.scratch(), &self.runs, PODMAN_TIMEOUT)
    }

    /// A command in podman's host network namespace (the machine's mount namespace).
    pub fn host(&self, program: &str, args: &[&str]) -> Out {
        let mut cmd = Command::new(program);
        cmd.args(args);
        self.ns.enter(&mut cmd, false);
        command::run(
            cmd,
            &self.files.scratch(),
            &self.runs,
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `podman info` as JSON.
    pub fn info(&self) -> Value {
        self.podman(&["info", "--format", "json"]).json()
    }

    /// `podman network create --subnet SUBNET NAME`; checks that every plugin the conflist
    /// podman wrote names is one of twill's (the test fails here, by name, when twill-cni
    /// lacks one) and returns the conflist.
    pub fn network_create(&self, name: &str, subnet: &str) -> Value {
        self.podman(&["network", "create", "--subnet", subnet, name])
            .ok();
        let path = self.files.net_d().join(format!("{name}.conflist"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("podman wrote no {}: {e}", path.display()));
        let conf: Value = serde_json::from_str(&text).unwrap();
        let ours = files::list(&self.files.cni_bin());
        for t in plugin_types(&conf) {
            assert!(
                ours.contains(&t),
                "podman's network uses plugin {t:?}, which twill-cni does not provide \
                 (twill-cni --list: {ours:?})"
            );
        }
        conf
    }

    /// `podman run -d` of `cmd` on `network`, with the limits these machines need and this
    /// sandbox's cgroup parent; the container's ID.
    pub fn run_detached(&self, name: &str, network: &str, extra: &[&str], cmd: &[&str]) -> String {
        let parent = format!("/{}", self.cgroup);
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            network,
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            "--cgroup-parent",
            &parent,
        ];
        args.extend_from_slice(extra);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        self.podman(&args).ok().trim().to_owned()
    }

    /// `podman inspect NAME`.
    pub fn inspect(&self, name: &str) -> Value {
        let v = self.podman(&["inspect", name]).json();
        v[0].clone()
    }
}

/// Every plugin type a conflist names, IPAM included.
pub fn plugin_types(conf: &Value) -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    for p in conf["plugins"].as_array().unwrap() {
        types.insert(p["type"].as_str().unwrap().to_owned());
        if let Some(ipam) = p["ipam"]["type"].as_str() {
            types.insert(ipam.to_owned());
        }
    }
    types
}

/// SIGKILLs every process `find` returns until it returns none (bounded); what survives.
fn kill_all(find: impl Fn() -> Vec<i32>) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = find();
        if pids.is_empty() || Instant::now() > deadline {
            return pids;
        }
        for pid in pids {
            // SAFETY: kill(2); `find` returns only processes this sandbox started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // podman first, so that it runs the plugins' DEL and unmounts what it mounted. Then
        // whatever survived — podman, conmon (in the private mount namespace), containers
        // (in the sandbox's cgroup) — is killed, and the namespaces die with their last
        // descriptor.
        match self.try_podman(&["rm", "--all", "--force", "--time", "0"]) {
            Ok(out) if out.code == Some(0) => {}
            other => eprintln!("podman sandbox cleanup: {other:?}"),
        }
        let survivors = kill_all(|| {
            let mut pids = self.ns.processes();
            pids.extend(cgroup::processes(&self.cgroup));
            pids
        });
        let left = cgroup::remove(&self.cgroup);
        let _ = std::fs::remove_dir_all(&self.files.tmp);
        self.home.assert_still_here();
        if !std::thread::panicking() {
            assert!(
                survivors.is_empty(),
                "processes survive SIGKILL: {survivors:?}"
            );
            assert!(left.is_empty(), "cgroups left: {left:?}");
        } else if !survivors.is_empty() || !left.is_empty() {
            eprintln!("podman sandbox cleanup: processes {survivors:?}, cgroups {left:?}");
        }
    }
}
