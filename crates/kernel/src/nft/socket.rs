//! `Nftables`: a `NETLINK_NETFILTER` socket that applies batches and answers queries.

use std::io;

use super::batch::Batch;
use super::consts::{NFTA_GEN_ID, NFT_MSG_GETGEN};
use super::reply::{BatchReplies, Culprit};
use super::table::Family;
use super::wire::{be32, request, split};
use crate::error::{Error, ErrorKind, Result};
use crate::netns::NetNs;
use crate::nl::consts::NETLINK_NETFILTER;
use crate::nl::{Netlink, WireError};

/// Past these sizes the socket's buffers are enlarged before a batch is sent.
const DEFAULT_SEND_ROOM: usize = 128 * 1024;
const ACKS_IN_DEFAULT_ROOM: usize = 64;
/// Receive room per acknowledgement (an skb's true size, generously).
const ROOM_PER_ACK: usize = 1024;

/// An nf_tables socket, bound to the namespace it was opened in.
#[derive(Debug)]
pub struct Nftables {
    pub(crate) nl: Netlink,
}

impl Nftables {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Nftables> {
        Ok(Nftables {
            nl: Netlink::open_protocol(NETLINK_NETFILTER)?,
        })
    }

    /// Opens a socket inside `ns`, for use from any thread.
    pub fn open_in(ns: &NetNs) -> Result<Nftables> {
        ns.run(Nftables::open)?
    }

    /// Applies `batch` atomically. On failure nothing of it is applied, and the error
    /// names the operation and object of the first message the kernel refused.
    pub fn apply(&mut self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let begin = self.nl.next_seq();
        for _ in 0..batch.len() {
            self.nl.next_seq();
        }
        self.nl.next_seq(); // the end marker
        let commit = |kind| Error::new("commit batch", format!("of {} changes", batch.len()), kind);
        let bytes = batch
            .encode(begin, self.nl.port())
            .map_err(|e| commit(ErrorKind::Wire(e)))?;
        if bytes.len() > DEFAULT_SEND_ROOM || batch.len() > ACKS_IN_DEFAULT_ROOM {
            let recv = batch.len().saturating_mul(ROOM_PER_ACK);
            self.nl
                .reserve_buffers(bytes.len(), recv)
                .map_err(|e| commit(ErrorKind::Io(e)))?;
        }
        self.nl
            .send_raw(&bytes)
            .map_err(|e| commit(ErrorKind::Io(e)))?;

        // The kernel processed the whole batch inside `send`: every answer is queued now,
        // so reading stops at the last answer or at an empty queue, never waits.
        let mut replies = BatchReplies::new(begin, batch.len());
        while !replies.complete() {
            match self.nl.recv_ready() {
                Ok(Some(datagram)) => replies
                    .feed(datagram)
                    .map_err(|e| commit(ErrorKind::Wire(e)))?,
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(commit(ErrorKind::Overrun));
                }
                Err(e) => return Err(commit(ErrorKind::Io(e))),
            }
        }
        if let Some((culprit, e)) = replies.first_error() {
            let kind = ErrorKind::Kernel(e.clone());
            return Err(match culprit {
                Culprit::Entry(i) => match batch.entries.get(*i) {
                    Some(entry) => Error::new(entry.op, entry.object.clone(), kind),
                    None => commit(kind),
                },
                Culprit::Batch => commit(kind),
            });
        }
        if !replies.complete() {
            let missing = batch.len() - replies.answered();
            let e = io::Error::other(format!("{missing} changes were not acknowledged"));
            return Err(commit(ErrorKind::Io(e)));
        }
        Ok(())
    }

    /// The ruleset generation: it changes with every committed batch in the namespace.
    pub fn generation(&mut self) -> Result<u32> {
        let req = request(NFT_MSG_GETGEN, 0, Family::Unspec);
        self.nl
            .request_one("get", &"nf_tables generation", req, |msg| {
                let (_, attrs) = split(msg)?;
                for attr in attrs {
                    let attr = attr?;
                    if attr.kind() == NFTA_GEN_ID {
                        return be32(&attr);
                    }
                }
                Err(WireError::Missing("generation id"))
            })
    }
}
