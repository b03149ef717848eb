//! The container's network namespace (`CNI_NETNS`): opening it, working inside it, and
//! telling "gone" apart from "broken" for DEL.
//!
//! A plugin touches the container through one netlink socket opened inside the namespace
//! (on a short-lived thread, see `twill_kernel::NetNs::run`) and then used from the main
//! thread; sysctls, which `/proc` resolves by the opening thread's namespace, are written on
//! that same thread, so entering costs one thread spawn per command.

use std::path::Path;

use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Code};
use twill_kernel::{NetNs, Netlink};

use super::error::kernel;

fn invalid(path: &Path, why: impl std::fmt::Display) -> CniError {
    CniError::new(
        Code::INVALID_NETNS,
        format!(
            "failed to open netns {:?}: {why}",
            path.display().to_string()
        ),
    )
}

/// `CNI_NETNS`, required for ADD and CHECK (the entry point has checked it is set).
pub fn path(args: &CmdArgs) -> Result<&Path, CniError> {
    args.netns
        .as_deref()
        .ok_or_else(|| CniError::invalid_environment("CNI_NETNS is required"))
}

/// Opens the container's namespace for ADD or CHECK. Refuses (code 8) a path that is
/// missing or not a network namespace, and the plugin's own namespace unless
/// `CNI_NETNS_OVERRIDE` says that is meant: configuring the host as if it were a container
/// is never what a runtime wants.
pub fn open(args: &CmdArgs) -> Result<NetNs, CniError> {
    let path = path(args)?;
    let ns = NetNs::open(path).map_err(|e| invalid(path, e))?;
    let theirs = ns.identity().map_err(|e| invalid(path, e))?;
    let ours = NetNs::current()
        .and_then(|own| own.identity())
        .map_err(kernel)?;
    if theirs == ours && !args.netns_override {
        return Err(invalid(path, "it is the plugin's own network namespace"));
    }
    Ok(ns)
}

/// Runs `f` on a thread inside `ns` after opening a netlink socket there; returns both.
pub fn enter<T: Send>(
    ns: &NetNs,
    path: &Path,
    f: impl FnOnce() -> T + Send,
) -> Result<(Netlink, T), CniError> {
    let (socket, value) = ns
        .run(|| (Netlink::open(), f()))
        .map_err(|e| enter_error(path, e))?;
    Ok((socket.map_err(kernel)?, value))
}

fn enter_error(path: &Path, e: twill_kernel::Error) -> CniError {
    if e.errno().map(|n| n.raw()) == Some(libc::EINVAL) {
        return invalid(path, "not a network namespace");
    }
    kernel(e)
}

/// For DEL: the namespace with a socket inside it, or `None` when it is gone — the path
/// does not exist, or is no longer a namespace (the file a runtime leaves behind once the
/// namespace's bind mount is gone). Both mean there is nothing left to clean up in it.
pub fn open_for_del(path: &Path) -> Result<Option<(NetNs, Netlink)>, CniError> {
    open_unless_gone(path, Netlink::open)
}

/// For a DEL that deletes an interface: as [`open_for_del`], with a second socket to watch
/// the kernel's announcements while a detached process deletes it (`super::unlink`); both
/// are opened on one visit to the namespace.
pub fn open_for_unlink(path: &Path) -> Result<Option<(NetNs, Netlink, Netlink)>, CniError> {
    Ok(open_unless_gone(path, socket_pair)?.map(|(ns, (nl, watch))| (ns, nl, watch)))
}

/// Two sockets in the calling thread's namespace: one for requests, one to watch.
pub fn socket_pair() -> twill_kernel::Result<(Netlink, Netlink)> {
    Ok((Netlink::open()?, Netlink::open()?))
}

fn open_unless_gone<T: Send>(
    path: &Path,
    open: fn() -> twill_kernel::Result<T>,
) -> Result<Option<(NetNs, T)>, CniError> {
    let ns = match NetNs::open(path) {
        Ok(ns) => ns,
        Err(e) if e.errno().map(|n| n.raw()) == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(kernel(e)),
    };
    match ns.run(open) {
        Ok(Ok(opened)) => Ok(Some((ns, opened))),
        Ok(Err(e)) => Err(kernel(e)),
        Err(e) if e.errno().map(|n| n.raw()) == Some(libc::EINVAL) => Ok(None),
        Err(e) => Err(kernel(e)),
    }
}
