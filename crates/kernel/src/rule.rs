//! Policy routing rules (`ip rule`): add, delete, list.
//!
//! [`Rule`] is both request and reply: `struct fib_rule_hdr` plus `FRA_*` attributes. A
//! table id below 256 travels in the header and a larger one in `FRA_TABLE`, as iproute2
//! sends them.

use std::fmt;

use crate::error::Result;
use crate::net::{IpFamily, IpPrefix};
use crate::nl::consts::{AF_UNSPEC, NLM_F_CREATE, NLM_F_EXCL};
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// Add a rule.
pub const RTM_NEWRULE: u16 = 32;
/// Delete a rule.
pub const RTM_DELRULE: u16 = 33;
/// Dump rules.
pub const RTM_GETRULE: u16 = 34;

/// `FRA_DST`: destination prefix address.
pub const FRA_DST: u16 = 1;
/// `FRA_SRC`: source prefix address.
pub const FRA_SRC: u16 = 2;
/// `FRA_IIFNAME`: input interface.
pub const FRA_IIFNAME: u16 = 3;
/// `FRA_PRIORITY`: the rule's preference.
pub const FRA_PRIORITY: u16 = 6;
/// `FRA_FWMARK`: firewall mark.
pub const FRA_FWMARK: u16 = 10;
/// `FRA_TABLE`: 32-bit table id.
pub const FRA_TABLE: u16 = 15;
/// `FRA_OIFNAME`: output interface.
pub const FRA_OIFNAME: u16 = 17;

/// `FR_ACT_TO_TBL`: look the packet up in the rule's table.
pub const FR_ACT_TO_TBL: u8 = 1;

/// Length of `struct fib_rule_hdr`.
const HDR_LEN: usize = 12;

/// A routing rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Address family.
    pub family: IpFamily,
    /// Source prefix matched (`from`); every source when `None`.
    pub src: Option<IpPrefix>,
    /// Destination prefix matched (`to`); every destination when `None`.
    pub dst: Option<IpPrefix>,
    /// The table to look up.
    pub table: u32,
    /// Preference; the kernel picks one below the first existing rule's when unset.
    pub priority: Option<u32>,
    /// Action (`FR_ACT_*`).
    pub action: u8,
    /// Input interface matched.
    pub iifname: Option<String>,
    /// Output interface matched.
    pub oifname: Option<String>,
    /// Firewall mark matched.
    pub fwmark: Option<u32>,
}

impl Rule {
    /// `from src lookup table`.
    pub fn from_source(src: IpPrefix, table: u32) -> Rule {
        Rule {
            family: src.family(),
            src: Some(src),
            dst: None,
            table,
            priority: None,
            action: FR_ACT_TO_TBL,
            iifname: None,
            oifname: None,
            fwmark: None,
        }
    }

    /// Encodes header and attributes. A deletion sends the rule as listed (its preference
    /// included), so exactly that rule goes.
    pub fn emit(&self, out: &mut MessageBuilder) {
        let table8 = u8::try_from(self.table).unwrap_or(0);
        let hdr = [
            self.family.af(),
            self.dst.map_or(0, |d| d.len()),
            self.src.map_or(0, |s| s.len()),
            0,
            table8,
            0,
            0,
            self.action,
            0,
            0,
            0,
            0,
        ];
        out.push_bytes(&hdr);
        if let Some(dst) = &self.dst {
            out.attr_ip(FRA_DST, &dst.addr());
        }
        if let Some(src) = &self.src {
            out.attr_ip(FRA_SRC, &src.addr());
        }
        if let Some(p) = self.priority {
            out.attr_u32(FRA_PRIORITY, p);
        }
        if let Some(name) = &self.iifname {
            out.attr_str(FRA_IIFNAME, name);
        }
        if let Some(name) = &self.oifname {
            out.attr_str(FRA_OIFNAME, name);
        }
        if let Some(mark) = self.fwmark {
            out.attr_u32(FRA_FWMARK, mark);
        }
        if table8 == 0 && self.table != 0 {
            out.attr_u32(FRA_TABLE, self.table);
        }
    }

