//! Classifiers: the u32 filter with its actions (mirred among them) — add, delete, list.
//!
//! A u32 filter matches 32-bit words of the packet under masks (its "selector"); a selector
//! with one all-zero key matches every packet. Actions run on a match: `mirred` redirects or
//! mirrors the packet to another device, which is how a device's ingress traffic reaches an
//! ifb to be shaped there.

use std::fmt;

use super::{show_handle, TcMsg, RTM_DELTFILTER, RTM_GETTFILTER, RTM_NEWTFILTER, TCA_KIND};
use super::{TCA_OPTIONS, TCMSG_LEN};
use crate::error::Result;
use crate::nl::consts::{NLM_F_CREATE, NLM_F_EXCL};
use crate::nl::message::read_u32;
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// `TCA_U32_CLASSID`: the class a match selects.
pub const TCA_U32_CLASSID: u16 = 1;
/// `TCA_U32_DIVISOR`: the bucket count of a hash table node.
pub const TCA_U32_DIVISOR: u16 = 4;
/// `TCA_U32_SEL`: the selector, `struct tc_u32_sel` and its keys.
pub const TCA_U32_SEL: u16 = 5;
/// `TCA_U32_ACT`: the actions, one nest per action numbered from 1.
pub const TCA_U32_ACT: u16 = 7;
/// `TC_U32_TERMINAL`: a match ends classification.
pub const TC_U32_TERMINAL: u8 = 1;

/// `TCA_ACT_KIND`.
pub const TCA_ACT_KIND: u16 = 1;
/// `TCA_ACT_OPTIONS`.
pub const TCA_ACT_OPTIONS: u16 = 2;
/// `TCA_MIRRED_PARMS`: `struct tc_mirred`.
pub const TCA_MIRRED_PARMS: u16 = 2;

/// `TC_ACT_OK`: the packet goes on ("pass").
pub const TC_ACT_OK: i32 = 0;
/// `TC_ACT_SHOT`: drop the packet.
pub const TC_ACT_SHOT: i32 = 2;
/// `TC_ACT_PIPE`: run the next action.
pub const TC_ACT_PIPE: i32 = 3;
/// `TC_ACT_STOLEN`: the action consumed the packet (a redirect's usual verdict).
pub const TC_ACT_STOLEN: i32 = 4;
/// `TCA_EGRESS_REDIR`: mirred sends the packet out of the target device.
pub const TCA_EGRESS_REDIR: i32 = 1;
/// `TCA_EGRESS_MIRROR`: mirred sends a copy out of the target device.
pub const TCA_EGRESS_MIRROR: i32 = 2;

/// Length of `struct tc_u32_sel` without keys.
const SEL_LEN: usize = 16;
/// Length of `struct tc_u32_key`.
const KEY_LEN: usize = 16;
/// Length of `struct tc_mirred`: `tc_gen` (index, capab, action, refcnt, bindcnt), eaction,
/// ifindex.
const MIRRED_LEN: usize = 28;

/// One u32 key: the 32-bit word at `off` under `mask` must equal `val` (both in the
/// packet's byte order, written here as numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct U32Key {
    /// Mask.
    pub mask: u32,
    /// Value.
    pub val: u32,
    /// Offset in the packet.
    pub off: i32,
    /// Offset mask (for variable offsets).
    pub offmask: i32,
}

/// A mirred action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mirred {
    /// What the packet's classification does afterwards (`TC_ACT_*`).
    pub verdict: i32,
    /// Redirect or mirror, egress or ingress (`TCA_EGRESS_REDIR`, …).
    pub eaction: i32,
    /// The target device.
    pub ifindex: u32,
}

impl Mirred {
    /// An egress redirect to `ifindex` that consumes the packet, as
    /// `action mirred egress redirect dev X` makes it.
    pub fn egress_redirect(ifindex: u32) -> Mirred {
        Mirred {
            verdict: TC_ACT_STOLEN,
            eaction: TCA_EGRESS_REDIR,
            ifindex,
        }
    }
}

/// An action of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// mirred.
    Mirred(Mirred),
    /// Any other kind, by name.
    Other(String),
}

/// The u32-specific part of a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct U32 {
    /// Keys, all of which must match.
    pub keys: Vec<U32Key>,
    /// Whether a match ends classification.
    pub terminal: bool,
    /// The class a match selects.
    pub classid: Option<u32>,
    /// For hash table nodes (which the kernel lists beside the filters): their buckets.
    pub divisor: Option<u32>,
    /// Actions, in order.
    pub actions: Vec<Action>,
    /// Whether the message carried a selector (filters do, hash table nodes do not).
    pub has_selector: bool,
}

