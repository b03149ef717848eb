//! `runtimeConfig.portMappings` entries: the `portMappings` capability.

use std::fmt;

use super::validate::ip_field;
use crate::json::{FieldError, Obj};

/// The transport protocol of a port mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP, also the default when `protocol` is absent or empty.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The lower-case name runtimes send and rule comments use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    /// Reads a protocol name in any case (`"TCP"` works, as it does with iptables). Empty means
    /// TCP: some runtimes leave the field empty for TCP.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "" | "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `runtimeConfig.portMappings` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// `hostPort`, 1–65535.
    pub host_port: u16,
    /// `containerPort`, 1–65535.
    pub container_port: u16,
    /// `protocol`, TCP when absent.
    pub protocol: Protocol,
    /// `hostIP`: the host address to listen on; `None` (absent or empty) means every address.
    pub host_ip: Option<String>,
}

fn port(o: &Obj<'_>, field: &str) -> Result<u16, FieldError> {
    let n = o.i64(field)?.ok_or_else(|| FieldError::Missing {
        path: o.field_path(field),
    })?;
    u16::try_from(n).ok().filter(|p| *p != 0).ok_or_else(|| {
        FieldError::invalid(o.field_path(field), format!("port {n} is not in 1-65535"))
    })
}

impl PortMapping {
    /// Reads one entry; errors name fields under `o`'s path.
    pub fn parse(o: &Obj<'_>) -> Result<PortMapping, FieldError> {
        let protocol = match o.str("protocol")? {
            None => Protocol::Tcp,
            Some(s) => Protocol::parse(s).ok_or_else(|| {
                FieldError::invalid(
                    o.field_path("protocol"),
                    format!("unknown protocol {s:?} (expected tcp, udp or sctp)"),
                )
            })?,
        };
        Ok(PortMapping {
            host_port: port(o, "hostPort")?,
            container_port: port(o, "containerPort")?,
            protocol,
            host_ip: ip_field_allow_empty(o, "hostIP")?,
        })
    }
}

/// An address field where an empty string means "not set", as runtimes send `"hostIP": ""`.
fn ip_field_allow_empty(o: &Obj<'_>, field: &str) -> Result<Option<String>, FieldError> {
    if o.str(field)? == Some("") {
        return Ok(None);
    }
    Ok(ip_field(o, field)?.map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names() {
        assert_eq!(Protocol::parse("SCTP"), Some(Protocol::Sctp));
        assert_eq!(Protocol::parse(""), Some(Protocol::Tcp));
        assert_eq!(Protocol::parse("tcp6"), None);
        assert_eq!(Protocol::Udp.to_string(), "udp");
    }
}
