//! The crate's error: every failure names the operation and the object it was about, so a
//! plugin can pass it up unchanged (`create link "veth0": File exists`).

use std::fmt;
use std::io;

use crate::nl::reply::{KernelError, ReplyError};
use crate::nl::WireError;

/// An operating-system error number (positive, as in `errno.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(i32);

impl Errno {
    /// Wraps a positive errno value.
    pub const fn new(code: i32) -> Self {
        Errno(code)
    }

    /// The raw value, for matching against `libc::E*`.
    pub const fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Errno {
    /// The C library's description ("File exists"), without the "(os error N)" suffix that
    /// `io::Error` adds, so messages read like the ones `ip` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        // SAFETY: `buf` is a valid writable buffer of the length passed; the XSI strerror_r
        // that libc exposes writes a NUL-terminated string into it and touches nothing else.
        let rc = unsafe { libc::strerror_r(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        match (rc, std::str::from_utf8(buf.get(..end).unwrap_or_default())) {
            (0, Ok(text)) if !text.is_empty() => f.write_str(text),
            _ => write!(f, "errno {}", self.0),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({}: {self})", self.0)
    }
}

/// What went wrong, without the operation and object (see [`Error`]).
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The kernel refused a netlink request.
    #[error("{}", .0.errno)]
    Kernel(KernelError),
    /// A system call failed (socket, setns, mount, open, read, write).
    #[error("{0}")]
    Io(io::Error),
    /// A netlink reply could not be decoded, or a request could not be encoded.
    #[error("{0}")]
    Wire(WireError),
    /// A dump kept being interrupted by concurrent changes.
    #[error("dump interrupted {0} times in a row by concurrent changes")]
    DumpInterrupted(u32),
    /// The kernel reported that replies were lost on the socket.
    #[error("netlink overrun: replies were lost")]
    Overrun,
    /// The caller passed a value the kernel would reject or misread (a name too long).
    #[error("invalid {0}")]
    Invalid(String),
}

/// A failed operation on a named object.
#[derive(Debug)]
pub struct Error {
    op: &'static str,
    object: String,
    kind: ErrorKind,
}

impl Error {
    /// An error of `kind` while doing `op` (e.g. "create link") on `object` (e.g. `"veth0"`).
    pub fn new(op: &'static str, object: impl Into<String>, kind: ErrorKind) -> Self {
        Error {
            op,
            object: object.into(),
            kind,
        }
    }

    /// A failed system call; `source` is usually `io::Error::last_os_error()`.
    pub fn io(op: &'static str, object: impl Into<String>, source: io::Error) -> Self {
        Error::new(op, object, ErrorKind::Io(source))
    }

    /// A value the caller passed that cannot be used.
    pub fn invalid(op: &'static str, object: impl Into<String>, why: impl Into<String>) -> Self {
        Error::new(op, object, ErrorKind::Invalid(why.into()))
    }

    /// A netlink failure, tied to the operation and object.
    pub(crate) fn reply(op: &'static str, object: impl Into<String>, e: ReplyError) -> Self {
        let kind = match e {
            ReplyError::Kernel(k) => ErrorKind::Kernel(k),
            ReplyError::Wire(w) => ErrorKind::Wire(w),
            ReplyError::Overrun => ErrorKind::Overrun,
        };
        Error::new(op, object, kind)
    }

    /// The operation, e.g. "create link".
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The object, e.g. `"veth0"` or `10.0.0.0/24 table 100`.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The errno, whether the kernel returned it over netlink or a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match &self.kind {
            ErrorKind::Kernel(k) => Some(k.errno),
            ErrorKind::Io(e) => e.raw_os_error().map(Errno::new),
            _ => None,
        }
    }

    /// The object already exists (`EEXIST`).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(Errno::new(libc::EEXIST))
    }

    /// The object does not exist: no such device, file, process, address or route. DEL paths
    /// treat this as success.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.errno().map(Errno::raw),
            Some(libc::ENODEV | libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.object, self.kind)?;
        if let ErrorKind::Kernel(KernelError {
            message: Some(m), ..
        }) = &self.kind
        {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

// The kind is part of the message, so it is not also reported as a source: chains printed by
// callers would otherwise repeat it.
impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_object_and_cause() {
        let k = KernelError {
            errno: Errno::new(libc::EEXIST),
            message: None,
        };
        let e = Error::new("create link", "\"veth0\"", ErrorKind::Kernel(k));
        assert_eq!(e.to_string(), "create link \"veth0\": File exists");
        assert!(e.is_exists() && !e.is_not_found());

        let k = KernelError {
            errno: Errno::new(libc::EINVAL),
            message: Some("Invalid prefix for given prefix length".into()),
        };
        let e = Error::new("add route", "10.0.0.1/8 table 254", ErrorKind::Kernel(k));
        assert_eq!(
            e.to_string(),
            "add route 10.0.0.1/8 table 254: Invalid argument \
             (Invalid prefix for given prefix length)"
        );
    }

    #[test]
    fn not_found_covers_the_errnos_delete_paths_see() {
        for code in [libc::ENODEV, libc::ENOENT, libc::ESRCH, libc::EADDRNOTAVAIL] {
            let e = Error::io("delete", "x", io::Error::from_raw_os_error(code));
            assert!(e.is_not_found(), "{code}");
        }
        let e = Error::invalid("create link", "\"\"", "name: empty");
        assert_eq!(e.errno(), None);
        assert_eq!(e.to_string(), "create link \"\": invalid name: empty");
    }

    #[test]
    fn unknown_errno_still_displays() {
        assert_eq!(Errno::new(libc::ENODEV).to_string(), "No such device");
        assert!(!Errno::new(99_999).to_string().is_empty());
    }
}
