//! The pause image without a registry: busybox-static's binary as the only layer, in a
//! docker-archive tar (uncompressed: containerd 1.6 refuses a gzipped archive), whose
//! entrypoint sleeps. A real pause binary is not needed: StopPodSandbox SIGKILLs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// busybox-static's binary.
pub const BUSYBOX: &str = "/bin/busybox";

fn tar(args: &[&str], dir: &Path) {
    let out = Command::new("tar")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tar: {e}"));
    assert!(out.status.success(), "tar {args:?}: {out:?}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the archive under `dir` (which must exist) tagged `tag`; its path.
pub fn build(dir: &Path, tag: &str) -> PathBuf {
    assert!(
        Path::new(BUSYBOX).is_file(),
        "{BUSYBOX} is missing: install busybox-static (scripts/setup.sh)"
    );
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).unwrap();
    let archive = dir.join("archive");
    std::fs::create_dir_all(archive.join("layer")).unwrap();
    let layer = archive.join("layer/layer.tar");
    tar(
        &["--numeric-owner", "-cf", &layer.display().to_string(), "."],
        &rootfs,
    );
    let diff_id = hex(&Sha256::digest(std::fs::read(&layer).unwrap()));
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/bin/busybox", "sleep", "86400"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
    })
    .to_string();
    let config_id = hex(&Sha256::digest(config.as_bytes()));
    let config_name = format!("{config_id}.json");
    std::fs::write(archive.join(&config_name), &config).unwrap();
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": ["layer/layer.tar"],
    }]);
    std::fs::write(archive.join("manifest.json"), manifest.to_string()).unwrap();
    let out = dir.join("pause.tar");
    tar(
        &[
            "-cf",
            &out.display().to_string(),
            "manifest.json",
            &config_name,
            "layer/layer.tar",
        ],
        &archive,
    );
    let _ = std::fs::remove_dir_all(&rootfs);
    let _ = std::fs::remove_dir_all(&archive);
    out
}
