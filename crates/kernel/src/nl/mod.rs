//! The netlink core: wire format ([`message`], [`attr`]), reply handling ([`reply`]) and the
//! socket ([`socket`]).
//!
//! Everything but the socket is pure and operates on byte slices, so it is unit-tested with
//! exact bytes and fed garbage without a kernel.

pub mod attr;
pub mod consts;
pub mod message;
mod raw;
pub mod reply;
pub mod socket;

#[cfg(test)]
pub(crate) mod tests;

pub use attr::{Attr, Attrs};
pub use message::{Message, MessageBuilder, Messages, Nest};
pub use socket::Netlink;

/// Netlink bytes that cannot be decoded, or a request that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The buffer ends before the named structure does.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A length field is impossible for the named structure.
    #[error("bad length in {0}")]
    BadLength(&'static str),
    /// The named value does not decode (bad UTF-8, unknown family, prefix too long).
    #[error("bad value in {0}")]
    BadValue(&'static str),
    /// A reply lacks an attribute the named object cannot do without.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A request or one of its attributes outgrows its length field.
    #[error("request too long for netlink length fields")]
    TooLong,
}
