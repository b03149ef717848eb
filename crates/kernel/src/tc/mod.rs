//! Traffic control over rtnetlink: queueing disciplines ([`qdisc`]: tbf, ingress, clsact),
//! classifiers ([`filter`]: u32 with actions, mirred among them) and the `ifb` link kind
//! ([`ifb`]) that egress shaping redirects a device's ingress into.
//!
//! Every object has the same wire shape: a `struct tcmsg` ([`TcMsg`]) naming the device and
//! the object's handle and parent, then `TCA_KIND` and kind-specific `TCA_OPTIONS`. Values
//! follow the crate's pattern: `parse(payload)` from a dump, `emit(&mut MessageBuilder)` for
//! a request, operations as methods on [`crate::Netlink`].

pub mod filter;
pub mod ifb;
pub mod qdisc;
pub mod tbf;

#[cfg(test)]
mod tests;

pub use filter::{Action, Filter, Mirred, U32Key, U32};
pub use ifb::{IfbLink, NewIfb};
pub use qdisc::{Qdisc, QdiscKind};
pub use tbf::Tbf;

use crate::nl::message::read_u32;
use crate::nl::{MessageBuilder, WireError};

/// Length of `struct tcmsg`.
pub const TCMSG_LEN: usize = 20;

/// Create or replace a qdisc.
pub const RTM_NEWQDISC: u16 = 36;
/// Delete a qdisc.
pub const RTM_DELQDISC: u16 = 37;
/// Get or dump qdiscs.
pub const RTM_GETQDISC: u16 = 38;
/// Create a filter.
pub const RTM_NEWTFILTER: u16 = 44;
/// Delete a filter.
pub const RTM_DELTFILTER: u16 = 45;
/// Dump filters.
pub const RTM_GETTFILTER: u16 = 46;

/// `TCA_KIND`: the qdisc, filter or action kind as a string.
pub const TCA_KIND: u16 = 1;
/// `TCA_OPTIONS`: kind-specific nested attributes.
pub const TCA_OPTIONS: u16 = 2;

/// Parent of a device's root qdisc (`TC_H_ROOT`).
pub const HANDLE_ROOT: u32 = 0xFFFF_FFFF;
/// Parent of the ingress and clsact qdiscs (`TC_H_INGRESS`, the same as `TC_H_CLSACT`).
pub const HANDLE_INGRESS: u32 = 0xFFFF_FFF1;
/// The handle the ingress and clsact qdiscs always have (`ffff:`).
pub const INGRESS_HANDLE: u32 = 0xFFFF_0000;

/// `ETH_P_ALL`: a filter protocol matching every packet.
pub const ETH_P_ALL: u16 = 0x0003;

/// A handle from its major and minor numbers, `major:minor` in tc's notation.
pub const fn handle(major: u16, minor: u16) -> u32 {
    ((major as u32) << 16) | minor as u32
}

/// `struct tcmsg`: the fixed header of every traffic-control message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcMsg {
    /// The device's interface index.
    pub ifindex: u32,
    /// The object's handle (for a filter, kind-specific; 0 lets the kernel choose).
    pub handle: u32,
    /// The parent qdisc or class.
    pub parent: u32,
    /// For filters: priority in the upper 16 bits, protocol (network order) in the lower.
    pub info: u32,
}

impl TcMsg {
    /// Decodes the header at the start of a message payload.
    pub fn parse(buf: &[u8]) -> Result<TcMsg, WireError> {
        let short = || WireError::Truncated("tcmsg");
        Ok(TcMsg {
            ifindex: read_u32(buf, 4).ok_or_else(short)?,
            handle: read_u32(buf, 8).ok_or_else(short)?,
            parent: read_u32(buf, 12).ok_or_else(short)?,
            info: read_u32(buf, 16).ok_or_else(short)?,
        })
    }

    /// Encodes the header (family `AF_UNSPEC`).
    pub fn emit(&self, out: &mut MessageBuilder) {
        let mut b = [0u8; TCMSG_LEN];
        for (at, v) in [
            (4, self.ifindex),
            (8, self.handle),
            (12, self.parent),
            (16, self.info),
        ] {
            if let Some(slot) = b.get_mut(at..at + 4) {
                slot.copy_from_slice(&v.to_ne_bytes());
            }
        }
        out.push_bytes(&b);
    }
}

/// A handle in tc's notation (`1:`, `ffff:fff1`, `root`), for messages.
pub fn show_handle(h: u32) -> String {
    match h {
        HANDLE_ROOT => "root".to_owned(),
        0 => "none".to_owned(),
        h if h & 0xFFFF == 0 => format!("{:x}:", h >> 16),
        h => format!("{:x}:{:x}", h >> 16, h & 0xFFFF),
    }
}
