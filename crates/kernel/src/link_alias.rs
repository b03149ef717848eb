//! A link's alias (`IFLA_IFALIAS`): free text the kernel keeps with a device, across renames
//! and moves between namespaces — also when a destroyed namespace hands a device back to
//! the initial one. host-device keeps a device's original name there, as the reference does.
//!
//! The request is `ip link set dev X alias TEXT`'s: the text without a terminating NUL (the
//! kernel stores the attribute's length), and an empty attribute removes the alias.

use crate::error::{Error, Result};
use crate::link::{LinkId, IFINFO_LEN};
use crate::link_info;
use crate::nl::consts::RTM_NEWLINK;
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// `IFLA_IFALIAS`.
pub const IFLA_IFALIAS: u16 = 20;
/// Longest alias the kernel keeps (`IFALIASZ` minus the NUL it adds).
pub const MAX_ALIAS_LEN: usize = 255;

/// The request setting `id`'s alias to `alias` (empty: remove it).
pub fn set_alias_request(id: LinkId<'_>, alias: &str) -> MessageBuilder {
    let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
    link_info::push_header(&mut req, id);
    req.attr(IFLA_IFALIAS, alias.as_bytes());
    req
}

/// The alias in a link message payload (`ifinfomsg` + attributes); `None` when it has none.
pub fn parse_alias(payload: &[u8]) -> Result<Option<String>, WireError> {
    let attrs = payload
        .get(IFINFO_LEN..)
        .ok_or(WireError::Truncated("ifinfomsg"))?;
    for attr in Attrs::new(attrs) {
        let attr = attr?;
        if attr.kind() == IFLA_IFALIAS {
            let text = attr.as_str()?;
            return Ok((!text.is_empty()).then(|| text.to_owned()));
        }
    }
    Ok(None)
}

impl Netlink {
    /// Sets a link's alias; an empty one removes it.
    pub fn link_set_alias(&mut self, id: LinkId<'_>, alias: &str) -> Result<()> {
        if alias.len() > MAX_ALIAS_LEN {
            return Err(Error::invalid(
                "set alias of link",
                id.to_string(),
                format!("alias of {} bytes: at most {MAX_ALIAS_LEN}", alias.len()),
            ));
        }
        self.request_ack("set alias of link", &id, set_alias_request(id, alias))
    }

    /// A link's alias, `None` when it has none.
    pub fn link_alias(&mut self, id: LinkId<'_>) -> Result<Option<String>> {
        let req = link_info::get_request("get link", id)?;
        self.request_one("get alias of link", &id, req, |m| parse_alias(m.payload()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::Message;

    /// `ip link set dev hd0 alias eth-orig` (iproute2 6.1, seen with strace), after the
    /// netlink header: iproute2 resolves the name first, so the `ifinfomsg` carries the index
    /// (2 here) and the only attribute is `IFLA_IFALIAS`, "eth-orig" without a NUL.
    const IPROUTE2_SET_ALIAS: [u8; 28] = [
        0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg, index 2
        12, 0, 20, 0, b'e', b't', b'h', b'-', b'o', b'r', b'i', b'g', // IFLA_IFALIAS
    ];

    #[test]
    fn set_alias_is_iproute2s_request() {
        let bytes = set_alias_request(LinkId::Index(2), "eth-orig")
            .finish(1, 0)
            .unwrap();
        let msg = Message::new_checked(&bytes).unwrap();
        assert_eq!(msg.msg_type(), RTM_NEWLINK);
        assert_eq!(msg.payload(), &IPROUTE2_SET_ALIAS[..]);
        assert_eq!(
            parse_alias(msg.payload()).unwrap().as_deref(),
            Some("eth-orig")
        );
        let by_name = set_alias_request(LinkId::Name("hd0"), "x")
            .finish(1, 0)
            .unwrap();
        let msg = Message::new_checked(&by_name).unwrap();
        assert_eq!(parse_alias(msg.payload()).unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn empty_alias_removes_and_reads_as_none() {
        let bytes = set_alias_request(LinkId::Index(7), "")
            .finish(1, 0)
            .unwrap();
        let msg = Message::new_checked(&bytes).unwrap();
        let payload = msg.payload();
        assert_eq!(&payload[4..8], &7u32.to_ne_bytes());
        assert_eq!(&payload[IFINFO_LEN..], &[4, 0, 20, 0]);
        assert_eq!(parse_alias(payload).unwrap(), None);
        assert!(parse_alias(&payload[..3]).is_err());
        for cut in 0..payload.len() {
            let _ = parse_alias(&payload[..cut]);
        }
    }
}
