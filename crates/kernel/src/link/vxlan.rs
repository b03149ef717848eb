//! vxlan devices: what a creation request asks for ([`VxlanSpec`]) and what the kernel
//! reports about an existing one ([`VxlanInfo`]), both as the `IFLA_INFO_DATA` members of
//! kind `vxlan`.
//!
//! The overlay agent creates one device (flannel's `flannel.1`), then on every restart reads
//! it back and recreates it only when it differs from what it wants ([`VxlanInfo::matches`]).

use std::net::IpAddr;

use super::LinkId;
use crate::error::Result;
use crate::nl::consts::{
    IFLA_VXLAN_GBP, IFLA_VXLAN_ID, IFLA_VXLAN_LEARNING, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL,
    IFLA_VXLAN_LOCAL6, IFLA_VXLAN_PORT, IFLA_VXLAN_TTL, IFLA_VXLAN_UDP_CSUM,
};
use crate::nl::{Attr, Attrs, MessageBuilder, Netlink, WireError};

/// The settings of a vxlan device to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanSpec {
    /// VXLAN network identifier (24 bits).
    pub vni: u32,
    /// Source address of encapsulated packets (`IFLA_VXLAN_LOCAL` or `LOCAL6`).
    pub local: Option<IpAddr>,
    /// UDP destination port; 0 lets the kernel choose (8472, Linux's historical port).
    pub port: u16,
    /// Index of the underlay device encapsulated packets leave through.
    pub dev: Option<u32>,
    /// Learn remote MACs from received packets. An agent that programs the FDB itself
    /// turns it off (`nolearning`).
    pub learning: bool,
    /// Group Based Policy extension.
    pub gbp: bool,
    /// Checksum the outer UDP header (IPv4 underlay); the kernel's default when unset.
    pub udp_csum: Option<bool>,
    /// TTL of encapsulated packets (0 = inherit); the kernel's default when unset.
    pub ttl: Option<u8>,
}

impl VxlanSpec {
    /// VNI `vni` on `port`, learning on, nothing else set (like `ip link add … type vxlan id
    /// VNI dstport PORT`).
    pub fn new(vni: u32, port: u16) -> Self {
        VxlanSpec {
            vni,
            local: None,
            port,
            dev: None,
            learning: true,
            gbp: false,
            udp_csum: None,
            ttl: None,
        }
    }

    /// Encodes the members of `IFLA_INFO_DATA` (the caller opens and closes the nest), in
    /// the order iproute2 sends them.
    pub fn emit(&self, out: &mut MessageBuilder) {
        if let Some(dev) = self.dev {
            out.attr_u32(IFLA_VXLAN_LINK, dev);
        }
        if let Some(ttl) = self.ttl {
            out.attr_u8(IFLA_VXLAN_TTL, ttl);
        }
        if let Some(csum) = self.udp_csum {
            out.attr_u8(IFLA_VXLAN_UDP_CSUM, u8::from(csum));
        }
        if self.gbp {
            out.attr(IFLA_VXLAN_GBP, &[]);
        }
        out.attr_u32(IFLA_VXLAN_ID, self.vni);
        if let Some(local) = &self.local {
            let ty = match local {
                IpAddr::V4(_) => IFLA_VXLAN_LOCAL,
                IpAddr::V6(_) => IFLA_VXLAN_LOCAL6,
            };
            out.attr_ip(ty, local);
        }
        out.attr_u8(IFLA_VXLAN_LEARNING, u8::from(self.learning));
        // The one big-endian member: it is copied straight into the UDP header.
        out.attr(IFLA_VXLAN_PORT, &self.port.to_be_bytes());
    }
}

/// What the kernel reports about an existing vxlan device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanInfo {
    /// VXLAN network identifier.
    pub vni: u32,
    /// Source address of encapsulated packets, if one was set.
    pub local: Option<IpAddr>,
    /// UDP destination port.
    pub port: u16,
    /// Index of the underlay device, if one was set.
    pub dev: Option<u32>,
    /// Whether remote MACs are learned from received packets.
    pub learning: bool,
    /// Group Based Policy extension.
    pub gbp: bool,
    /// Outer UDP checksums (IPv4 underlay).
    pub udp_csum: bool,
    /// TTL of encapsulated packets (0 = inherit).
    pub ttl: u8,
}

impl VxlanInfo {
    /// Decodes the members of a vxlan's `IFLA_INFO_DATA`.
    pub fn parse(data: &[u8]) -> Result<Self, WireError> {
        let mut vni = None;
        let mut info = VxlanInfo {
            vni: 0,
            local: None,
            port: 0,
            dev: None,
            learning: false,
            gbp: false,
            udp_csum: false,
            ttl: 0,
        };
        for attr in Attrs::new(data) {
            let attr = attr?;
            match attr.kind() {
                IFLA_VXLAN_ID => vni = Some(attr.as_u32()?),
                IFLA_VXLAN_LINK => info.dev = Some(attr.as_u32()?).filter(|&d| d != 0),
                IFLA_VXLAN_LOCAL | IFLA_VXLAN_LOCAL6 => info.local = Some(attr.as_ip()?),
                IFLA_VXLAN_PORT => info.port = be16(&attr)?,
                IFLA_VXLAN_LEARNING => info.learning = attr.as_u8()? != 0,
                IFLA_VXLAN_GBP => info.gbp = true,
                IFLA_VXLAN_UDP_CSUM => info.udp_csum = attr.as_u8()? != 0,
                IFLA_VXLAN_TTL => info.ttl = attr.as_u8()?,
                _ => {}
            }
        }
        info.vni = vni.ok_or(WireError::Missing("IFLA_VXLAN_ID"))?;
        Ok(info)
    }

    /// Whether a device with these settings is what `spec` would create: same VNI, local
    /// address, learning and GBP; same port unless `spec` leaves it to the kernel (0); same
    /// underlay device, checksum and TTL where `spec` sets them.
    pub fn matches(&self, spec: &VxlanSpec) -> bool {
        self.vni == spec.vni
            && self.local == spec.local
            && (spec.port == 0 || self.port == spec.port)
            && spec.dev.map_or(true, |d| self.dev == Some(d))
            && self.learning == spec.learning
            && self.gbp == spec.gbp
            && spec.udp_csum.map_or(true, |c| self.udp_csum == c)
            && spec.ttl.map_or(true, |t| self.ttl == t)
    }
}

fn be16(attr: &Attr<'_>) -> Result<u16, WireError> {
    <[u8; 2]>::try_from(attr.payload())
        .map(u16::from_be_bytes)
        .map_err(|_| WireError::BadLength("IFLA_VXLAN_PORT"))
}

impl Netlink {
    /// Reads back the settings of a vxlan device; `Ok(None)` when the link is of another
    /// kind, and an error that [`crate::Error::is_not_found`] recognises when it is gone.
    pub fn vxlan_info(&mut self, id: LinkId<'_>) -> Result<Option<VxlanInfo>> {
        Ok(self.link_get_message(id)?.vxlan_info)
    }
}
