//! The files of one podman sandbox: podman's configuration (containers.conf, storage.conf,
//! registries.conf, policy.json), the plugin directory holding only twill's plugins, and the
//! busybox image's root directory.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use twill_test_support::plugins;

/// The multi-call binary under test.
pub const TWILL_CNI: &str = env!("CARGO_BIN_EXE_twill-cni");
/// busybox-static's binary: the image's only program.
pub const BUSYBOX: &str = "/bin/busybox";

/// The sandbox's directory layout, all under one temporary directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub tmp: PathBuf,
}

impl Layout {
    /// The plugin directory (`cni_plugin_dirs`).
    pub fn cni_bin(&self) -> PathBuf {
        self.tmp.join("cni-bin")
    }
    /// `network_config_dir`: the conflists `podman network create` writes.
    pub fn net_d(&self) -> PathBuf {
        self.tmp.join("net.d")
    }
    /// Bound on /run in podman's mount namespace.
    pub fn run(&self) -> PathBuf {
        self.tmp.join("run")
    }
    /// Bound on /var/lib: host-local's data and libcni's cache live under cni/ in it.
    pub fn var_lib(&self) -> PathBuf {
        self.tmp.join("var-lib")
    }
    /// Bound on /etc/containers: policy.json and registries.conf.
    pub fn etc_containers(&self) -> PathBuf {
        self.tmp.join("etc-containers")
    }
    /// `--root`: images, containers (vfs).
    pub fn storage(&self) -> PathBuf {
        self.tmp.join("storage")
    }
    /// `--runroot`.
    pub fn runroot(&self) -> PathBuf {
        self.tmp.join("runroot")
    }
    /// libpod's tmp_dir and every other temporary directory.
    pub fn scratch(&self) -> PathBuf {
        self.tmp.join("tmp")
    }
    pub fn home(&self) -> PathBuf {
        self.tmp.join("home")
    }
    pub fn containers_conf(&self) -> PathBuf {
        self.tmp.join("containers.conf")
    }
    pub fn storage_conf(&self) -> PathBuf {
        self.tmp.join("storage.conf")
    }
    pub fn registries_conf(&self) -> PathBuf {
        self.etc_containers().join("registries.conf")
    }
    /// Where podman's network namespaces are bind-mounted (as seen from the test).
    pub fn netns_dir(&self) -> PathBuf {
        self.run().join("netns")
    }
    /// host-local's directory for network `net`.
    pub fn ipam_dir(&self, net: &str) -> PathBuf {
        self.var_lib().join("cni/networks").join(net)
    }
    /// Where twill's plugins keep per-attachment records by default (/run/cni/…).
    pub fn plugin_records(&self) -> PathBuf {
        self.run().join("cni")
    }
    /// libcni's result cache.
    pub fn cni_cache(&self) -> PathBuf {
        self.var_lib().join("cni/results")
    }
    /// The busybox image's root directory, and its tarball.
    pub fn image_root(&self) -> PathBuf {
        self.tmp.join("image")
    }
    pub fn image_tar(&self) -> PathBuf {
        self.tmp.join("image.tar")
    }

    /// Creates every directory and configuration file.
    pub fn create(&self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
        for d in [
            self.cni_bin(),
            self.net_d(),
            self.run(),
            self.var_lib(),
            self.etc_containers(),
            self.storage(),
            self.runroot(),
            self.scratch(),
            self.home(),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(self.containers_conf(), self.containers_conf_text()).unwrap();
        std::fs::write(self.storage_conf(), self.storage_conf_text()).unwrap();
        // No registry is reachable and none is needed: the image is imported from a tarball.
        std::fs::write(
            self.registries_conf(),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
        std::fs::write(
            self.etc_containers().join("policy.json"),
            r#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
        )
        .unwrap();
    }

    /// podman's configuration: the CNI backend on our plugin directory, runc, cgroupfs, file
    /// events and k8s-file logs (nothing goes to the machine's journal), every state and
    /// temporary directory in the sandbox.
    pub fn containers_conf_text(&self) -> String {
        let d = |p: PathBuf| p.display().to_string();
        format!(
            r#"[containers]
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = ["{cni}"]
network_config_dir = "{netd}"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{events}"
tmp_dir = "{tmp}/libpod"
image_copy_tmp_dir = "{tmp}"
static_dir = "{storage}/libpod"
volume_path = "{storage}/volumes"
"#,
            cni = d(self.cni_bin()),
            netd = d(self.net_d()),
            events = d(self.scratch().join("events.log")),
            tmp = d(self.scratch()),
            storage = d(self.storage()),
        )
    }

    fn storage_conf_text(&self) -> String {
        // vfs: plain directories, no overlay mounts that could outlive a failed test.
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            self.storage().display(),
            self.runroot().display()
        )
    }

    /// One symlink to twill-cni per name in `twill-cni --list`, and nothing else; the names.
    pub fn link_plugins(&self) -> Vec<String> {
        let names = plugins::all_names();
        plugins::link_plugins(&self.cni_bin(), &names);
        names
    }

    /// The image: busybox-static's binary, a symlink per applet, the directories the OCI
    /// runtime mounts over, and `page` as /www/index.html for httpd to serve.
    pub fn build_image(&self, page: &str) {
        assert!(
            Path::new(BUSYBOX).is_file(),
            "{BUSYBOX} is missing: install busybox-static (scripts/setup.sh)"
        );
        let root = self.image_root();
        for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "www"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
        let list = Command::new(BUSYBOX).arg("--list").output().unwrap();
        assert!(list.status.success(), "busybox --list failed: {list:?}");
        for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
            if applet != "busybox" {
                symlink("busybox", root.join("bin").join(applet)).unwrap();
            }
        }
        std::fs::write(root.join("www/index.html"), page).unwrap();
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(self.image_tar())
            .arg(".")
            .output()
            .unwrap();
        assert!(tar.status.success(), "tar failed: {tar:?}");
    }
}

pub use twill_test_support::files::{files_below, list};
