//! DHCP options (RFC 2132): the option list of a message, typed readers for the options the
//! client uses, and the route options (33, static routes; 121, classless static routes of
//! RFC 3442).

use std::net::Ipv4Addr;

use super::WireError;

/// Option codes the client reads or writes.
pub mod code {
    /// Padding.
    pub const PAD: u8 = 0;
    /// Subnet mask.
    pub const SUBNET_MASK: u8 = 1;
    /// Routers.
    pub const ROUTER: u8 = 3;
    /// Domain name servers.
    pub const DNS: u8 = 6;
    /// Host name.
    pub const HOST_NAME: u8 = 12;
    /// Static routes (classful).
    pub const STATIC_ROUTES: u8 = 33;
    /// Requested IP address.
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time.
    pub const LEASE_TIME: u8 = 51;
    /// DHCP message type.
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier.
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list.
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Message (a server's reason for a NAK).
    pub const MESSAGE: u8 = 56;
    /// Renewal (T1) time.
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding (T2) time.
    pub const REBINDING_TIME: u8 = 59;
    /// Vendor class identifier.
    pub const VENDOR_CLASS_ID: u8 = 60;
    /// Client identifier.
    pub const CLIENT_ID: u8 = 61;
    /// User class.
    pub const USER_CLASS: u8 = 77;
    /// Classless static routes.
    pub const CLASSLESS_ROUTES: u8 = 121;
    /// End of options.
    pub const END: u8 = 255;
}

/// DHCP message types (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// DHCPDISCOVER.
    Discover = 1,
    /// DHCPOFFER.
    Offer = 2,
    /// DHCPREQUEST.
    Request = 3,
    /// DHCPDECLINE.
    Decline = 4,
    /// DHCPACK.
    Ack = 5,
    /// DHCPNAK.
    Nak = 6,
    /// DHCPRELEASE.
    Release = 7,
    /// DHCPINFORM.
    Inform = 8,
}

impl MessageType {
    /// The type for its number.
    pub fn from_u8(v: u8) -> Option<MessageType> {
        Some(match v {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }
}

/// The options of a message, in order; an option that appears more than once is one option
/// whose value is the concatenation (RFC 3396).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    items: Vec<(u8, Vec<u8>)>,
}

impl Options {
    /// Parses an options field up to `END` (or its end: some servers omit `END`).
    pub fn parse(mut field: &[u8]) -> Result<Options, WireError> {
        let mut out = Options::default();
        while let Some((&c, rest)) = field.split_first() {
            match c {
                code::PAD => field = rest,
                code::END => break,
                _ => {
                    let (&len, rest) = rest
                        .split_first()
                        .ok_or(WireError::Truncated("dhcp option length"))?;
                    let len = usize::from(len);
                    let value = rest
                        .get(..len)
                        .ok_or(WireError::Truncated("dhcp option value"))?;
                    match out.items.iter_mut().find(|(k, _)| *k == c) {
                        Some((_, v)) => v.extend_from_slice(value),
                        None => out.items.push((c, value.to_vec())),
                    }
                    field = rest.get(len..).unwrap_or_default();
                }
            }
        }
        Ok(out)
    }

    /// Appends the options and `END` to `out`; a value longer than 255 bytes is split into
    /// consecutive options of the same code (RFC 3396).
    pub fn emit(&self, out: &mut Vec<u8>) {
        for (c, value) in &self.items {
            if value.is_empty() {
                out.extend_from_slice(&[*c, 0]);
            }
            for chunk in value.chunks(255) {
                out.push(*c);
                out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(chunk);
            }
        }
        out.push(code::END);
    }

    /// Appends an option, or replaces the value of one already present (keeping its place).
    pub fn push(&mut self, c: u8, value: Vec<u8>) {
        match self.items.iter_mut().find(|(k, _)| *k == c) {
            Some((_, v)) => *v = value,
            None => self.items.push((c, value)),
        }
    }

