//! Connection tracking over ctnetlink (`NFNL_SUBSYS_CTNETLINK`): deleting the entries of
//! one transport protocol towards one destination port, the way a new port forward makes
//! stale UDP "connections" (created before the forward existed, and so never NAT'd) stop
//! shadowing it. No `conntrack` is executed.
//!
//! ctnetlink has no kernel-side delete by port: the table of the family is dumped, each
//! original tuple read, and the matching entries deleted by their tuple. An entry already
//! gone by then (it expired, or another process deleted it) is no error.

use std::net::IpAddr;

use crate::error::Result;
use crate::nl::consts::{NETLINK_NETFILTER, NLA_F_NESTED};
use crate::nl::{Attrs, Message, MessageBuilder, Netlink, WireError};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const NFNETLINK_V0: u8 = 0;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_DST_PORT: u16 = 3;

/// Transport protocol numbers.
pub const IPPROTO_UDP: u8 = 17;

fn request(msg: u16, family: u8) -> MessageBuilder {
    let mut b = MessageBuilder::new((NFNL_SUBSYS_CTNETLINK << 8) | msg, 0);
    b.push_bytes(&[family, NFNETLINK_V0, 0, 0]);
    b
}

fn attrs<'a>(msg: &Message<'a>) -> Result<Attrs<'a>, WireError> {
    msg.payload()
        .get(4..)
        .map(Attrs::new)
        .ok_or(WireError::BadLength("nfgenmsg"))
}

/// The protocol number and destination port of an original tuple's attribute payload.
fn proto_and_port(tuple: &[u8]) -> Result<(Option<u8>, Option<u16>), WireError> {
    let (mut proto, mut port) = (None, None);
    for attr in Attrs::new(tuple) {
        let attr = attr?;
        if attr.kind() & !NLA_F_NESTED != CTA_TUPLE_PROTO {
            continue;
        }
        for inner in attr.nested() {
            let inner = inner?;
            match inner.kind() {
                CTA_PROTO_NUM => proto = Some(inner.as_u8()?),
                CTA_PROTO_DST_PORT => {
                    let b: [u8; 2] = inner
                        .payload()
                        .try_into()
                        .map_err(|_| WireError::BadLength("conntrack port"))?;
                    port = Some(u16::from_be_bytes(b));
                }
                _ => {}
            }
        }
    }
    Ok((proto, port))
}

/// The original tuples (raw attribute payloads) of `msg` whose protocol is `proto` and
/// destination port one of `ports`.
fn matching_tuple(
    msg: &Message<'_>,
    proto: u8,
    ports: &[u16],
) -> Result<Option<Vec<u8>>, WireError> {
    for attr in attrs(msg)? {
        let attr = attr?;
        if attr.kind() & !NLA_F_NESTED != CTA_TUPLE_ORIG {
            continue;
        }
        let (p, port) = proto_and_port(attr.payload())?;
        if p == Some(proto) && port.is_some_and(|d| ports.contains(&d)) {
            return Ok(Some(attr.payload().to_vec()));
        }
    }
    Ok(None)
}

/// Deletes the conntrack entries of the calling thread's namespace (or of the socket's,
/// see [`Netlink::open_protocol`]) with protocol `proto` and original destination port in
/// `ports`, for the family of `family_of`. Returns how many were deleted.
pub fn delete_by_port(family_of: IpAddr, proto: u8, ports: &[u16]) -> Result<usize> {
    if ports.is_empty() {
        return Ok(0);
    }
    let family = if family_of.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    } as u8;
    let mut nl = Netlink::open_protocol(NETLINK_NETFILTER)?;
    let label = format!("protocol {proto} ports {ports:?}");
    let tuples = nl.dump(
        "list conntrack entries",
        &label,
        request(IPCTNL_MSG_CT_GET, family),
        |m| matching_tuple(m, proto, ports),
    )?;
    let mut deleted = 0;
    for tuple in tuples {
        let mut req = request(IPCTNL_MSG_CT_DELETE, family);
        req.attr(CTA_TUPLE_ORIG | NLA_F_NESTED, &tuple);
        match nl.request_ack("delete conntrack entry", &label, req) {
            Ok(()) => deleted += 1,
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
        let len = 4 + payload.len();
        let mut out = (len as u16).to_ne_bytes().to_vec();
        out.extend(ty.to_ne_bytes());
        out.extend(payload);
        out.resize(len.div_ceil(4) * 4, 0);
        out
    }

    #[test]
    fn reads_protocol_and_destination_port_of_a_tuple() {
        let mut proto = attr(CTA_PROTO_NUM, &[17]);
        proto.extend(attr(2, &5000u16.to_be_bytes()));
        proto.extend(attr(CTA_PROTO_DST_PORT, &53u16.to_be_bytes()));
        let mut tuple = attr(1 | NLA_F_NESTED, &attr(1, &[10, 0, 0, 1]));
        tuple.extend(attr(CTA_TUPLE_PROTO | NLA_F_NESTED, &proto));
        assert_eq!(proto_and_port(&tuple).unwrap(), (Some(17), Some(53)));
        assert_eq!(proto_and_port(&[]).unwrap(), (None, None));
        assert!(proto_and_port(&tuple[..tuple.len() - 3]).is_err());
    }
}
