//! What several link modules send and read the same way: the `ifinfomsg` naming a link, a
//! stats-free `RTM_GETLINK` for one link, and the kind and kind data of a reply's
//! `IFLA_LINKINFO`.

use crate::error::{Error, Result};
use crate::link::{check_name, LinkId, IFINFO_LEN};
use crate::nl::consts::{
    IFLA_EXT_MASK, IFLA_IFNAME, IFLA_LINKINFO, RTEXT_FILTER_SKIP_STATS, RTM_GETLINK,
};
use crate::nl::{Attr, Attrs, MessageBuilder, WireError};

/// An `ifinfomsg` naming `id` (by index in the header, by name as `IFLA_IFNAME`).
pub(crate) fn push_header(req: &mut MessageBuilder, id: LinkId<'_>) {
    let mut hdr = [0u8; IFINFO_LEN];
    if let LinkId::Index(i) = id {
        hdr[4..8].copy_from_slice(&i.to_ne_bytes());
    }
    req.push_bytes(&hdr);
    if let LinkId::Name(n) = id {
        req.attr_str(IFLA_IFNAME, n);
    }
}

/// `RTM_GETLINK` for `id` without statistics; a name the kernel would refuse is refused
/// here, `op` naming the operation in the error.
pub(crate) fn get_request(op: &'static str, id: LinkId<'_>) -> Result<MessageBuilder> {
    if let LinkId::Name(n) = id {
        check_name(n).map_err(|why| Error::invalid(op, id.to_string(), why))?;
    }
    let mut req = MessageBuilder::new(RTM_GETLINK, 0);
    push_header(&mut req, id);
    req.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    Ok(req)
}

/// A link's kind and its kind data, from `IFLA_LINKINFO`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Info<'a> {
    /// The kind, when the message names one.
    pub kind: Option<&'a str>,
    /// The kind's data, when present.
    pub data: Option<Attr<'a>>,
}

/// The first `IFLA_LINKINFO` of a link message payload (`ifinfomsg` + attributes), its
/// kind read from `kind_attr` and its data from `data_attr` (`IFLA_INFO_KIND` and
/// `IFLA_INFO_DATA` for the link's own kind, the `SLAVE` pair for a port's); `None` when it
/// has none.
pub(crate) fn parse(
    payload: &[u8],
    kind_attr: u16,
    data_attr: u16,
) -> Result<Option<Info<'_>>, WireError> {
    let attrs = payload
        .get(IFINFO_LEN..)
        .ok_or(WireError::Truncated("ifinfomsg"))?;
    for attr in Attrs::new(attrs) {
        let attr = attr?;
        if attr.kind() != IFLA_LINKINFO {
            continue;
        }
        let (mut kind, mut data) = (None, None);
        for info in attr.nested() {
            let info = info?;
            match info.kind() {
                k if k == kind_attr => kind = Some(info.as_str()?),
                k if k == data_attr => data = Some(info),
                _ => {}
            }
        }
        return Ok(Some(Info { kind, data }));
    }
    Ok(None)
}
