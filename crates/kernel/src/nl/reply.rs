//! Reading replies: acknowledgements, kernel errors with their extended-ACK message, and the
//! assembly of multi-part dumps.
//!
//! This is a pure state machine over received datagrams, separate from the socket, so the
//! paths that a live kernel rarely takes (an interrupted dump, a datagram of mixed sequence
//! numbers, garbage) are unit-tested with crafted bytes.

use super::attr::Attrs;
use super::consts::{
    NLMSGERR_ATTR_MSG, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK_TLVS,
    NLM_F_CAPPED, NLM_F_DUMP_INTR,
};
use super::message::{align, read_u32, Message, Messages, HEADER_LEN};
use super::WireError;
use crate::error::Errno;

/// An error the kernel returned for a request: the errno and, when the kernel gave one, its
/// extended-ACK message (for example "Invalid prefix for given prefix length").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The (positive) errno.
    pub errno: Errno,
    /// The kernel's own explanation, if it sent one.
    pub message: Option<String>,
}

/// Why a request did not succeed, before it is tied to an operation and object.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The kernel refused the request.
    #[error("{}", kernel_text(.0))]
    Kernel(KernelError),
    /// The reply could not be decoded.
    #[error("malformed reply: {0}")]
    Wire(#[from] WireError),
    /// The kernel reported lost messages on this socket.
    #[error("netlink overrun: replies were lost")]
    Overrun,
}

fn kernel_text(e: &KernelError) -> String {
    match &e.message {
        Some(msg) => format!("{} ({msg})", e.errno),
        None => e.errno.to_string(),
    }
}

/// Decodes the payload of an `NLMSG_ERROR`: `Ok(())` for an acknowledgement (error 0), the
/// kernel's error otherwise.
pub fn parse_error(msg: &Message<'_>) -> Result<Result<(), KernelError>, WireError> {
    let payload = msg.payload();
    let code = read_u32(payload, 0).ok_or(WireError::Truncated("error message"))? as i32;
    if code == 0 {
        return Ok(Ok(()));
    }
    let errno = Errno::new(code.checked_neg().unwrap_or(i32::MAX));
    let mut message = None;
    if msg.flags() & NLM_F_ACK_TLVS != 0 {
        // The echoed request follows the code: its header only when capped, else all of it.
        let echoed = if msg.flags() & NLM_F_CAPPED != 0 {
            HEADER_LEN
        } else {
            read_u32(payload, 4).map_or(HEADER_LEN, |len| align(len as usize))
        };
        let tlvs = payload.get(4 + echoed..).unwrap_or_default();
        for attr in Attrs::new(tlvs).flatten() {
            if attr.kind() == NLMSGERR_ATTR_MSG {
                message = attr.as_str().ok().map(str::to_owned);
            }
        }
    }
    Ok(Err(KernelError { errno, message }))
}

/// Progress after feeding one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The reply is not complete: receive another datagram.
    More,
    /// The reply is complete. For a dump, `interrupted` says the kernel flagged it
    /// inconsistent (`NLM_F_DUMP_INTR`) and it must be repeated.
    Done {
        /// Whether any part of the dump carried `NLM_F_DUMP_INTR`.
        interrupted: bool,
    },
}

/// Collects the reply to one request identified by its sequence number.
///
/// Messages with another sequence number (left over from an earlier request whose reply was
/// abandoned on error) are skipped. Data messages are handed to the caller's closure; the
/// reply ends at `NLMSG_DONE` (dumps), at an `NLMSG_ERROR` (acknowledgement or error), or, for
/// a plain GET without an ACK, after the first data message.
#[derive(Debug)]
pub struct ReplyReader {
    seq: u32,
    dump: bool,
    interrupted: bool,
}

impl ReplyReader {
    /// Reads the reply to request `seq`; `dump` says whether it is multi-part.
    pub fn new(seq: u32, dump: bool) -> Self {
        ReplyReader {
            seq,
            dump,
            interrupted: false,
        }
    }

    /// Feeds one received datagram; `on_data` sees each data message of this reply.
    pub fn feed(
        &mut self,
        datagram: &[u8],
        mut on_data: impl FnMut(&Message<'_>) -> Result<(), WireError>,
    ) -> Result<Progress, ReplyError> {
        for msg in Messages::new(datagram) {
            let msg = msg?;
            if msg.seq() != self.seq {
                continue;
            }
            if msg.flags() & NLM_F_DUMP_INTR != 0 {
                self.interrupted = true;
            }
            match msg.msg_type() {
                NLMSG_NOOP => {}
                NLMSG_OVERRUN => return Err(ReplyError::Overrun),
                NLMSG_ERROR => {
                    parse_error(&msg)?.map_err(ReplyError::Kernel)?;
                    return Ok(self.done());
                }
                NLMSG_DONE => {
                    // A dump may end with an error code in DONE's payload (negative errno).
                    if let Some(code) = read_u32(msg.payload(), 0).map(|c| c as i32) {
                        if code < 0 {
                            let errno = Errno::new(code.checked_neg().unwrap_or(i32::MAX));
                            let message = None;
                            return Err(ReplyError::Kernel(KernelError { errno, message }));
                        }
                    }
                    return Ok(self.done());
                }
                _ => {
                    on_data(&msg)?;
                    if !self.dump {
                        return Ok(self.done());
                    }
                }
            }
        }
        Ok(Progress::More)
    }

    fn done(&self) -> Progress {
        Progress::Done {
            interrupted: self.interrupted,
        }
    }
}
