//! The namespaces podman runs in: a network namespace of the test's own (podman's "host") and
//! a private mount namespace in which the machine's /run, /var/lib, /etc/containers and
//! /dev/shm are replaced by the test's directories. Every mount podman makes (network
//! namespace bind mounts, shm, storage) therefore lands in a mount namespace nobody else
//! sees, and goes with it; the machine's own mount table, podman state and shm locks are
//! never touched.
//!
//! Both namespaces are held by descriptors only (no bind mount on the machine): a short-lived
//! child creates them, the parent opens `/proc/<child>/ns/{net,mnt}`, and the child exits.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use twill_kernel::NetNs;
use twill_test_support::HostSettings;

/// What the private mount namespace puts where: `(test directory, machine path)` bind mounts.
/// /dev/shm gets a fresh tmpfs instead (podman keeps its lock table there).
pub struct Binds {
    pub run: PathBuf,
    pub var_lib: PathBuf,
    pub etc_containers: PathBuf,
}

/// The two namespaces, open.
pub struct Namespaces {
    /// podman's "host" network namespace.
    pub net: NetNs,
    /// The private mount namespace.
    pub mnt: OwnedFd,
    /// (device, inode) of `mnt`, to find the processes living in it.
    mnt_id: (u64, u64),
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

/// mount(2) with optional source/type; an `io::Error` naming nothing (pre_exec context).
///
/// # Safety
/// Only calls mount(2) with valid NUL-terminated strings; async-signal-safe.
unsafe fn mount(
    src: Option<&CString>,
    target: &CString,
    fstype: Option<&CString>,
    flags: libc::c_ulong,
    data: Option<&CString>,
) -> io::Result<()> {
    let p = |s: Option<&CString>| s.map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is null or a valid NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            p(src),
            target.as_ptr(),
            p(fstype),
            flags,
            p(data).cast::<libc::c_void>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Namespaces {
    /// Creates both namespaces and the mounts of the private one.
    pub fn new(binds: &Binds) -> Namespaces {
        for (src, dst) in binds.pairs() {
            assert!(src.is_dir(), "{} is not a directory", src.display());
            assert!(
                dst.is_dir(),
                "{} is missing: podman is not installed (run scripts/setup.sh as root)",
                dst.display()
            );
        }
        let pairs: Vec<(CString, CString)> = binds
            .pairs()
            .iter()
            .map(|(s, d)| (cstr(s), cstr(d)))
            .collect();
        let root = cstr(Path::new("/"));
        let shm = cstr(Path::new("/dev/shm"));
        let tmpfs = CString::new("tmpfs").unwrap();
        let shm_opts = CString::new("mode=1777,size=64m").unwrap();
        let mut child = Command::new("cat");
        child
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: the closure runs in the forked child before exec and only makes syscalls
        // (unshare, mount) on strings prepared before the fork: async-signal-safe.
        unsafe {
            child.pre_exec(move || {
                if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // Nothing mounted from here on may propagate back to the machine.
                mount(None, &root, None, libc::MS_REC | libc::MS_PRIVATE, None)?;
                for (src, dst) in &pairs {
                    mount(Some(src), dst, None, libc::MS_BIND, None)?;
                }
                mount(Some(&tmpfs), &shm, Some(&tmpfs), 0, Some(&shm_opts))?;
                Ok(())
            });
        }
        let mut child = child
            .spawn()
            .unwrap_or_else(|e| panic!("creating podman's namespaces failed: {e}"));
        let proc = PathBuf::from(format!("/proc/{}/ns", child.id()));
        let net = File::open(proc.join("net")).unwrap();
        let mnt = File::open(proc.join("mnt")).unwrap();
        drop(child.stdin.take());
        child.wait().unwrap();
        let meta = mnt.metadata().unwrap();
        let ns = Namespaces {
            net: NetNs::from_fd(net.into(), "podman's host namespace"),
            mnt_id: (meta.dev(), meta.ino()),
            mnt: mnt.into(),
        };
        // podman's host is a test host like any other: a real host's settings.
        HostSettings::default().apply(&ns.net);
        let mut nl = ns.net.netlink().unwrap();
        nl.link_set_up(twill_kernel::LinkId::Index(1)).unwrap();
        ns
    }

    /// Makes `cmd` start inside the network namespace, and also the mount namespace when
    /// `mounts` is set. The test's own thread never moves.
    pub fn enter(&self, cmd: &mut Command, mounts: bool) {
        let net = self.net.as_fd().as_raw_fd();
        let mnt = self.mnt.as_raw_fd();
        // SAFETY: runs in the forked, single-threaded child before exec and only calls
        // setns(2) (async-signal-safe) on descriptors the parent keeps open during the spawn.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(net, libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if mounts && libc::setns(mnt, libc::CLONE_NEWNS) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        if mounts {
            // Entering a mount namespace resets the working directory to its root.
            cmd.current_dir("/");
        }
    }

    /// Processes living in the private mount namespace (conmon, containers, podman).
    pub fn processes(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return pids;
        };
        for e in entries.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            // Unreadable (gone, or a zombie without namespaces): not ours to worry about.
            if let Ok(m) = std::fs::metadata(e.path().join("ns/mnt")) {
                if (m.dev(), m.ino()) == self.mnt_id {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

impl Binds {
    fn pairs(&self) -> [(&Path, &Path); 3] {
        [
            (&self.run, Path::new("/run")),
            (&self.var_lib, Path::new("/var/lib")),
            (&self.etc_containers, Path::new("/etc/containers")),
        ]
    }
}
