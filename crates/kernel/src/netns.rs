//! Network namespaces: open one, run work inside one, create and delete named ones.
//!
//! The calling thread never changes namespace. Work that must happen inside a namespace
//! (opening a socket, reading `/proc/sys/net`) runs on a short-lived thread that enters the
//! namespace with `setns` and ends with the work, so no thread is ever left in the wrong
//! namespace — not on error, not on panic — and no other code observes a switch. What the
//! thread creates keeps its namespace: a socket opened there can be used from any thread.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::nl::Netlink;

/// Where `ip netns` keeps named namespaces.
pub const DEFAULT_DIR: &str = "/run/netns";

/// An open network namespace (an `nsfs` file descriptor).
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
    /// How errors name this namespace: its path, or "current namespace".
    label: String,
}

impl NetNs {
    /// Opens the namespace at `path` (`/run/netns/NAME`, `/proc/PID/ns/net`, …).
    pub fn open(path: &Path) -> Result<NetNs> {
        let label = format!("{:?}", path.display().to_string());
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| Error::io("open network namespace", label.clone(), e))?;
        Ok(NetNs {
            fd: file.into(),
            label,
        })
    }

    /// Opens the calling thread's own namespace.
    pub fn current() -> Result<NetNs> {
        let mut ns = NetNs::open(Path::new("/proc/thread-self/ns/net"))?;
        ns.label = "current network namespace".to_owned();
        Ok(ns)
    }

    /// Wraps an already open namespace descriptor; `label` names it in errors.
    pub fn from_fd(fd: OwnedFd, label: impl Into<String>) -> NetNs {
        NetNs {
            fd,
            label: label.into(),
        }
    }

    /// The (device, inode) pair that identifies the namespace: two descriptors refer to the
    /// same namespace exactly when these are equal.
    pub fn identity(&self) -> Result<(u64, u64)> {
        let file = fs::File::from(self.fd.try_clone().map_err(|e| self.io("inspect", e))?);
        let meta = file.metadata().map_err(|e| self.io("inspect", e))?;
        use std::os::unix::fs::MetadataExt;
        Ok((meta.dev(), meta.ino()))
    }

    /// Runs `f` on a new thread inside this namespace and returns its value. The calling
    /// thread's namespace is never touched. A panic in `f` is resumed on the calling thread.
    pub fn run<T: Send, F: FnOnce() -> T + Send>(&self, f: F) -> Result<T> {
        let fd = self.fd.as_fd();
        std::thread::scope(|scope| {
            let work = move || -> Result<T> {
                enter(fd).map_err(|e| self.io("enter", e))?;
                Ok(f())
            };
            let handle = std::thread::Builder::new()
                .name("twill-netns".to_owned())
                .spawn_scoped(scope, work)
                .map_err(|e| self.io("start thread for", e))?;
            match handle.join() {
                Ok(result) => result,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        })
    }

    /// Opens a netlink socket inside this namespace, for use from any thread.
    pub fn netlink(&self) -> Result<Netlink> {
        self.run(Netlink::open)?
    }

    fn io(&self, op: &'static str, e: io::Error) -> Error {
        let op = match op {
            "enter" => "enter network namespace",
            "inspect" => "inspect network namespace",
            _ => "start thread for network namespace",
        };
        Error::io(op, self.label.clone(), e)
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Moves the calling thread into the namespace of `fd`. Only ever called on threads this
/// module starts and ends.
fn enter(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns(2) on a valid descriptor; it affects only the calling thread.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Serialises preparing a directory and creating a namespace's file in it, against making it
/// a shared mount point twice and against [`NetNsDir::remove_if_empty`] removing it between
/// the two.
static DIR_SETUP: Mutex<()> = Mutex::new(());

/// A directory of named namespaces, each a file with the namespace bind-mounted on it (what
/// `ip netns add` makes under `/run/netns`).
#[derive(Debug, Clone)]
pub struct NetNsDir {
    dir: PathBuf,
    shared: bool,
}

impl Default for NetNsDir {
    fn default() -> Self {
        NetNsDir::new(DEFAULT_DIR)
    }
}

impl NetNsDir {
    /// Named namespaces under `dir`, which is made a shared mount point (as `ip netns` does
    /// for /run/netns) so that mount namespaces created later see namespaces added after.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        NetNsDir {
            dir: dir.into(),
            shared: true,
        }
    }

    /// Named namespaces under `dir`, which stays a plain directory: for namespaces only this
    /// process's children use (tests, benchmarks), so that nothing outlives them as a mount.
    pub fn unshared(dir: impl Into<PathBuf>) -> Self {
        NetNsDir {
            dir: dir.into(),
            shared: false,
        }
    }

    /// Removes the directory if no namespace is left in it; anything else is left alone.
    pub fn remove_if_empty(&self) {
        let _guard = DIR_SETUP
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // rmdir fails on a directory with entries, which is the check; a shared directory
        // is also a mount point, which stays as `ip netns` leaves /run/netns.
        if !self.shared {
            let _ = fs::remove_dir(&self.dir);
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of namespace `name`; fails for names that are not a single path component.
    pub fn path(&self, name: &str) -> Result<PathBuf> {
        let bad = name.is_empty()
            || name.len() > 255
            || name == "."
            || name == ".."
            || name.contains(['/', '\0']);
        if bad {
            let why = "name: must be one path component of 1 to 255 bytes";
            return Err(Error::invalid(
                "use network namespace",
                format!("{name:?}"),
                why,
            ));
        }
        Ok(self.dir.join(name))
    }

    /// Opens namespace `name`.
    pub fn open(&self, name: &str) -> Result<NetNs> {
        NetNs::open(&self.path(name)?)
    }

    /// Creates namespace `name` and returns it open. Fails with `EEXIST` if the name is
    /// taken. The directory is created and made a shared mount point if needed, so the
    /// namespace stays visible in mount namespaces created later (container runtimes).
    pub fn create(&self, name: &str) -> Result<NetNs> {
        let path = self.path(name)?;
        let object = format!("{name:?}");
        let fail = |e| Error::io("create network namespace", object.clone(), e);
        {
            let _guard = DIR_SETUP
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.prepare_dir().map_err(fail)?;
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o000)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
                .map_err(fail)?;
        }
        let bound = std::thread::scope(|scope| {
            let handle = std::thread::Builder::new()
                .name("twill-netns-new".to_owned())
                .spawn_scoped(scope, || bind_new_namespace(&path))?;
            handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
        });
        if let Err(e) = bound {
            let _ = fs::remove_file(&path);
            return Err(fail(e));
        }
        NetNs::open(&path)
    }

    /// Deletes namespace `name`: unmounts and removes its file. The namespace itself lives on
    /// while something (a process, an open descriptor, a socket) still holds it.
    pub fn delete(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        let fail = |e| Error::io("delete network namespace", format!("{name:?}"), e);
        let cpath = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| fail(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        // SAFETY: umount2(2) with a valid NUL-terminated path.
        if unsafe { libc::umount2(cpath.as_ptr(), libc::MNT_DETACH) } < 0 {
            let e = io::Error::last_os_error();
            // EINVAL: not a mount point (a half-created namespace); still remove the file.
            if e.raw_os_error() != Some(libc::EINVAL) && e.raw_os_error() != Some(libc::ENOENT) {
                return Err(fail(e));
            }
        }
        fs::remove_file(&path).map_err(fail)
    }

    /// Names of the namespaces in the directory (none if it does not exist).
    pub fn list(&self) -> Result<Vec<String>> {
        let fail = |e| Error::io("list network namespaces in", format!("{:?}", self.dir), e);
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(fail(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(fail)?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    /// Creates the directory and makes it a shared mount point (bind-mounting it onto itself
    /// first if it is not a mount point), as `ip netns add` does.
    /// Creates the directory and, for a shared one, makes it a shared mount point. Called
    /// with `DIR_SETUP` held.
    fn prepare_dir(&self) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&self.dir)?;
        if !self.shared {
            return Ok(());
        }
        let dir = CString::new(self.dir.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        match mount(None, &dir, libc::MS_SHARED | libc::MS_REC) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                mount(Some(&dir), &dir, libc::MS_BIND | libc::MS_REC)?;
                mount(None, &dir, libc::MS_SHARED | libc::MS_REC)
            }
            other => other,
        }
    }
}

/// On the calling (fresh, disposable) thread: unshares a new network namespace and
/// bind-mounts it onto `path`, which keeps it alive after the thread ends.
fn bind_new_namespace(path: &Path) -> io::Result<()> {
    // SAFETY: unshare(2) with CLONE_NEWNET affects only the calling thread, which ends
    // right after this function.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let target = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let source = c"/proc/thread-self/ns/net";
    mount(Some(source), &target, libc::MS_BIND)
}

fn mount(source: Option<&CStr>, target: &CStr, flags: libc::c_ulong) -> io::Result<()> {
    let source = source.map_or(c"none".as_ptr(), |s| s.as_ptr());
    // SAFETY: mount(2) with valid NUL-terminated strings and no data argument.
    let rc = unsafe {
        libc::mount(
            source,
            target.as_ptr(),
            c"none".as_ptr(),
            flags,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
