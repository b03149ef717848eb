//! Deleting a link and returning once the kernel has announced its removal, before the
//! kernel's reclamation of the device is over.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use super::detach::spawn_detached;
use crate::error::{Errno, Error, ErrorKind, Result};
use crate::nl::consts::{NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST, RTM_DELLINK};
use crate::nl::message::HEADER_LEN;
use crate::nl::reply::KernelError;
use crate::nl::{MessageBuilder, Messages, Netlink};

/// `RTNLGRP_LINK`: the multicast group of link announcements.
const RTNLGRP_LINK: u32 = 1;

/// The longest a deletion is waited for before it is reported as failed: the kernel's own
/// wait is tens of milliseconds, so this only bounds a kernel that never answers.
const DEADLINE: Duration = Duration::from_secs(60);

/// A link whose removal the caller waits to see announced, and a socket (subscribed here) in
/// the link's namespace on which to see it.
#[derive(Debug)]
pub struct Watch<'a> {
    /// A socket in the namespace the link lives in, not used by anyone else meanwhile.
    pub socket: &'a mut Netlink,
    /// The link's index in that namespace.
    pub index: u32,
}

/// Deletes link `index` through `requester` — a socket in the link's namespace, given up to a
/// detached process that makes the request and waits for the kernel's acknowledgement — and
/// returns once each of `watches` has seen its link's `RTM_DELLINK`: the kernel announces
/// a link only after it is unlisted and its addresses, routes and neighbours are gone. For a
/// veth, watch both ends: the kernel announces them one after the other.
///
/// If announcements were lost (a listener's buffer overran), the requester's answer decides,
/// as it does when the request fails: a link already gone is a not-found error, as from
/// [`Netlink::link_delete`].
pub fn delete_link_unwaited(
    requester: Netlink,
    index: u32,
    watches: &mut [Watch<'_>],
) -> Result<()> {
    let object = format!("link {index}");
    let fail = |e: io::Error| Error::io("delete link", object.clone(), e);
    for w in watches.iter_mut() {
        w.socket.subscribe(RTNLGRP_LINK).map_err(fail)?;
    }
    let mut requester = requester;
    let request = dellink_request(&mut requester, index)?;
    let (answer, answer_w) = pipe().map_err(fail)?;
    let socket = requester.as_fd().as_raw_fd();
    let pipe_w = answer_w.as_raw_fd();
    let mut keep = [socket, pipe_w];
    // SAFETY: the work only sends, receives and writes with buffers allocated before the fork.
    unsafe { spawn_detached(&mut keep, || request_and_report(socket, &request, pipe_w)) }
        .map_err(fail)?;
    // Our copies: the worker holds its own.
    drop(requester);
    drop(answer_w);

    let mut seen = vec![false; watches.len()];
    let start = Instant::now();
    loop {
        if seen.iter().all(|s| *s) {
            return Ok(());
        }
        let mut fds: Vec<libc::pollfd> = watches
            .iter()
            .zip(&seen)
            .filter(|(_, s)| !**s)
            .map(|(w, _)| pollfd(w.socket.as_fd().as_raw_fd()))
            .collect();
        fds.push(pollfd(answer.as_raw_fd()));
        let left = DEADLINE.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(fail(io::Error::from(io::ErrorKind::TimedOut)));
        }
        poll(&mut fds, left).map_err(fail)?;
        if let Some(code) = read_answer(&answer, &fds).map_err(fail)? {
            return match code {
                0 => Ok(()),
                errno => Err(kernel_error(&object, errno)),
            };
        }
        for (w, s) in watches.iter_mut().zip(seen.iter_mut()) {
            if !*s {
                *s = announced(w).map_err(fail)?;
            }
        }
    }
}