/// A filter (a classifier instance) on a qdisc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The device.
    pub ifindex: u32,
    /// The qdisc (or class) the filter is attached to.
    pub parent: u32,
    /// The filter's handle; 0 in a request lets the kernel choose.
    pub handle: u32,
    /// Priority ("pref"); lower runs first.
    pub priority: u16,
    /// Ethernet protocol matched, host order (`ETH_P_ALL` for every packet).
    pub protocol: u16,
    /// The classifier kind (`u32`, …).
    pub kind: String,
    /// For u32: selector, class and actions.
    pub u32: Option<U32>,
}

impl Filter {
    /// A u32 filter matching every packet (one all-zero key, terminal), selecting
    /// `classid` and running `actions`.
    pub fn u32_match_all(
        ifindex: u32,
        parent: u32,
        priority: u16,
        protocol: u16,
        classid: Option<u32>,
        actions: Vec<Action>,
    ) -> Filter {
        Filter {
            ifindex,
            parent,
            handle: 0,
            priority,
            protocol,
            kind: "u32".to_owned(),
            u32: Some(U32 {
                keys: vec![U32Key::default()],
                terminal: true,
                classid,
                divisor: None,
                actions,
                has_selector: true,
            }),
        }
    }

    fn header(&self) -> TcMsg {
        TcMsg {
            ifindex: self.ifindex,
            handle: self.handle,
            parent: self.parent,
            info: (u32::from(self.priority) << 16) | u32::from(self.protocol.to_be()),
        }
    }

    /// Encodes header, kind and (for u32) options: selector, class, actions.
    pub fn emit(&self, out: &mut MessageBuilder) {
        self.header().emit(out);
        out.attr_str(TCA_KIND, &self.kind);
        let Some(u) = &self.u32 else { return };
        let options = out.nest_start(TCA_OPTIONS);
        let mut sel = vec![0u8; SEL_LEN];
        if let Some(s) = sel.get_mut(0..3) {
            let nkeys = u8::try_from(u.keys.len()).unwrap_or(u8::MAX);
            s.copy_from_slice(&[if u.terminal { TC_U32_TERMINAL } else { 0 }, 0, nkeys]);
        }
        for key in &u.keys {
            sel.extend_from_slice(&key.mask.to_be_bytes());
            sel.extend_from_slice(&key.val.to_be_bytes());
            sel.extend_from_slice(&key.off.to_ne_bytes());
            sel.extend_from_slice(&key.offmask.to_ne_bytes());
        }
        out.attr(TCA_U32_SEL, &sel);
        if let Some(classid) = u.classid {
            out.attr_u32(TCA_U32_CLASSID, classid);
        }
        if !u.actions.is_empty() {
            let acts = out.nest_start(TCA_U32_ACT);
            for (i, action) in u.actions.iter().enumerate() {
                let order = u16::try_from(i + 1).unwrap_or(u16::MAX);
                let nest = out.nest_start(order);
                match action {
                    Action::Mirred(m) => {
                        out.attr_str(TCA_ACT_KIND, "mirred");
                        let opts = out.nest_start(TCA_ACT_OPTIONS);
                        let mut p = [0u8; MIRRED_LEN];
                        for (at, v) in [
                            (8, m.verdict.to_ne_bytes()),
                            (20, m.eaction.to_ne_bytes()),
                            (24, m.ifindex.to_ne_bytes()),
                        ] {
                            if let Some(slot) = p.get_mut(at..at + 4) {
                                slot.copy_from_slice(&v);
                            }
                        }
                        out.attr(TCA_MIRRED_PARMS, &p);
                        out.nest_end(opts);
                    }
                    Action::Other(kind) => {
                        out.attr_str(TCA_ACT_KIND, kind);
                    }
                }
                out.nest_end(nest);
            }
            out.nest_end(acts);
        }
        out.nest_end(options);
    }

    /// Decodes a filter message payload. The kernel lists, beside each u32 filter, the
    /// priority's head and its hash table node; they parse too (without a selector).
    pub fn parse(payload: &[u8]) -> Result<Filter, WireError> {
        let header = TcMsg::parse(payload)?;
        let mut kind = None;
        let mut options = None;
        for attr in Attrs::new(payload.get(TCMSG_LEN..).unwrap_or_default()) {
            let attr = attr?;
            match attr.kind() {
                TCA_KIND => kind = Some(attr.as_str()?.to_owned()),
                TCA_OPTIONS => options = Some(attr.payload()),
                _ => {}
            }
        }
        let kind = kind.ok_or(WireError::Missing("TCA_KIND"))?;
        let u32 = match (kind.as_str(), options) {
            ("u32", Some(o)) => Some(parse_u32(o)?),
            ("u32", None) => Some(U32::default()),
            _ => None,
        };
        Ok(Filter {
            ifindex: header.ifindex,
            parent: header.parent,
            handle: header.handle,
            priority: (header.info >> 16) as u16,
            protocol: u16::from_be((header.info & 0xFFFF) as u16),
            kind,
            u32,
        })
    }
}

