//! One private containerd inside a test host namespace: its own root, state, socket, runc
//! root and pause image; the CNI plugins and configurations the test chose. The plugins run in
//! containerd's network namespace, the test's host, never the machine's.
//!
//! Drop leaves nothing, also after a panic: every sandbox stopped and removed over the CRI
//! (so the plugins' DEL runs), containerd stopped, its shims killed and their sockets removed,
//! the pods' cgroup tree killed and removed, every mount under its directory detached, the
//! directory and libcni's cache entries of its sandboxes deleted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::child::command_in;
use crate::cri::cleanup;
use crate::cri::client::{Cri, DEFAULT_DEADLINE};
use crate::cri::config::{render, CriConfig, Layout, PAUSE_IMAGE};
use crate::cri::image;
use crate::cri::pod::{PodSpec, RunningPod};
use crate::ns::Ns;
use crate::root::require_root;

/// libcni's attachment cache: containerd 1.6 cannot move it.
pub const LIBCNI_CACHE: &str = "/var/lib/cni/results";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A running containerd.
pub struct Containerd {
    pub layout: Layout,
    pub config: CriConfig,
    /// The pods' cgroup parent, `/twill-cri-<pid>-<n>`, removed on drop.
    pub cgroup_parent: String,
    child: Option<Child>,
    cri: Option<Cri>,
    /// Every sandbox id RunPodSandbox returned (libcni's cache entries are named by them).
    sandboxes: Vec<String>,
    uid: AtomicU32,
}

impl std::fmt::Debug for Containerd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Containerd({})", self.layout.base.display())
    }
}

fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Containerd {
    /// Starts containerd inside `host` with `config` and imports the pause image. The CNI
    /// configuration directory is created; nothing is written into it.
    pub fn start(host: &Ns, config: CriConfig) -> Containerd {
        require_root();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // Short: the socket path must stay under 108 bytes.
        let base = std::env::temp_dir().join(format!("twill-cri-{id}"));
        let _ = std::fs::remove_dir_all(&base);
        let layout = Layout { base };
        assert!(
            layout.socket().as_os_str().len() < 100,
            "{}: a unix socket path must stay under 108 bytes; set TMPDIR shorter",
            layout.socket().display()
        );
        for d in [
            layout.root(),
            layout.state(),
            layout.temp(),
            layout.opt(),
            layout.runc_root(),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::create_dir_all(&config.conf_dir).unwrap();
        std::fs::write(layout.config_file(), render(&layout, &config)).unwrap();
        let mut c = Containerd {
            layout,
            config,
            cgroup_parent: format!("/twill-cri-{id}"),
            child: None,
            cri: None,
            sandboxes: Vec::new(),
            uid: AtomicU32::new(0),
        };
        c.spawn(host);
        c.import_image();
        c
    }

    fn spawn(&mut self, host: &Ns) {
        let log = std::fs::File::create(self.layout.log()).unwrap();
        let mut cmd = command_in(&host.ns, "containerd");
        cmd.arg("--config")
            .arg(self.layout.config_file())
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("TMPDIR", self.layout.temp())
            .envs(self.config.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start containerd ({e}): run scripts/setup.sh"));
        self.child = Some(child);
        let sock = self.layout.socket();
        let cri = wait_for("containerd serves the CRI", 30, || {
            self.assert_alive();
            if !sock.exists() {
                return None;
            }
            let mut cri = Cri::connect(&sock).ok()?;
            let (ready, _) = cri.condition("RuntimeReady");
            ready.then_some(cri)
        });
        self.cri = Some(cri);
    }

    /// Fails the test with containerd's log if it has exited.
    pub fn assert_alive(&mut self) {
        if let Some(c) = &mut self.child {
            if let Ok(Some(st)) = c.try_wait() {
                panic!("containerd exited ({st}):\n{}", self.log());
            }
        }
    }

    /// containerd's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// containerd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.layout.log()).unwrap_or_default()
    }

    fn import_image(&mut self) {
        let dir = self.layout.base.join("image");
        std::fs::create_dir_all(&dir).unwrap();
        let tar = image::build(&dir, PAUSE_IMAGE);
        let out = Command::new("ctr")
            .arg("--address")
            .arg(self.layout.socket())
            .args(["--namespace", "k8s.io", "images", "import"])
            .args(["--snapshotter", "overlayfs"])
            .arg(&tar)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ctr ({e}): run scripts/setup.sh"));
        assert!(
            out.status.success(),
            "ctr images import: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The socket, for more clients (one per thread).
    pub fn socket(&self) -> PathBuf {
        self.layout.socket()
    }

    /// The client.
    pub fn cri(&mut self) -> &mut Cri {
        self.cri.as_mut().unwrap()
    }

    /// Waits for NetworkReady (containerd has loaded a CNI configuration).
    pub fn wait_network_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (ready, msg) = self.cri().condition("NetworkReady");
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "NetworkReady never became true: {msg}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The CRI message for `spec` with this containerd's cgroup parent and a fresh uid.
    pub fn sandbox_config(&self, spec: &PodSpec) -> k8s_cri::v1::PodSandboxConfig {
        let n = self.uid.fetch_add(1, Ordering::Relaxed);
        let uid = format!("{}-{n}", self.cgroup_parent.trim_start_matches('/'));
        spec.config(&self.cgroup_parent, &uid)
    }

    /// Records sandbox `id` for the cleanup of libcni's cache.
    pub fn track(&mut self, id: &str) {
        if !self.sandboxes.iter().any(|s| s == id) {
            self.sandboxes.push(id.to_owned());
        }
    }

    /// RunPodSandbox with `deadline`; the id, or the CRI's error.
    pub fn try_run(&mut self, spec: &PodSpec, deadline: Duration) -> Result<String, tonic::Status> {
        let config = self.sandbox_config(spec);
        let r = self.cri().run_pod_sandbox(config, deadline);
        if let Ok(id) = &r {
            self.track(id);
        }
        r
    }

    /// RunPodSandbox, then PodSandboxStatus: the running pod. A failure fails the test with
    /// containerd's log.
    pub fn run_pod(&mut self, spec: &PodSpec) -> RunningPod {
        let id = match self.try_run(spec, DEFAULT_DEADLINE) {
            Ok(id) => id,
            Err(e) => panic!("RunPodSandbox {}: {e}\n{}", spec.name, self.log_tail()),
        };
        let status = self.cri().pod_sandbox_status(&id).unwrap();
        assert!(crate::cri::pod::is_ready(&status), "{status:?}");
        RunningPod::from_status(&id, &status)
    }

    /// StopPodSandbox then RemovePodSandbox, each required to succeed.
    pub fn stop_and_remove(&mut self, id: &str) {
        if let Err(e) = self.cri().stop_pod_sandbox(id) {
            panic!("StopPodSandbox {id}: {e}\n{}", self.log_tail());
        }
        if let Err(e) = self.cri().remove_pod_sandbox(id) {
            panic!("RemovePodSandbox {id}: {e}\n{}", self.log_tail());
        }
    }

    /// The last 40 lines of the log.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// libcni's cache entries of this containerd's sandboxes.
    pub fn cache_entries(&self) -> Vec<String> {
        crate::files::names(Path::new(LIBCNI_CACHE))
            .into_iter()
            .filter(|n| self.sandboxes.iter().any(|s| n.contains(s.as_str())))
            .collect()
    }

    /// Processes in the pods' cgroup tree.
    pub fn pod_processes(&self) -> Vec<i32> {
        cleanup::cgroup_pids(&self.cgroup_parent)
    }

    /// Mounts under containerd's directory (pod namespace pins, rootfs, shm).
    pub fn mounts(&self) -> Vec<PathBuf> {
        cleanup::mounts_below(&self.layout.base)
    }

    /// Running shims.
    pub fn shim_count(&self) -> usize {
        cleanup::shims(&self.layout.tasks())
            .into_iter()
            .filter(|(pid, _)| Path::new(&format!("/proc/{pid}")).exists())
            .count()
    }

    fn remove_all_sandboxes(&mut self) {
        let Some(cri) = self.cri.as_mut() else {
            return;
        };
        let Ok(list) = cri.list_pod_sandbox() else {
            return;
        };
        for sb in list {
            let _ = cri.stop_pod_sandbox_within(&sb.id, Duration::from_secs(20));
            let _ = cri.remove_pod_sandbox(&sb.id);
        }
    }

    fn stop_daemon(&mut self) {
        self.cri = None;
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id() as i32;
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.remove_all_sandboxes();
        }
        self.stop_daemon();
        cleanup::kill_shims(&self.layout.tasks());
        cleanup::remove_cgroups(&self.cgroup_parent);
        cleanup::unmount_below(&self.layout.base);
        for name in self.cache_entries() {
            let _ = std::fs::remove_file(Path::new(LIBCNI_CACHE).join(name));
        }
        let _ = std::fs::remove_dir_all(&self.layout.base);
    }
}
