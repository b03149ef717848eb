//! containerd's configuration for one test: everything under the test's own directory, the CRI
//! plugin's CNI settings pointing at the test's plugin and configuration directories.
//!
//! The settings that matter on these machines (docs/kubernetes.md tells why each is there):
//! `netns_mounts_under_state_dir` keeps pod namespace pins out of /var/run/netns;
//! `restrict_oom_score_adj` because root here lacks CAP_SYS_RESOURCE (runc fails without it);
//! `disable_apparmor`; runc's state in the test's directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The image every sandbox runs (imported by the harness, never pulled).
pub const PAUSE_IMAGE: &str = "twill.test/pause:1";

/// What a test chooses about its containerd.
#[derive(Debug, Clone)]
pub struct CriConfig {
    /// The CNI plugin directory (`[cni] bin_dir`): it must hold `loopback` too.
    pub bin_dir: PathBuf,
    /// The CNI configuration directory (`[cni] conf_dir`); created when missing.
    pub conf_dir: PathBuf,
    /// `[cni] conf_template`: a Go template containerd renders into
    /// `<conf_dir>/10-containerd-net.conflist` on `UpdateRuntimeConfig`.
    pub conf_template: Option<PathBuf>,
    /// Environment containerd (and so every plugin it runs) gets besides PATH and TMPDIR.
    pub env: Vec<(String, String)>,
}

impl CriConfig {
    /// Plugins from `bin_dir`, configurations from `conf_dir`.
    pub fn new(bin_dir: impl Into<PathBuf>, conf_dir: impl Into<PathBuf>) -> CriConfig {
        CriConfig {
            bin_dir: bin_dir.into(),
            conf_dir: conf_dir.into(),
            conf_template: None,
            env: Vec::new(),
        }
    }
}

/// Where one containerd keeps everything.
#[derive(Debug, Clone)]
pub struct Layout {
    pub base: PathBuf,
}

impl Layout {
    pub fn root(&self) -> PathBuf {
        self.base.join("root")
    }
    pub fn state(&self) -> PathBuf {
        self.base.join("state")
    }
    pub fn temp(&self) -> PathBuf {
        self.base.join("tmp")
    }
    pub fn opt(&self) -> PathBuf {
        self.base.join("opt")
    }
    pub fn runc_root(&self) -> PathBuf {
        self.base.join("runc")
    }
    /// The gRPC socket (its path must stay under 108 bytes).
    pub fn socket(&self) -> PathBuf {
        self.base.join("c.sock")
    }
    pub fn config_file(&self) -> PathBuf {
        self.base.join("config.toml")
    }
    pub fn log(&self) -> PathBuf {
        self.base.join("containerd.log")
    }
    /// The shims' task bundles (`<ns>/<id>/{shim.pid,address}`).
    pub fn tasks(&self) -> PathBuf {
        self.state().join("io.containerd.runtime.v2.task")
    }
}

fn quoted(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// The `config.toml` (version 2) for `layout` and `c`.
pub fn render(layout: &Layout, c: &CriConfig) -> String {
    let sock = layout.socket();
    let mut t = String::new();
    let _ = writeln!(t, "version = 2");
    let _ = writeln!(t, "root = {}", quoted(&layout.root()));
    let _ = writeln!(t, "state = {}", quoted(&layout.state()));
    let _ = writeln!(t, "temp = {}", quoted(&layout.temp()));
    let _ = writeln!(t, "[grpc]\n  address = {}", quoted(&sock));
    let _ = writeln!(
        t,
        "[ttrpc]\n  address = {}",
        quoted(&layout.base.join("c.ttrpc"))
    );
    let _ = writeln!(t, "[debug]\n  address = \"\"\n  level = \"info\"");
    let _ = writeln!(t, "[metrics]\n  address = \"\"");
    let cri = "[plugins.\"io.containerd.grpc.v1.cri\"";
    let _ = writeln!(t, "{cri}]");
    let _ = writeln!(t, "  sandbox_image = {PAUSE_IMAGE:?}");
    let _ = writeln!(t, "  netns_mounts_under_state_dir = true");
    let _ = writeln!(t, "  restrict_oom_score_adj = true");
    let _ = writeln!(t, "  disable_apparmor = true");
    let _ = writeln!(t, "  stream_server_address = \"127.0.0.1\"");
    let _ = writeln!(t, "  stream_server_port = \"0\"");
    let _ = writeln!(t, "{cri}.containerd]");
    let _ = writeln!(t, "  snapshotter = \"overlayfs\"");
    let _ = writeln!(t, "  default_runtime_name = \"runc\"");
    let _ = writeln!(t, "{cri}.containerd.runtimes.runc]");
    let _ = writeln!(t, "  runtime_type = \"io.containerd.runc.v2\"");
    let _ = writeln!(t, "{cri}.containerd.runtimes.runc.options]");
    let _ = writeln!(t, "  Root = {}", quoted(&layout.runc_root()));
    let _ = writeln!(t, "{cri}.cni]");
    let _ = writeln!(t, "  bin_dir = {}", quoted(&c.bin_dir));
    let _ = writeln!(t, "  conf_dir = {}", quoted(&c.conf_dir));
    let _ = writeln!(t, "  max_conf_num = 1");
    if let Some(tpl) = &c.conf_template {
        let _ = writeln!(t, "  conf_template = {}", quoted(tpl));
    }
    let _ = writeln!(t, "[plugins.\"io.containerd.internal.v1.opt\"]");
    let _ = writeln!(t, "  path = {}", quoted(&layout.opt()));
    t
}
