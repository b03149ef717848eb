//! What the files of a network directory mean: reservations named by their address and
//! holding their owner, the allocator's cursor, the lock, and our own temporary files.

use std::net::IpAddr;

use twill_cni::result::canonical_ip;

/// The prefix of the allocator's cursor files, followed by the range set's index.
pub const LAST_RESERVED_PREFIX: &str = "last_reserved_ip.";

/// The file a reservation's content is written to before it is linked to the address's name.
pub const RESERVE_TMP: &str = ".twill-reserve.tmp";

/// The file a cursor is written to before it is renamed over `last_reserved_ip.N`.
pub const CURSOR_TMP: &str = ".twill-cursor.tmp";

/// The separator between the container ID and the interface name in a reservation.
const LINE_BREAK: &str = "\r\n";

/// Who holds a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The container ID.
    pub container_id: String,
    /// The interface name; `None` in files written by versions that stored only the ID.
    pub ifname: Option<String>,
}

impl Owner {
    /// The file content for `(container_id, ifname)`: `<id>\r\n<ifname>`, the ID trimmed as
    /// the reference trims it.
    pub fn content(container_id: &str, ifname: &str) -> String {
        format!("{}{LINE_BREAK}{ifname}", container_id.trim())
    }

    /// Reads a reservation's content. Surrounding white space is ignored, as the reference
    /// ignores it when matching.
    pub fn parse(content: &str) -> Owner {
        let content = content.trim();
        match content.split_once(LINE_BREAK) {
            Some((id, ifname)) => Owner {
                container_id: id.to_owned(),
                ifname: Some(ifname.to_owned()),
            },
            None => Owner {
                container_id: content.to_owned(),
                ifname: None,
            },
        }
    }

    /// Written for exactly this attachment.
    pub fn is(&self, container_id: &str, ifname: &str) -> bool {
        self.container_id == container_id.trim() && self.ifname.as_deref() == Some(ifname)
    }

    /// Written, in the old ID-only format, for this container.
    pub fn is_legacy_of(&self, container_id: &str) -> bool {
        self.ifname.is_none() && self.container_id == container_id.trim()
    }
}

/// What a directory entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A reservation of this address.
    Reservation(IpAddr),
    /// One of our temporary files; any seen while holding the lock is left from a crash.
    Temp,
    /// The lock, a cursor, or something that is not ours to touch.
    Other,
}

/// Classifies a file name. Addresses are only recognised in the form the reference writes
/// them (Go's `IP.String()`, which the standard formatting matches), so that a file a user
/// put there under another spelling is never taken for a reservation.
pub fn classify(name: &str) -> Kind {
    if name == RESERVE_TMP || name == CURSOR_TMP {
        return Kind::Temp;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) if canonical_ip(ip) == ip && ip.to_string() == name => Kind::Reservation(ip),
        _ => Kind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips_and_legacy_reads() {
        let c = Owner::content(" abc \n", "eth0");
        assert_eq!(c, "abc\r\neth0");
        let o = Owner::parse(&c);
        assert!(o.is("abc", "eth0"));
        assert!(!o.is("abc", "eth1"));
        assert!(!o.is_legacy_of("abc"));
        let old = Owner::parse("abc\n");
        assert_eq!(old.ifname, None);
        assert!(old.is_legacy_of("abc"));
        assert!(!old.is("abc", "eth0"));
        assert_eq!(Owner::parse("").container_id, "");
    }

    #[test]
    fn names() {
        assert_eq!(
            classify("10.0.0.2"),
            Kind::Reservation("10.0.0.2".parse().unwrap())
        );
        assert_eq!(
            classify("fd00::2"),
            Kind::Reservation("fd00::2".parse().unwrap())
        );
        for other in [
            "lock",
            "last_reserved_ip.0",
            "fd00:0::2",
            "FD00::2",
            "::ffff:10.0.0.1",
            "x",
            crate::store::INDEX_DIR,
        ] {
            assert_eq!(classify(other), Kind::Other, "{other}");
        }
        assert_eq!(classify(RESERVE_TMP), Kind::Temp);
        assert_eq!(classify(CURSOR_TMP), Kind::Temp);
    }
}