/// The request, encoded before the fork so the worker allocates nothing.
fn dellink_request(requester: &mut Netlink, index: u32) -> Result<Vec<u8>> {
    let mut req = MessageBuilder::new(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
    // struct ifinfomsg: family, pad, type, index, flags, change.
    let mut ifinfo = [0u8; 16];
    if let Some(slot) = ifinfo.get_mut(4..8) {
        slot.copy_from_slice(&index.to_ne_bytes());
    }
    req.push_bytes(&ifinfo);
    let seq = requester.next_seq();
    req.finish(seq, requester.port())
        .map_err(|e| Error::new("delete link", format!("link {index}"), ErrorKind::Wire(e)))
}

/// The worker: sends the request, waits for the kernel's answer and writes its errno (0 for
/// success) to the pipe. Raw system calls only.
fn request_and_report(socket: RawFd, request: &[u8], pipe_w: RawFd) -> libc::c_int {
    let mut reply = [0u8; 512];
    let code = loop {
        // SAFETY: `request` is valid for reads of its length.
        let sent = unsafe { libc::send(socket, request.as_ptr().cast(), request.len(), 0) };
        if sent >= 0 {
            break 0;
        }
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        if errno != libc::EINTR {
            break errno;
        }
    };
    let code = if code != 0 {
        code
    } else {
        loop {
            // SAFETY: `reply` is valid for writes of its length.
            let n = unsafe { libc::recv(socket, reply.as_mut_ptr().cast(), reply.len(), 0) };
            if n < 0 {
                let errno = io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
                if errno == libc::EINTR {
                    continue;
                }
                break errno;
            }
            break ack_code(&reply);
        }
    };
    let bytes = code.to_ne_bytes();
    // SAFETY: `bytes` is valid for reads of its length. Nobody reading is not an error.
    unsafe { libc::write(pipe_w, bytes.as_ptr().cast(), bytes.len()) };
    0
}

/// The errno of an acknowledgement (0 for success), read from a datagram's first message.
fn ack_code(reply: &[u8]) -> libc::c_int {
    let field = |at: usize| {
        reply
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
    };
    let msg_type = reply
        .get(4..6)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(u16::from_ne_bytes);
    match (msg_type, field(HEADER_LEN).map(i32::from_ne_bytes)) {
        (Some(NLMSG_ERROR), Some(code)) => code.checked_neg().unwrap_or(libc::EIO),
        _ => libc::EIO,
    }
}

/// Reads what the kernel announced on `w`; whether the link's removal was among it. A
/// listener that overran has lost announcements: it stops counting, and the worker's answer
/// decides.
fn announced(w: &mut Watch<'_>) -> io::Result<bool> {
    loop {
        let datagram = match w.socket.recv_ready() {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(false),
            Err(e) => return Err(e),
        };
        for msg in Messages::new(datagram).flatten() {
            let payload = msg.payload();
            let link = payload
                .get(4..8)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_ne_bytes);
            if msg.msg_type() == RTM_DELLINK && link == Some(w.index) {
                return Ok(true);
            }
        }
    }
}

/// The worker's errno once it has written it; `None` while it has not. A worker that exited
/// without answering is an error.
fn read_answer(answer: &OwnedFd, fds: &[libc::pollfd]) -> io::Result<Option<libc::c_int>> {
    let ready = fds.last().is_some_and(|p| p.revents != 0);
    if !ready {
        return Ok(None);
    }
    let mut bytes = [0u8; 4];
    // SAFETY: `bytes` is valid for writes of its length.
    let n = unsafe { libc::read(answer.as_raw_fd(), bytes.as_mut_ptr().cast(), bytes.len()) };
    match n {
        4 => Ok(Some(i32::from_ne_bytes(bytes))),
        n if n < 0 => Err(io::Error::last_os_error()),
        _ => Err(io::Error::other(
            "the deleting process ended without an answer",
        )),
    }
}

fn kernel_error(object: &str, errno: libc::c_int) -> Error {
    let kind = ErrorKind::Kernel(KernelError {
        errno: Errno::new(errno),
        message: None,
    });
    Error::new("delete link", object.to_owned(), kind)
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<()> {
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    loop {
        // SAFETY: `fds` is valid for reads and writes of its length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if rc >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is valid for writes of two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let [read, write] = fds;
    // SAFETY: both descriptors are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(read), OwnedFd::from_raw_fd(write)) })
}

#[cfg(test)]
mod tests {
    use super::ack_code;

    fn ack(msg_type: u16, code: i32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&36u32.to_ne_bytes());
        b.extend_from_slice(&msg_type.to_ne_bytes());
        b.extend_from_slice(&[0; 10]);
        b.extend_from_slice(&code.to_ne_bytes());
        b.extend_from_slice(&[0; 16]);
        b
    }

    #[test]
    fn the_workers_answer_is_the_acks_errno() {
        assert_eq!(ack_code(&ack(2, 0)), 0);
        assert_eq!(ack_code(&ack(2, -libc::ENODEV)), libc::ENODEV);
        // Anything but an acknowledgement, or too short to hold one, is an I/O error.
        assert_eq!(ack_code(&ack(16, 0)), libc::EIO);
        assert_eq!(ack_code(&ack(2, 0)[..18]), libc::EIO);
        assert_eq!(ack_code(&[]), libc::EIO);
        assert_eq!(ack_code(&ack(2, i32::MIN)), libc::EIO);
    }
}
