//! Routes (IPv4 and IPv6, any table): add, replace, delete, list.
//!
//! [`Route`] is both the request and the reply: its `parse` and `emit` are the wire form
//! (`struct rtmsg` plus `RTA_*` attributes). Multipath routes are not modelled yet: a listed
//! multipath route shows no gateway.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::net::{IpFamily, IpPrefix, Scope};
use crate::nl::consts::{
    AF_UNSPEC, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC,
    RTA_PRIORITY, RTA_TABLE, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, RTNH_F_ONLINK,
    RT_TABLE_UNSPEC,
};
use crate::nl::message::read_u32;
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// Length of `struct rtmsg`.
const RTMSG_LEN: usize = 12;

/// The main routing table.
pub const TABLE_MAIN: u32 = 254;
/// The local table (addresses of this host, broadcast routes).
pub const TABLE_LOCAL: u32 = 255;

/// What a route does with matching packets (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteType(pub u8);

impl RouteType {
    /// Forward to a gateway or a directly connected destination.
    pub const UNICAST: RouteType = RouteType(1);
    /// Deliver locally.
    pub const LOCAL: RouteType = RouteType(2);
    /// Silently drop.
    pub const BLACKHOLE: RouteType = RouteType(6);
    /// Drop with "network unreachable".
    pub const UNREACHABLE: RouteType = RouteType(7);
    /// Drop with "prohibited".
    pub const PROHIBIT: RouteType = RouteType(8);
}

/// Who installed a route (`RTPROT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteProtocol(pub u8);

impl RouteProtocol {
    /// The kernel (prefix routes of addresses).
    pub const KERNEL: RouteProtocol = RouteProtocol(2);
    /// An administrator or a tool, during boot; what `ip route add` uses.
    pub const BOOT: RouteProtocol = RouteProtocol(3);
    /// An administrator, meant to persist.
    pub const STATIC: RouteProtocol = RouteProtocol(4);
}

/// A route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix (host bits must be clear).
    pub dst: IpPrefix,
    /// Next hop.
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Table id ([`TABLE_MAIN`] unless set).
    pub table: u32,
    /// Scope; when unset, a request uses what `ip route` would: link for a unicast route
    /// without gateway, host for a local route, universe otherwise, and "any" to delete.
    pub scope: Option<Scope>,
    /// Priority, a.k.a. metric.
    pub priority: Option<u32>,
    /// Treat the gateway as directly reachable on `oif` even without a covering prefix.
    pub onlink: bool,
    /// Who installed it.
    pub protocol: RouteProtocol,
    /// What it does.
    pub kind: RouteType,
    /// Preferred source address for locally generated packets.
    pub prefsrc: Option<IpAddr>,
}

impl Route {
    /// A unicast route to `dst` in the main table, with nothing else set.
    pub fn new(dst: IpPrefix) -> Self {
        Route {
            dst,
            gateway: None,
            oif: None,
            table: TABLE_MAIN,
            scope: None,
            priority: None,
            onlink: false,
            protocol: RouteProtocol::BOOT,
            kind: RouteType::UNICAST,
            prefsrc: None,
        }
    }

    /// Sets the gateway.
    pub fn via(mut self, gateway: IpAddr) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Sets the output interface.
    pub fn dev(mut self, index: u32) -> Self {
        self.oif = Some(index);
        self
    }

    /// Sets the table.
    pub fn table(mut self, table: u32) -> Self {
        self.table = table;
        self
    }

