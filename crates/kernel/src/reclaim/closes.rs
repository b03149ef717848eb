//! Netfilter sockets closed by a detached process at the end of a short-lived one.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::detach::spawn_detached;
use super::keeper;

static ENABLED: AtomicBool = AtomicBool::new(false);
static DEFERRED: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

/// Makes this process keep a reference to every netfilter socket it drops until
/// [`hand_off`], which gives the last references to a detached process. For short-lived
/// processes only (a plugin, one CLI command): the sockets stay open until then.
pub fn defer_socket_closes() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Called as a netfilter socket is dropped: keeps a duplicate of it when closes are deferred.
pub(crate) fn keep_until_hand_off(fd: BorrowedFd<'_>) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    // A failed duplicate only means this socket's close waits here, as it would anyway.
    if let (Ok(dup), Ok(mut kept)) = (fd.try_clone_to_owned(), DEFERRED.lock()) {
        kept.push(dup);
    }
}

/// Gives the deferred sockets' last references to the namespace's keeper (or, when it cannot
/// be reached, to a detached process of their own), which closes them and pays nf_tables'
/// wait; returns at once. Call it last, once the process's output is written, while the
/// process has a single thread. If no process can be started, the sockets close here: slower,
/// equally correct.
pub fn hand_off() {
    let kept = match DEFERRED.lock() {
        Ok(mut kept) => std::mem::take(&mut *kept),
        Err(_) => return,
    };
    if kept.is_empty() {
        return;
    }
    let mut keep: Vec<RawFd> = kept.iter().map(AsRawFd::as_raw_fd).collect();
    if keeper::give(&keep).is_err() {
        // SAFETY: the work makes no call at all; the worker's exit closes what it kept.
        let _ = unsafe { spawn_detached(&mut keep, || 0) };
    }
    drop(kept);
}
