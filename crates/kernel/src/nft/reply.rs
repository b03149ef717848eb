//! Reading a batch's answers: one acknowledgement or error per change message, matched by
//! sequence number, plus possibly one error about the batch as a whole (answered with the
//! begin marker's sequence number, e.g. when the commit itself fails).
//!
//! Pure, so the paths a healthy kernel rarely takes are unit-tested with crafted bytes.

use crate::nl::consts::NLMSG_ERROR;
use crate::nl::reply::{parse_error, KernelError};
use crate::nl::{Messages, WireError};

/// Which message an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Culprit {
    /// The batch as a whole.
    Batch,
    /// Change message `i` (0-based).
    Entry(usize),
}

/// Collects the answers to a batch whose begin marker had sequence `begin_seq` and which
/// held `count` change messages.
#[derive(Debug)]
pub(crate) struct BatchReplies {
    begin_seq: u32,
    count: usize,
    answered: Vec<bool>,
    errors: Vec<(Culprit, KernelError)>,
}

impl BatchReplies {
    pub(crate) fn new(begin_seq: u32, count: usize) -> BatchReplies {
        BatchReplies {
            begin_seq,
            count,
            answered: vec![false; count],
            errors: Vec::new(),
        }
    }

    /// Feeds one datagram. Messages of other sequence numbers are left-overs of an
    /// earlier request and skipped.
    pub(crate) fn feed(&mut self, datagram: &[u8]) -> Result<(), WireError> {
        for msg in Messages::new(datagram) {
            let msg = msg?;
            if msg.msg_type() != NLMSG_ERROR {
                continue;
            }
            let offset = msg.seq().wrapping_sub(self.begin_seq) as usize;
            let culprit = match offset {
                0 => Culprit::Batch,
                n if n <= self.count => Culprit::Entry(n - 1),
                _ => continue,
            };
            let result = parse_error(&msg)?;
            if let Culprit::Entry(i) = culprit {
                if let Some(slot) = self.answered.get_mut(i) {
                    *slot = true;
                }
            }
            if let Err(e) = result {
                self.errors.push((culprit, e));
            }
        }
        Ok(())
    }

    /// Whether every change message has been answered.
    pub(crate) fn complete(&self) -> bool {
        self.answered.iter().all(|&a| a)
    }

    /// How many change messages were answered.
    pub(crate) fn answered(&self) -> usize {
        self.answered.iter().filter(|&&a| a).count()
    }

    /// The error to report: the first message the kernel refused (later errors in an
    /// aborted batch are usually its consequences), else a batch-level error.
    pub(crate) fn first_error(&self) -> Option<&(Culprit, KernelError)> {
        self.errors
            .iter()
            .filter(|(c, _)| matches!(c, Culprit::Entry(_)))
            .min_by_key(|(c, _)| match c {
                Culprit::Entry(i) => *i,
                Culprit::Batch => 0,
            })
            .or_else(|| self.errors.first())
    }
}