    /// Sets the metric.
    pub fn metric(mut self, priority: u32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Marks the gateway on-link.
    pub fn onlink(mut self) -> Self {
        self.onlink = true;
        self
    }

    /// Sets the scope.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Decodes a route message payload; `Ok(None)` for families other than IPv4/IPv6.
    pub fn parse(payload: &[u8]) -> Result<Option<Self>, WireError> {
        let short = || WireError::Truncated("rtmsg");
        let header = payload.get(..RTMSG_LEN).ok_or_else(short)?;
        let [family, dst_len, _src_len, _tos, table8, protocol, scope, kind] = header
            .get(..8)
            .and_then(|h| <[u8; 8]>::try_from(h).ok())
            .ok_or_else(short)?;
        let flags = read_u32(header, 8).ok_or_else(short)?;
        let Some(family) = IpFamily::from_af(family) else {
            return Ok(None);
        };
        let mut route = Route::new(IpPrefix::default_route(family));
        route.table = u32::from(table8);
        (route.scope, route.protocol) = (Some(Scope(scope)), RouteProtocol(protocol));
        route.kind = RouteType(kind);
        route.onlink = flags & RTNH_F_ONLINK != 0;
        let mut dst = None;
        for attr in Attrs::new(payload.get(RTMSG_LEN..).unwrap_or_default()) {
            let attr = attr?;
            match attr.kind() {
                RTA_DST => dst = Some(attr.as_ip()?),
                RTA_GATEWAY => route.gateway = Some(attr.as_ip()?),
                RTA_OIF => route.oif = Some(attr.as_u32()?),
                RTA_PRIORITY => route.priority = Some(attr.as_u32()?),
                RTA_PREFSRC => route.prefsrc = Some(attr.as_ip()?),
                RTA_TABLE => route.table = attr.as_u32()?,
                _ => {}
            }
        }
        if let Some(dst) = dst {
            if IpFamily::of(&dst) != family {
                return Err(WireError::BadValue("route destination family"));
            }
            route.dst = IpPrefix::new(dst, dst_len).map_err(|_| WireError::BadValue("dst_len"))?;
        } else if dst_len != 0 {
            return Err(WireError::Missing("RTA_DST"));
        }
        Ok(Some(route))
    }

    /// Encodes the header and attributes for a request of `msg_type`.
    pub fn emit(&self, msg_type: u16, out: &mut MessageBuilder) {
        let scope = self.scope.unwrap_or(if msg_type == RTM_DELROUTE {
            Scope::NOWHERE
        } else if self.kind == RouteType::LOCAL {
            Scope::HOST
        } else if self.kind == RouteType::UNICAST && self.gateway.is_none() {
            Scope::LINK
        } else {
            Scope::UNIVERSE
        });
        // The header's table field has 8 bits; RTA_TABLE carries the full id.
        let table8 = u8::try_from(self.table).unwrap_or(RT_TABLE_UNSPEC);
        let flags = if self.onlink { RTNH_F_ONLINK } else { 0 };
        // A deletion with a protocol matches only routes of that protocol; leave it out so
        // `Route::new` deletes routes the kernel or another tool installed.
        let protocol = if msg_type == RTM_DELROUTE {
            0
        } else {
            self.protocol.0
        };
        let mut header = vec![
            self.dst.family().af(),
            self.dst.len(),
            0,
            0,
            table8,
            protocol,
            scope.0,
            self.kind.0,
        ];
        header.extend_from_slice(&flags.to_ne_bytes());
        out.push_bytes(&header);
        out.attr_u32(RTA_TABLE, self.table);
        if !self.dst.is_empty() {
            out.attr_ip(RTA_DST, &self.dst.addr());
        }
        if let Some(gw) = &self.gateway {
            out.attr_ip(RTA_GATEWAY, gw);
        }
        if let Some(oif) = self.oif {
            out.attr_u32(RTA_OIF, oif);
        }
        if let Some(priority) = self.priority {
            out.attr_u32(RTA_PRIORITY, priority);
        }
        if let Some(src) = &self.prefsrc {
            out.attr_ip(RTA_PREFSRC, src);
        }
    }

    fn request(&self, op: &'static str, msg_type: u16, flags: u16) -> Result<MessageBuilder> {
        let other_family = |a: &IpAddr| IpFamily::of(a) != self.dst.family();
        if self.gateway.as_ref().is_some_and(other_family)
            || self.prefsrc.as_ref().is_some_and(other_family)
        {
            let why = "gateway or source of another family than the destination";
            return Err(Error::invalid(op, self.to_string(), why));
        }
        let mut req = MessageBuilder::new(msg_type, flags);
        self.emit(msg_type, &mut req);
        Ok(req)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dst)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(oif) = self.oif {
            write!(f, " dev index {oif}")?;
        }
        write!(f, " table {}", self.table)?;
        if let Some(p) = self.priority {
            write!(f, " metric {p}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        Ok(())
    }
}

impl Netlink {
    /// Adds a route; fails with `EEXIST` if an equal one exists.
    pub fn route_add(&mut self, route: &Route) -> Result<()> {
        let req = route.request("add route", RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)?;
        self.request_ack("add route", route, req)
    }

    /// Adds a route or replaces the one with the same destination, table and metric.
    pub fn route_replace(&mut self, route: &Route) -> Result<()> {
        let req = route.request("replace route", RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE)?;
        self.request_ack("replace route", route, req)
    }

    /// Deletes a route; unset fields (gateway, interface, scope, metric) and the protocol
    /// match any value.
    pub fn route_delete(&mut self, route: &Route) -> Result<()> {
        let req = route.request("delete route", RTM_DELROUTE, 0)?;
        self.request_ack("delete route", route, req)
    }

    /// Lists routes of `family` (both when `None`) in `table` (every table when `None`).
    pub fn route_list(
        &mut self,
        family: Option<IpFamily>,
        table: Option<u32>,
    ) -> Result<Vec<Route>> {
        let mut req = MessageBuilder::new(RTM_GETROUTE, 0);
        let af = family.map_or(AF_UNSPEC, IpFamily::af);
        req.push_bytes(&[af, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        self.dump("list", &"routes", req, |m| {
            let route = Route::parse(m.payload())?;
            Ok(route.filter(|r| table.map_or(true, |t| r.table == t)))
        })
    }
}