    /// The value of option `c`.
    pub fn get(&self, c: u8) -> Option<&[u8]> {
        self.items
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, v)| v.as_slice())
    }

    /// Every option, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.items.iter().map(|(c, v)| (*c, v.as_slice()))
    }

    /// Option 53.
    pub fn message_type(&self) -> Option<MessageType> {
        match self.get(code::MESSAGE_TYPE)? {
            [t] => MessageType::from_u8(*t),
            _ => None,
        }
    }

    /// The first address of an address option.
    pub fn ipv4(&self, c: u8) -> Option<Ipv4Addr> {
        let v = self.get(c)?;
        let four: [u8; 4] = v.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(four))
    }

    /// Every address of an address-list option (routers, name servers).
    pub fn ipv4_list(&self, c: u8) -> Vec<Ipv4Addr> {
        self.get(c)
            .unwrap_or_default()
            .chunks_exact(4)
            .filter_map(|b| <[u8; 4]>::try_from(b).ok().map(Ipv4Addr::from))
            .collect()
    }

    /// A 32-bit option (lease time, T1, T2), in seconds.
    pub fn u32(&self, c: u8) -> Option<u32> {
        match self.get(c)? {
            [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => None,
        }
    }

    /// Option 1 as a prefix length; `None` when absent or not a contiguous mask.
    pub fn prefix_len(&self) -> Option<u8> {
        let mask = u32::from(self.ipv4(code::SUBNET_MASK)?);
        let ones = mask.leading_ones();
        (mask.checked_shl(ones).unwrap_or(0) == 0).then(|| u8::try_from(ones).ok())?
    }
}

/// One route from option 33 or 121: destination, prefix length, router (`0.0.0.0` means
/// on-link in option 121).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionRoute {
    /// Destination network.
    pub dst: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The next hop.
    pub router: Ipv4Addr,
}

/// Option 121 (RFC 3442): each route is a width byte, the significant octets of the
/// destination, and a 4-byte router. A malformed tail ends the list (as the reference does,
/// routes before it are kept).
pub fn classless_routes(mut v: &[u8]) -> Vec<OptionRoute> {
    let mut out = Vec::new();
    while let Some((&width, rest)) = v.split_first() {
        if width > 32 {
            break;
        }
        let sig = usize::from(width).div_ceil(8);
        let (Some(dst), Some(router)) = (rest.get(..sig), rest.get(sig..sig + 4)) else {
            break;
        };
        let mut d = [0u8; 4];
        if let Some(slot) = d.get_mut(..sig) {
            slot.copy_from_slice(dst);
        }
        let mut r = [0u8; 4];
        r.copy_from_slice(router);
        out.push(OptionRoute {
            dst: Ipv4Addr::from(d),
            prefix_len: width,
            router: Ipv4Addr::from(r),
        });
        v = rest.get(sig + 4..).unwrap_or_default();
    }
    out
}

/// Option 33: pairs of (destination, router); the destination's prefix is its class's
/// (A /8, B /16, C /24, else a host route), as the reference reads it.
pub fn static_routes(v: &[u8]) -> Vec<OptionRoute> {
    v.chunks_exact(8)
        .filter_map(|pair| {
            let dst: [u8; 4] = pair.get(..4)?.try_into().ok()?;
            let router: [u8; 4] = pair.get(4..)?.try_into().ok()?;
            let prefix_len = match dst[0] {
                0..=127 => 8,
                128..=191 => 16,
                192..=223 => 24,
                _ => 32,
            };
            Some(OptionRoute {
                dst: Ipv4Addr::from(dst),
                prefix_len,
                router: Ipv4Addr::from(router),
            })
        })
        .collect()
}

