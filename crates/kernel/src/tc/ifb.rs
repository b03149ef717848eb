//! The `ifb` link kind (intermediate functional block): a device that only takes packets
//! redirected to it and hands them back where they came from, so that a qdisc on it shapes
//! another device's received traffic.
//!
//! [`NewIfb::alias`] records an owner in the link's alias (`IFLA_IFALIAS`): the kernel keeps
//! it with the device, so a later clean-up can tell its own devices from others' by one dump
//! ([`Netlink::ifb_list`]).

use crate::error::{Error, Result};
use crate::link::{check_name, IfInfo, IFINFO_LEN, IFLA_TXQLEN};
use crate::nl::consts::{
    IFF_UP, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, NLM_F_CREATE,
    NLM_F_EXCL, RTEXT_FILTER_SKIP_STATS, RTM_GETLINK, RTM_NEWLINK,
};
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};
use crate::MacAddr;

/// `IFLA_IFALIAS`: a free-text alias of up to 255 bytes.
pub const IFLA_IFALIAS: u16 = 20;
/// Longest alias the kernel keeps (`IFALIASZ` minus the NUL).
pub const MAX_ALIAS_LEN: usize = 255;

/// An ifb to create.
#[derive(Debug, Clone, Copy)]
pub struct NewIfb<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its MTU (the kernel's default, 1500, when unset).
    pub mtu: Option<u32>,
    /// Its transmit queue length, which bounds the packets waiting inside it (the
    /// kernel's default, 1000, when unset).
    pub txqlen: Option<u32>,
    /// Up on creation.
    pub up: bool,
    /// The alias to set right after creation (the kernel ignores one in a creation
    /// request).
    pub alias: Option<&'a str>,
}

/// An ifb as a dump reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfbLink {
    /// Interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// MAC address.
    pub mac: Option<MacAddr>,
    /// MTU.
    pub mtu: u32,
    /// Transmit queue length.
    pub txqlen: u32,
    /// Alias, when set.
    pub alias: Option<String>,
    /// Device flags.
    pub flags: u32,
}

impl NewIfb<'_> {
    /// The creation request's payload (without the alias).
    pub fn emit(&self, out: &mut MessageBuilder) {
        let mut header = IfInfo::default();
        if self.up {
            header.flags = IFF_UP;
            header.change = IFF_UP;
        }
        header.emit(out);
        out.attr_str(IFLA_IFNAME, self.name);
        if let Some(mtu) = self.mtu {
            out.attr_u32(IFLA_MTU, mtu);
        }
        if let Some(q) = self.txqlen {
            out.attr_u32(IFLA_TXQLEN, q);
        }
        let info = out.nest_start(IFLA_LINKINFO);
        out.attr_str(IFLA_INFO_KIND, "ifb");
        out.nest_end(info);
    }
}

fn parse_ifb(payload: &[u8]) -> Result<Option<IfbLink>, WireError> {
    let header = IfInfo::parse(payload)?;
    let mut link = IfbLink {
        index: header.index,
        name: String::new(),
        mac: None,
        mtu: 0,
        txqlen: 0,
        alias: None,
        flags: header.flags,
    };
    let mut is_ifb = false;
    for attr in Attrs::new(payload.get(IFINFO_LEN..).unwrap_or_default()) {
        let attr = attr?;
        match attr.kind() {
            IFLA_IFNAME => link.name = attr.as_str()?.to_owned(),
            IFLA_ADDRESS => {
                link.mac = <[u8; 6]>::try_from(attr.payload()).ok().map(MacAddr);
            }
            IFLA_MTU => link.mtu = attr.as_u32()?,
            IFLA_TXQLEN => link.txqlen = attr.as_u32()?,
            IFLA_IFALIAS => link.alias = Some(attr.as_str()?.to_owned()),
            IFLA_LINKINFO => {
                for info in attr.nested() {
                    let info = info?;
                    if info.kind() == IFLA_INFO_KIND && info.as_str()? == "ifb" {
                        is_ifb = true;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(is_ifb.then_some(link))
}

impl Netlink {
    /// Creates an ifb, then sets its alias if one is given (the device is deleted again
    /// when that fails). Fails with `EEXIST` if the name is taken.
    pub fn ifb_add(&mut self, spec: &NewIfb<'_>) -> Result<()> {
        let object = format!("{:?} (ifb)", spec.name);
        check_name(spec.name).map_err(|why| Error::invalid("create link", object.clone(), why))?;
        if let Some(alias) = spec.alias {
            if alias.len() > MAX_ALIAS_LEN {
                let why = format!("alias longer than {MAX_ALIAS_LEN} bytes");
                return Err(Error::invalid("create link", object, why));
            }
        }
        let mut req = MessageBuilder::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        spec.emit(&mut req);
        self.request_ack("create link", &object, req)?;
        if let Some(alias) = spec.alias {
            if let Err(e) = self.link_set_alias(crate::LinkId::Name(spec.name), alias) {
                let _ = self.link_delete(crate::LinkId::Name(spec.name));
                return Err(e);
            }
        }
        Ok(())
    }

    /// Lists the ifb devices of the socket's namespace, with their aliases.
    pub fn ifb_list(&mut self) -> Result<Vec<IfbLink>> {
        let mut req = MessageBuilder::new(RTM_GETLINK, 0);
        IfInfo::default().emit(&mut req);
        req.attr_u32(crate::nl::consts::IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        self.dump("list", &"ifb links", req, |m| parse_ifb(m.payload()))
    }

    /// Gets one ifb by name; `Ok(None)` when there is no such link or it is not an ifb.
    pub fn ifb_get(&mut self, name: &str) -> Result<Option<IfbLink>> {
        check_name(name).map_err(|why| Error::invalid("get link", format!("{name:?}"), why))?;
        let mut req = MessageBuilder::new(RTM_GETLINK, 0);
        IfInfo::default().emit(&mut req);
        req.attr_str(IFLA_IFNAME, name);
        req.attr_u32(crate::nl::consts::IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        match self.request_one("get link", &format!("{name:?}"), req, |m| {
            parse_ifb(m.payload())
        }) {
            Ok(found) => Ok(found),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
