//! Connection tracking over ctnetlink (`NFNL_SUBSYS_CTNETLINK`): deleting the entries of
//! given transport destinations (family, protocol, destination port). A new port forward
//! makes stale entries (created before the forward existed, and so never NAT'd) stop
//! shadowing it; a removed one makes entries still translated to the old target go. No
//! `conntrack` is executed.
//!
//! ctnetlink has no kernel-side delete by port: the table is dumped once (every family
//! asked for in the same dump: the walk over the kernel's hash table, shared by all
//! namespaces, is what costs), each original tuple read, and the matching entries deleted
//! by their tuple. An entry already gone by then (it expired, or another process deleted
//! it) is no error.

use crate::error::Result;
use crate::net::IpFamily;
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
/// `AF_UNSPEC`: a dump of every family.
const AF_UNSPEC: u8 = 0;

/// Transport protocol numbers.
pub const IPPROTO_TCP: u8 = 6;
/// See [`IPPROTO_TCP`].
pub const IPPROTO_UDP: u8 = 17;
/// See [`IPPROTO_TCP`].
pub const IPPROTO_SCTP: u8 = 132;

/// Entries of one family and transport protocol towards one destination port (of the
/// original direction: the port the client addressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// IPv4 or IPv6.
    pub family: IpFamily,
    /// The transport protocol number.
    pub proto: u8,
    /// The destination port.
    pub port: u16,
}

fn request(msg: u16, family: u8) -> MessageBuilder {
    let mut b = MessageBuilder::new((NFNL_SUBSYS_CTNETLINK << 8) | msg, 0);
    b.push_bytes(&[family, NFNETLINK_V0, 0, 0]);
    b
}

/// The family byte and attributes of a ctnetlink message.
fn split<'a>(msg: &Message<'a>) -> Result<(u8, Attrs<'a>), WireError> {
    let payload = msg.payload();
    let family = *payload.first().ok_or(WireError::BadLength("nfgenmsg"))?;
    let attrs = payload.get(4..).ok_or(WireError::BadLength("nfgenmsg"))?;
    Ok((family, Attrs::new(attrs)))
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

/// The family and original tuple (raw attribute payload) of entry `msg`, when it goes
/// to one of `dests`.
fn matching_tuple(
    msg: &Message<'_>,
    dests: &[Destination],
) -> Result<Option<(u8, Vec<u8>)>, WireError> {
    let (af, attrs) = split(msg)?;
    let Some(family) = IpFamily::from_af(af) else {
        return Ok(None);
    };
    for attr in attrs {
        let attr = attr?;
        if attr.kind() & !NLA_F_NESTED != CTA_TUPLE_ORIG {
            continue;
        }
        let (proto, port) = proto_and_port(attr.payload())?;
        let hit =
            |d: &Destination| d.family == family && Some(d.proto) == proto && Some(d.port) == port;
        if dests.iter().any(hit) {
            return Ok(Some((af, attr.payload().to_vec())));
        }
    }
    Ok(None)
}

/// Deletes the conntrack entries of the calling thread's namespace (or of the socket's,
/// see [`Netlink::open_protocol`]) towards any of `dests`, with one dump. Returns how many
/// were deleted.
pub fn delete_by_destination(dests: &[Destination]) -> Result<usize> {
    let Some(first) = dests.first() else {
        return Ok(0);
    };
    // One family asked for: the kernel sends only its entries (the walk is the same).
    let family = if dests.iter().all(|d| d.family == first.family) {
        first.family.af()
    } else {
        AF_UNSPEC
    };
    let mut nl = Netlink::open_protocol(NETLINK_NETFILTER)?;
    let label = describe(dests);
    let tuples = nl.dump(
        "list conntrack entries",
        &label,
        request(IPCTNL_MSG_CT_GET, family),
        |m| matching_tuple(m, dests),
    )?;
    let mut deleted = 0;
    for (af, tuple) in tuples {
        let mut req = request(IPCTNL_MSG_CT_DELETE, af);
        req.attr(CTA_TUPLE_ORIG | NLA_F_NESTED, &tuple);
        match nl.request_ack("delete conntrack entry", &label, req) {
            Ok(()) => deleted += 1,
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

/// How errors name the destinations: `"IPv4 protocol 17 port 53, …"`.
fn describe(dests: &[Destination]) -> String {
    let one = |d: &Destination| {
        let family = match d.family {
            IpFamily::V4 => "IPv4",
            IpFamily::V6 => "IPv6",
        };
        format!("{family} protocol {} port {}", d.proto, d.port)
    };
    dests.iter().map(one).collect::<Vec<_>>().join(", ")
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

    /// A dumped entry of family `af` whose original tuple is `proto` to `port`.
    fn entry(af: u8, proto: u8, port: u16) -> Vec<u8> {
        let mut p = attr(CTA_PROTO_NUM, &[proto]);
        p.extend(attr(CTA_PROTO_DST_PORT, &port.to_be_bytes()));
        let tuple = attr(CTA_TUPLE_PROTO | NLA_F_NESTED, &p);
        let mut b = request(IPCTNL_MSG_CT_GET, af);
        b.attr(CTA_TUPLE_ORIG | NLA_F_NESTED, &tuple);
        b.finish(1, 0).unwrap()
    }

    #[test]
    fn entries_match_by_family_protocol_and_port() {
        let dests = [
            Destination {
                family: IpFamily::V6,
                proto: IPPROTO_UDP,
                port: 53,
            },
            Destination {
                family: IpFamily::V4,
                proto: IPPROTO_SCTP,
                port: 9132,
            },
        ];
        let hit = |bytes: Vec<u8>| {
            let msg = Message::new_checked(&bytes).unwrap();
            matching_tuple(&msg, &dests).unwrap().map(|(af, _)| af)
        };
        assert_eq!(hit(entry(10, IPPROTO_UDP, 53)), Some(10));
        assert_eq!(hit(entry(2, IPPROTO_SCTP, 9132)), Some(2));
        assert_eq!(hit(entry(2, IPPROTO_UDP, 53)), None, "another family");
        assert_eq!(hit(entry(10, IPPROTO_TCP, 53)), None, "another protocol");
        assert_eq!(hit(entry(10, IPPROTO_UDP, 54)), None, "another port");
        assert_eq!(hit(entry(7, IPPROTO_UDP, 53)), None, "not an IP family");
        assert!(describe(&dests).starts_with("IPv6 protocol 17 port 53, IPv4"));
    }
}
