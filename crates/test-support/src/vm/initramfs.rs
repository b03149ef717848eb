//! The guest's initramfs, built once per test process: busybox, Debian's own `ip` and `bridge`
//! with their libraries, the kernel modules the tests need (loaded by `/init` in dependency
//! order) and `/init` itself. Uncompressed: QEMU copies it in a moment, while decompressing
//! under TCG would cost boot time.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use super::assets::Kernel;
use crate::tempdir::TempDir;

/// Loaded at boot, each with its dependencies first: the link kinds this machine's kernel
/// lacks, what the tests build beside them, the tap/stream NIC and the 9p shares. Anything
/// else is loaded on demand in a guest running on the host's root (see `init.sh`).
const MODULES: &[(&str, &str)] = &[
    ("virtio_pci", ""),
    ("virtio_net", ""),
    ("9pnet_virtio", ""),
    ("9p", ""),
    // One `dummy0` appears per module load unless told otherwise.
    ("dummy", "numdummies=0"),
    ("8021q", ""),
    ("ipvlan", ""),
    ("vrf", ""),
    ("veth", ""),
    ("bridge", ""),
    ("tun", ""),
    ("wireguard", ""),
];

/// Debian's iproute2: busybox's `ip` lacks `-d`, named netns and `bridge vlan`.
const BINARIES: &[&str] = &["/usr/bin/ip", "/usr/sbin/bridge"];

const INIT: &str = include_str!("init.sh");

/// The initramfs (a newc cpio archive) for `kernel`.
pub fn initramfs(kernel: &Kernel) -> &'static [u8] {
    static CPIO: OnceLock<Vec<u8>> = OnceLock::new();
    CPIO.get_or_init(|| build(kernel))
}

fn build(kernel: &Kernel) -> Vec<u8> {
    let stage = TempDir::new("vm-initramfs");
    let root = stage.path();
    for d in [
        "bin", "sbin", "etc", "proc", "sys", "dev", "host", "tmp", "root",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    add_busybox(root);
    for bin in BINARIES {
        copy_with_libraries(root, Path::new(bin));
    }
    add_modules(root, kernel);
    write_file(root, "init", INIT, 0o755);

    let out = Command::new("sh")
        .arg("-c")
        .arg("find . | busybox cpio -o -H newc 2>/dev/null")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "cpio failed"
    );
    out.stdout
}

fn add_busybox(root: &Path) {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.is_file(),
        "/bin/busybox is missing: run scripts/setup.sh (as root)"
    );
    copy(busybox, &root.join("bin/busybox"));
    let list = Command::new(busybox).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let link = root.join("bin").join(applet);
        if applet != "busybox" && !link.exists() {
            std::os::unix::fs::symlink("busybox", link).unwrap();
        }
    }
}

/// `bin` at the same path in the guest, with every library `ldd` names.
fn copy_with_libraries(root: &Path, bin: &Path) {
    copy(bin, &inside(root, bin));
    let out = Command::new("ldd").arg(bin).output().unwrap();
    assert!(out.status.success(), "ldd {}", bin.display());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux… (0x…)"
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            copy(Path::new(p), &inside(root, Path::new(p)));
        }
    }
}

/// The modules and their dependencies, in load order, listed in `/etc/twill-modules`.
fn add_modules(root: &Path, kernel: &Kernel) {
    let dir = kernel.modules();
    let dep = std::fs::read_to_string(dir.join("modules.dep")).unwrap();
    let deps: Vec<(&str, Vec<&str>)> = dep
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(m, d)| (m, d.split_whitespace().collect()))
        .collect();
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    let mut list = String::new();
    for (name, params) in MODULES {
        let file = deps
            .iter()
            .map(|(m, _)| *m)
            .find(|m| module_name(m) == *name)
            .unwrap_or_else(|| panic!("module {name} is not in {}", dir.display()));
        let before = order.len();
        visit(file, &deps, &mut seen, &mut order);
        for m in &order[before..] {
            let p = if *m == file { *params } else { "" };
            list.push_str(&format!("{m} {p}\n"));
        }
    }
    for m in &order {
        copy(&dir.join(m), &root.join("lib/modules").join(m));
    }
    write_file(root, "etc/twill-modules", &list, 0o644);
}

/// Depth-first: a module's dependencies before the module.
fn visit<'a>(
    m: &'a str,
    deps: &[(&'a str, Vec<&'a str>)],
    seen: &mut BTreeSet<&'a str>,
    order: &mut Vec<&'a str>,
) {
    if !seen.insert(m) {
        return;
    }
    if let Some((_, ds)) = deps.iter().find(|(name, _)| *name == m) {
        for d in ds {
            visit(d, deps, seen, order);
        }
    }
    order.push(m);
}

/// `kernel/net/8021q/8021q.ko` → `8021q`; depmod's names keep `-` and `_` as in the file.
fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".ko").unwrap_or(file)
}

fn inside(root: &Path, p: &Path) -> std::path::PathBuf {
    root.join(p.strip_prefix("/").unwrap())
}

/// Copies the file's content (following symlinks, so usrmerge's `/lib` links need no twin).
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

fn write_file(root: &Path, name: &str, content: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let p = root.join(name);
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}
