//! Queueing disciplines: add, delete, list.

use std::fmt;

use super::{
    show_handle, TcMsg, HANDLE_INGRESS, HANDLE_ROOT, INGRESS_HANDLE, RTM_DELQDISC, RTM_GETQDISC,
    RTM_NEWQDISC, TCA_KIND, TCA_OPTIONS, TCMSG_LEN,
};
use crate::error::Result;
use crate::nl::consts::{NLM_F_CREATE, NLM_F_EXCL};
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

use super::tbf::Tbf;

/// A qdisc's kind, with the parameters of the kinds this crate configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QdiscKind {
    /// Token bucket filter.
    Tbf(Tbf),
    /// The ingress qdisc (`ffff:`), a hook for filters on received packets.
    Ingress,
    /// The clsact qdisc: ingress and egress filter hooks.
    Clsact,
    /// Any other kind, by name (parameters not decoded).
    Other(String),
}

impl QdiscKind {
    /// The kind's name as `TCA_KIND` spells it.
    pub fn name(&self) -> &str {
        match self {
            QdiscKind::Tbf(_) => "tbf",
            QdiscKind::Ingress => "ingress",
            QdiscKind::Clsact => "clsact",
            QdiscKind::Other(name) => name,
        }
    }
}

/// A qdisc on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qdisc {
    /// The device.
    pub ifindex: u32,
    /// Its handle (`1:` is `0x1_0000`).
    pub handle: u32,
    /// Its parent: [`HANDLE_ROOT`], [`HANDLE_INGRESS`] or a class.
    pub parent: u32,
    /// Kind and parameters.
    pub kind: QdiscKind,
}

impl Qdisc {
    /// A tbf as the root qdisc of `ifindex`, with handle `handle`.
    pub fn root_tbf(ifindex: u32, handle: u32, tbf: Tbf) -> Qdisc {
        Qdisc {
            ifindex,
            handle,
            parent: HANDLE_ROOT,
            kind: QdiscKind::Tbf(tbf),
        }
    }

    /// The ingress qdisc of `ifindex`.
    pub fn ingress(ifindex: u32) -> Qdisc {
        Qdisc {
            ifindex,
            handle: INGRESS_HANDLE,
            parent: HANDLE_INGRESS,
            kind: QdiscKind::Ingress,
        }
    }

    /// The clsact qdisc of `ifindex`.
    pub fn clsact(ifindex: u32) -> Qdisc {
        Qdisc {
            kind: QdiscKind::Clsact,
            ..Qdisc::ingress(ifindex)
        }
    }

    /// Whether this is the device's root qdisc.
    pub fn is_root(&self) -> bool {
        self.parent == HANDLE_ROOT
    }

    /// Encodes header, kind and options. Ingress and clsact get an empty `TCA_OPTIONS`, as
    /// iproute2 sends it.
    pub fn emit(&self, out: &mut MessageBuilder) {
        TcMsg {
            ifindex: self.ifindex,
            handle: self.handle,
            parent: self.parent,
            info: 0,
        }
        .emit(out);
        out.attr_str(TCA_KIND, self.kind.name());
        match &self.kind {
            QdiscKind::Tbf(tbf) => {
                let nest = out.nest_start(TCA_OPTIONS);
                tbf.emit(out);
                out.nest_end(nest);
            }
            QdiscKind::Ingress | QdiscKind::Clsact => {
                out.attr(TCA_OPTIONS, &[]);
            }
            QdiscKind::Other(_) => {}
        }
    }

    /// Decodes a qdisc message payload.
    pub fn parse(payload: &[u8]) -> Result<Qdisc, WireError> {
        let header = TcMsg::parse(payload)?;
        let mut kind = None;
        let mut options: &[u8] = &[];
        for attr in Attrs::new(payload.get(TCMSG_LEN..).unwrap_or_default()) {
            let attr = attr?;
            match attr.kind() {
                TCA_KIND => kind = Some(attr.as_str()?.to_owned()),
                TCA_OPTIONS => options = attr.payload(),
                _ => {}
            }
        }
        let kind = match kind.ok_or(WireError::Missing("TCA_KIND"))?.as_str() {
            "tbf" => QdiscKind::Tbf(Tbf::parse(options)?),
            "ingress" => QdiscKind::Ingress,
            "clsact" => QdiscKind::Clsact,
            other => QdiscKind::Other(other.to_owned()),
        };
        Ok(Qdisc {
            ifindex: header.ifindex,
            handle: header.handle,
            parent: header.parent,
            kind,
        })
    }
}

impl fmt::Display for Qdisc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} parent {} dev index {}",
            self.kind.name(),
            show_handle(self.handle),
            show_handle(self.parent),
            self.ifindex
        )
    }
}

impl Netlink {
    /// Adds a qdisc; fails with `EEXIST` when the device already has one there (a root
    /// qdisc the kernel attached by default does not count).
    pub fn qdisc_add(&mut self, qdisc: &Qdisc) -> Result<()> {
        let mut req = MessageBuilder::new(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
        qdisc.emit(&mut req);
        self.request_ack("add qdisc", qdisc, req)
    }

    /// Deletes the qdisc at `qdisc`'s parent with its handle (kind and options are not
    /// sent). Deleting the root qdisc gives the device back its default one.
    pub fn qdisc_delete(&mut self, qdisc: &Qdisc) -> Result<()> {
        let mut req = MessageBuilder::new(RTM_DELQDISC, 0);
        TcMsg {
            ifindex: qdisc.ifindex,
            handle: qdisc.handle,
            parent: qdisc.parent,
            info: 0,
        }
        .emit(&mut req);
        self.request_ack("delete qdisc", qdisc, req)
    }

    /// Lists the qdiscs of device `ifindex` (of every device when `None`).
    pub fn qdisc_list(&mut self, ifindex: Option<u32>) -> Result<Vec<Qdisc>> {
        let mut req = MessageBuilder::new(RTM_GETQDISC, 0);
        TcMsg {
            ifindex: ifindex.unwrap_or(0),
            ..TcMsg::default()
        }
        .emit(&mut req);
        // The kernel dumps every device's qdiscs whatever the header says; filter here.
        self.dump("list", &"qdiscs", req, |m| {
            let q = Qdisc::parse(m.payload())?;
            Ok(ifindex.map_or(true, |i| i == q.ifindex).then_some(q))
        })
    }
}