fn parse_u32(options: &[u8]) -> Result<U32, WireError> {
    let mut u = U32::default();
    for attr in Attrs::new(options) {
        let attr = attr?;
        match attr.kind() {
            TCA_U32_CLASSID => u.classid = Some(attr.as_u32()?),
            TCA_U32_DIVISOR => u.divisor = Some(attr.as_u32()?),
            TCA_U32_SEL => {
                let p = attr.payload();
                let head = p
                    .get(..SEL_LEN)
                    .ok_or(WireError::Truncated("u32 selector"))?;
                u.has_selector = true;
                u.terminal = head.first().is_some_and(|f| f & TC_U32_TERMINAL != 0);
                let nkeys = usize::from(head.get(2).copied().unwrap_or_default());
                for i in 0..nkeys {
                    let at = SEL_LEN + i * KEY_LEN;
                    let word = |o: usize| {
                        p.get(at + o..at + o + 4)
                            .and_then(|b| <[u8; 4]>::try_from(b).ok())
                            .ok_or(WireError::Truncated("u32 key"))
                    };
                    u.keys.push(U32Key {
                        mask: u32::from_be_bytes(word(0)?),
                        val: u32::from_be_bytes(word(4)?),
                        off: i32::from_ne_bytes(word(8)?),
                        offmask: i32::from_ne_bytes(word(12)?),
                    });
                }
            }
            TCA_U32_ACT => {
                let mut numbered = Vec::new();
                for act in attr.nested() {
                    let act = act?;
                    numbered.push((act.kind(), parse_action(act.payload())?));
                }
                numbered.sort_by_key(|(order, _)| *order);
                u.actions = numbered.into_iter().map(|(_, a)| a).collect();
            }
            _ => {}
        }
    }
    Ok(u)
}

fn parse_action(payload: &[u8]) -> Result<Action, WireError> {
    let mut kind = None;
    let mut options: &[u8] = &[];
    for attr in Attrs::new(payload) {
        let attr = attr?;
        match attr.kind() {
            TCA_ACT_KIND => kind = Some(attr.as_str()?.to_owned()),
            TCA_ACT_OPTIONS => options = attr.payload(),
            _ => {}
        }
    }
    let kind = kind.ok_or(WireError::Missing("TCA_ACT_KIND"))?;
    if kind != "mirred" {
        return Ok(Action::Other(kind));
    }
    for attr in Attrs::new(options) {
        let attr = attr?;
        if attr.kind() == TCA_MIRRED_PARMS {
            let p = attr.payload();
            let get = |at| read_u32(p, at).ok_or(WireError::Truncated("tc_mirred"));
            return Ok(Action::Mirred(Mirred {
                verdict: get(8)? as i32,
                eaction: get(20)? as i32,
                ifindex: get(24)?,
            }));
        }
    }
    Err(WireError::Missing("TCA_MIRRED_PARMS"))
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} filter pref {} parent {} dev index {}",
            self.kind,
            self.priority,
            show_handle(self.parent),
            self.ifindex
        )
    }
}

impl Netlink {
    /// Adds a filter.
    pub fn filter_add(&mut self, filter: &Filter) -> Result<()> {
        let mut req = MessageBuilder::new(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
        filter.emit(&mut req);
        self.request_ack("add filter", filter, req)
    }

    /// Deletes every filter of priority `priority` and `protocol` on `parent` of `ifindex`.
    pub fn filter_delete(
        &mut self,
        ifindex: u32,
        parent: u32,
        priority: u16,
        protocol: u16,
    ) -> Result<()> {
        let filter = Filter {
            ifindex,
            parent,
            handle: 0,
            priority,
            protocol,
            kind: String::new(),
            u32: None,
        };
        let mut req = MessageBuilder::new(RTM_DELTFILTER, 0);
        filter.header().emit(&mut req);
        self.request_ack("delete filter", &filter, req)
    }

    /// Lists the filters attached to `parent` (a qdisc handle such as `ffff:`) of `ifindex`.
    pub fn filter_list(&mut self, ifindex: u32, parent: u32) -> Result<Vec<Filter>> {
        let mut req = MessageBuilder::new(RTM_GETTFILTER, 0);
        TcMsg {
            ifindex,
            parent,
            ..TcMsg::default()
        }
        .emit(&mut req);
        let object = format!(
            "filters of dev index {ifindex} parent {}",
            show_handle(parent)
        );
        self.dump("list", &object, req, |m| {
            Filter::parse(m.payload()).map(Some)
        })
    }
}
