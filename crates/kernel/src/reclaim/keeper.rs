//! The keeper: one process per network namespace that holds the last references of netfilter
//! sockets handed to it while plugins come and go, and closes them together once the node has
//! been quiet for a moment.
//!
//! Closing a netfilter socket makes nf_tables flush its pending destroy work — an RCU grace
//! period — while holding the namespace's commit mutex, so a close during a burst of DELs
//! stalls every other plugin's commit behind it, and the burst pays one grace period per
//! close, in series. The keeper closes nothing while sockets keep arriving: the kernel's
//! freeing runs on its own meanwhile (it is scheduled at each commit, not at the close), and
//! when the burst is over one close waits for what is left and the others find nothing to
//! wait for. It holds at most [`CAPACITY`] sockets (then closes them as one batch) and exits
//! [`IDLE`] after the last hand-off, so nothing outlives its purpose.
//!
//! It listens on an abstract unix socket (per network namespace, no file to clean up). A
//! listener of another user could pose as the keeper and collect privileged sockets, so a
//! client hands sockets only to a keeper running as its own user (`SO_PEERCRED`).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::detach::spawn_detached;

/// The keeper's abstract socket name (a leading NUL: not a file).
const NAME: &[u8] = b"\0twill-reclaim-keeper-1";

/// How long the keeper waits for another hand-off before it closes everything and exits.
const IDLE: Duration = Duration::from_millis(500);

/// The most sockets the keeper holds before it closes them as one batch.
const CAPACITY: usize = 1024;

/// The most descriptors one hand-off carries (a plugin defers a handful).
pub(crate) const PER_HAND_OFF: usize = 64;

/// Hands `fds` to this namespace's keeper, starting one when there is none. An error means
/// the caller must see to the closes itself.
pub(crate) fn give(fds: &[RawFd]) -> io::Result<()> {
    if fds.is_empty() {
        return Ok(());
    }
    if fds.len() > PER_HAND_OFF {
        return Err(io::Error::other("too many descriptors for one hand-off"));
    }
    for _ in 0..3 {
        match connect() {
            Ok(conn) => {
                check_peer(&conn)?;
                return send_fds(&conn, fds);
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNREFUSED | libc::ENOENT)) => {
                start()?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no keeper could be reached"))
}

fn socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn address() -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain old data; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(NAME) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + NAME.len();
    (addr, len as libc::socklen_t)
}

fn connect() -> io::Result<OwnedFd> {
    let conn = socket()?;
    at_name(&conn, libc::connect)?;
    Ok(conn)
}

/// Calls `op` (`bind` or `connect`) on `fd` with the keeper's address.
fn at_name(
    fd: &OwnedFd,
    op: unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int,
) -> io::Result<()> {
    let (addr, len) = address();
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes for the whole call.
    let rc = unsafe {
        op(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Refuses a keeper that runs as another user.
fn check_peer(conn: &OwnedFd) -> io::Result<()> {
    // SAFETY: ucred is plain old data; all-zero is valid.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of a ucred and its size.
    let rc = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if cred.uid != unsafe { libc::geteuid() } {
        return Err(io::Error::other(
            "the keeper's socket belongs to another user",
        ));
    }
    Ok(())
}

/// Control-message space for [`PER_HAND_OFF`] descriptors, aligned for `cmsghdr`.
type Control = [u64; 40];

/// A one-byte message carrying `control` (the descriptors travel in it).
fn message(iov: &mut libc::iovec, control: &mut Control, control_len: usize) -> libc::msghdr {
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control_len;
    msg
}

fn send_fds(conn: &OwnedFd, fds: &[RawFd]) -> io::Result<()> {
    let mut control: Control = [0; 40];
    let bytes = size_of_val(fds);
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(bytes as u32) } as usize;
    let msg = message(&mut iov, &mut control, space);
    // SAFETY: `msg` points at `control`, which has room for the header and `bytes` of data
    // (PER_HAND_OFF descriptors at most, checked by the caller).
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() {
            return Err(io::Error::other("no room for the control message"));
        }
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(bytes as u32) as usize;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast(), fds.len());
    }
    loop {
        // SAFETY: `msg` and everything it points at are valid for the call.
        let n = unsafe { libc::sendmsg(conn.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Binds the keeper's name and starts the keeper on it. A name already bound means another
/// keeper is there (or just starting): the caller connects again.
fn start() -> io::Result<()> {
    let listener = socket()?;
    if let Err(e) = at_name(&listener, libc::bind) {
        return match e.raw_os_error() {
            Some(libc::EADDRINUSE) => Ok(()),
            _ => Err(e),
        };
    }
    // SAFETY: listen on our own bound socket.
    if unsafe { libc::listen(listener.as_raw_fd(), 128) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = listener.as_raw_fd();
    let mut keep = [fd];
    // SAFETY: the keeper's loop makes only raw system calls on stack buffers.
    unsafe { spawn_detached(&mut keep, || keep_until_idle(fd)) }
    // Our copy of the listener closes here; the keeper's stays bound.
}

/// The keeper's loop: accept hand-offs, hold what they carry, and close it all after
/// [`IDLE`] without one. Raw system calls on stack buffers only (it runs in a forked child).
fn keep_until_idle(listener: RawFd) -> libc::c_int {
    let mut held: [RawFd; CAPACITY] = [-1; CAPACITY];
    let mut count = 0usize;
    let idle_ms = IDLE.as_millis() as libc::c_int;
    loop {
        let mut pfd = libc::pollfd {
            fd: listener,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, idle_ms) };
        if rc == 0 {
            break;
        }
        if rc < 0 {
            continue;
        }
        // SAFETY: accept on our listener; null address arguments are allowed.
        let conn = unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if conn < 0 {
            continue;
        }
        if count + PER_HAND_OFF > CAPACITY {
            close_all(&mut held, &mut count);
        }
        receive(conn, &mut held, &mut count);
        // SAFETY: closing the connection we accepted.
        unsafe { libc::close(conn) };
    }
    // Unbind first: a client arriving from now on starts a new keeper.
    // SAFETY: closing our own listener.
    unsafe { libc::close(listener) };
    close_all(&mut held, &mut count);
    0
}

fn receive(conn: RawFd, held: &mut [RawFd; CAPACITY], count: &mut usize) {
    let mut control: Control = [0; 40];
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut msg = message(&mut iov, &mut control, size_of::<Control>());
    // SAFETY: `msg` and its buffers are valid; received descriptors are close-on-exec.
    let n = unsafe { libc::recvmsg(conn, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return;
    }
    // SAFETY: walking the control messages the kernel wrote into `control`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let header = libc::CMSG_LEN(0) as usize;
                let fds = ((*cmsg).cmsg_len as usize).saturating_sub(header) / size_of::<RawFd>();
                for i in 0..fds {
                    let fd = data.add(i).read_unaligned();
                    match held.get_mut(*count) {
                        Some(slot) => {
                            *slot = fd;
                            *count += 1;
                        }
                        None => {
                            libc::close(fd);
                        }
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
}

fn close_all(held: &mut [RawFd; CAPACITY], count: &mut usize) {
    for fd in held.iter_mut().take(*count) {
        // SAFETY: closing a descriptor this process received and owns.
        unsafe { libc::close(*fd) };
        *fd = -1;
    }
    *count = 0;
}