/// The option named in a configuration: one of the reference's names (dhcp-options(5)
/// spelling) or a number 1–254.
pub fn parse_name(name: &str) -> Option<u8> {
    Some(match name {
        "dhcp-client-identifier" => code::CLIENT_ID,
        "subnet-mask" => code::SUBNET_MASK,
        "routers" => code::ROUTER,
        "host-name" => code::HOST_NAME,
        "user-class" => code::USER_CLASS,
        "vendor-class-identifier" => code::VENDOR_CLASS_ID,
        _ => match name.parse::<u8>() {
            Ok(c) if c != code::PAD && c != code::END => c,
            _ => return None,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip_and_concatenate_repeats() {
        let raw = [
            53, 1, 5, 0, 3, 4, 10, 0, 0, 1, 121, 2, 8, 10, 121, 4, 10, 0, 0, 1, 255, 9,
        ];
        let o = Options::parse(&raw).unwrap();
        assert_eq!(o.message_type(), Some(MessageType::Ack));
        assert_eq!(o.ipv4(code::ROUTER), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(o.get(121), Some(&[8, 10, 10, 0, 0, 1][..]));
        let mut out = Vec::new();
        o.emit(&mut out);
        assert_eq!(Options::parse(&out).unwrap(), o);
        assert_eq!(out.last(), Some(&255));
    }

    #[test]
    fn truncated_options_are_refused() {
        assert!(Options::parse(&[53]).is_err());
        assert!(Options::parse(&[53, 4, 1]).is_err());
        assert!(Options::parse(&[0, 0, 255])
            .unwrap()
            .iter()
            .next()
            .is_none());
    }

    #[test]
    fn long_values_are_split() {
        let mut o = Options::default();
        o.push(code::CLIENT_ID, vec![7; 300]);
        let mut out = Vec::new();
        o.emit(&mut out);
        assert_eq!(&out[..2], &[61, 255]);
        assert_eq!(&out[257..259], &[61, 45]);
        assert_eq!(Options::parse(&out).unwrap().get(61).unwrap().len(), 300);
    }

    #[test]
    fn masks_become_prefix_lengths() {
        let mut o = Options::default();
        o.push(code::SUBNET_MASK, vec![255, 255, 255, 0]);
        assert_eq!(o.prefix_len(), Some(24));
        o.push(code::SUBNET_MASK, vec![255, 255, 255, 255]);
        assert_eq!(o.prefix_len(), Some(32));
        o.push(code::SUBNET_MASK, vec![0, 0, 0, 0]);
        assert_eq!(o.prefix_len(), Some(0));
        o.push(code::SUBNET_MASK, vec![255, 0, 255, 0]);
        assert_eq!(o.prefix_len(), None);
        o.push(code::SUBNET_MASK, vec![255, 0]);
        assert_eq!(o.prefix_len(), None);
    }

    #[test]
    fn classless_routes_decode_rfc3442_examples() {
        // 0/0 via 10.0.0.1; 10.17/16 via 10.0.0.2; 192.168.7.128/25 on-link.
        let v = [
            0, 10, 0, 0, 1, 16, 10, 17, 10, 0, 0, 2, 25, 192, 168, 7, 128, 0, 0, 0, 0,
        ];
        let r = classless_routes(&v);
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].dst, r[0].prefix_len), (Ipv4Addr::UNSPECIFIED, 0));
        assert_eq!(r[1].dst, Ipv4Addr::new(10, 17, 0, 0));
        assert_eq!(r[1].router, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(
            (r[2].dst, r[2].prefix_len),
            (Ipv4Addr::new(192, 168, 7, 128), 25)
        );
        assert_eq!(r[2].router, Ipv4Addr::UNSPECIFIED);
        // A bad width or a cut-off route ends the list.
        assert_eq!(classless_routes(&[33, 1, 2, 3, 4, 5, 6, 7, 8]).len(), 0);
        assert_eq!(classless_routes(&[0, 10, 0, 0, 1, 24, 10]).len(), 1);
    }

    #[test]
    fn static_routes_use_the_class_prefix() {
        let v = [
            10, 1, 0, 0, 10, 0, 0, 1, 172, 16, 0, 0, 10, 0, 0, 2, 192, 168, 1, 0, 10, 0, 0, 3,
        ];
        let r = static_routes(&v);
        let lens: Vec<u8> = r.iter().map(|x| x.prefix_len).collect();
        assert_eq!(lens, [8, 16, 24]);
        assert_eq!(r[2].router, Ipv4Addr::new(10, 0, 0, 3));
    }

    #[test]
    fn option_names_and_numbers() {
        assert_eq!(parse_name("routers"), Some(3));
        assert_eq!(parse_name("host-name"), Some(12));
        assert_eq!(parse_name("121"), Some(121));
        assert_eq!(parse_name("0"), None);
        assert_eq!(parse_name("256"), None);
        assert_eq!(parse_name("classless"), None);
    }
}