    /// Decodes a rule message payload; `Ok(None)` for families other than IPv4/IPv6.
    pub fn parse(payload: &[u8]) -> Result<Option<Rule>, WireError> {
        let hdr = payload
            .get(..HDR_LEN)
            .ok_or(WireError::Truncated("fib_rule_hdr"))?;
        let [family, dst_len, src_len, _tos, table8, _r1, _r2, action] = hdr
            .get(..8)
            .and_then(|h| <[u8; 8]>::try_from(h).ok())
            .ok_or(WireError::Truncated("fib_rule_hdr"))?;
        let Some(family) = IpFamily::from_af(family) else {
            return Ok(None);
        };
        let mut rule = Rule {
            family,
            src: None,
            dst: None,
            table: u32::from(table8),
            priority: None,
            action,
            iifname: None,
            oifname: None,
            fwmark: None,
        };
        let prefix = |attr: &crate::nl::Attr<'_>, len: u8| -> Result<IpPrefix, WireError> {
            let addr = attr.as_ip()?;
            if IpFamily::of(&addr) != family {
                return Err(WireError::BadValue("rule address family"));
            }
            IpPrefix::new(addr, len).map_err(|_| WireError::BadValue("rule prefix length"))
        };
        for attr in Attrs::new(payload.get(HDR_LEN..).unwrap_or_default()) {
            let attr = attr?;
            match attr.kind() {
                FRA_DST => rule.dst = Some(prefix(&attr, dst_len)?),
                FRA_SRC => rule.src = Some(prefix(&attr, src_len)?),
                FRA_PRIORITY => rule.priority = Some(attr.as_u32()?),
                FRA_TABLE => rule.table = attr.as_u32()?,
                FRA_IIFNAME => rule.iifname = Some(attr.as_str()?.to_owned()),
                FRA_OIFNAME => rule.oifname = Some(attr.as_str()?.to_owned()),
                FRA_FWMARK => rule.fwmark = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(Some(rule))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.priority {
            write!(f, "{p}: ")?;
        }
        match &self.src {
            Some(src) => write!(f, "from {src}")?,
            None => f.write_str("from all")?,
        }
        if let Some(dst) = &self.dst {
            write!(f, " to {dst}")?;
        }
        write!(f, " lookup {}", self.table)
    }
}

impl Netlink {
    /// Adds a rule; fails with `EEXIST` if an equal one exists.
    pub fn rule_add(&mut self, rule: &Rule) -> Result<()> {
        let mut req = MessageBuilder::new(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
        rule.emit(&mut req);
        self.request_ack("add rule", rule, req)
    }

    /// Deletes the rule matching `rule`'s fields (unset ones match any value).
    pub fn rule_delete(&mut self, rule: &Rule) -> Result<()> {
        let mut req = MessageBuilder::new(RTM_DELRULE, 0);
        rule.emit(&mut req);
        self.request_ack("delete rule", rule, req)
    }

    /// Lists the rules of `family` (both when `None`).
    pub fn rule_list(&mut self, family: Option<IpFamily>) -> Result<Vec<Rule>> {
        let mut req = MessageBuilder::new(RTM_GETRULE, 0);
        let af = family.map_or(AF_UNSPEC, IpFamily::af);
        req.push_bytes(&[af, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        self.dump("list", &"rules", req, |m| Rule::parse(m.payload()))
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::nl::message::HEADER_LEN;

    fn bytes(msg_type: u16, rule: &Rule) -> Vec<u8> {
        let mut b = MessageBuilder::new(msg_type, 0);
        rule.emit(&mut b);
        b.finish(1, 0).unwrap()[HEADER_LEN..].to_vec()
    }

    /// The reference sbr's `from 10.50.0.5/32 lookup 100` (strace of the Go plugin), with
    /// the header's unused `res1` byte zero (Go's library fills it with a route's protocol).
    #[test]
    fn add_request_matches_the_reference_sbr() {
        let rule = Rule::from_source("10.50.0.5/32".parse().unwrap(), 100);
        let want: &[u8] =
            b"\x02\x00\x20\x00\x64\x00\x00\x01\x00\x00\x00\x00\x08\x00\x02\x00\x0a\x32\x00\x05";
        assert_eq!(bytes(RTM_NEWRULE, &rule), want);
        assert_eq!(Rule::parse(want).unwrap().unwrap(), rule);
    }

    /// Its deletion names the preference the kernel gave the rule.
    #[test]
    fn delete_request_reads_back() {
        let captured: &[u8] = b"\x02\x00\x20\x00\x64\x03\x00\x00\x00\x00\x00\x00\x08\x00\x02\x00\x0a\x32\x00\x05\x08\x00\x06\x00\xfd\x7f\x00\x00";
        let r = Rule::parse(captured).unwrap().unwrap();
        assert_eq!(r.priority, Some(32765));
        assert_eq!(r.table, 100);
        assert_eq!(r.src.unwrap().to_string(), "10.50.0.5/32");
        assert_eq!(r.to_string(), "32765: from 10.50.0.5/32 lookup 100");
    }

    #[test]
    fn big_tables_travel_as_an_attribute() {
        let rule = Rule::from_source("fd00::5/128".parse().unwrap(), 1000);
        let b = bytes(RTM_NEWRULE, &rule);
        assert_eq!(b[4], 0);
        assert_eq!(Rule::parse(&b).unwrap().unwrap().table, 1000);
        for n in 0..b.len() {
            let _ = Rule::parse(&b[..n]);
        }
    }
}
