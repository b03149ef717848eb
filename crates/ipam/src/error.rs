//! Why an IPAM operation failed, and the CNI code each reason is reported with.

use std::net::IpAddr;
use std::path::PathBuf;

use twill_cni::json::FieldError;
use twill_cni::{CniError, Code};

/// An IPAM failure. Configuration errors name the field (`ipam.ranges[0][1].subnet`), store
/// errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// A field of the wrong JSON type (code 6), missing or malformed (code 7).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A value that parses but is not acceptable, such as a subnet with host bits set (code 7).
    #[error("{path}: {reason}")]
    Invalid {
        /// The field's path.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// Reading or writing the store failed (code 5).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// Every address of a range set is taken (code 11: a release elsewhere frees one).
    #[error("no IP addresses available in range set {set}: {ranges}")]
    Exhausted {
        /// The range set's index.
        set: usize,
        /// The set's ranges, `start-end` joined by commas.
        ranges: String,
    },
    /// A requested address is held by another attachment (code 11).
    #[error("requested IP address {ip} is not available in range set {set}: {ranges}")]
    Taken {
        /// The requested address.
        ip: IpAddr,
        /// The range set it belongs to.
        set: usize,
        /// The set's ranges.
        ranges: String,
    },
    /// The attachment already holds an address of this range set (code 999, as the reference).
    #[error("{ip} has been allocated to {container_id}, duplicate allocation is not allowed")]
    Duplicate {
        /// The address already held.
        ip: IpAddr,
        /// The container holding it.
        container_id: String,
    },
    /// CHECK found an address of the previous result that this attachment does not hold
    /// (code 999).
    #[error("host-local: failed to find a reservation of {ip} for container {container_id} interface {ifname}")]
    NotHeld {
        /// The address.
        ip: IpAddr,
        /// The container.
        container_id: String,
        /// The interface.
        ifname: String,
    },
    /// CHECK found no reservation at all for this attachment (code 999).
    #[error(
        "host-local: failed to find address added by container {container_id} interface {ifname}"
    )]
    NothingHeld {
        /// The container.
        container_id: String,
        /// The interface.
        ifname: String,
    },
    /// A check of a previous result failed, for the reason given (code 999).
    #[error("{0}")]
    Mismatch(String),
    /// Some releases of a DEL or GC failed; every other release was still done (code 5).
    #[error("{} releases failed (all others were done): {}", .0.len(), .0.join("; "))]
    Release(Vec<String>),
}

impl IpamError {
    /// An unacceptable value at `path`.
    pub fn invalid(path: impl Into<String>, reason: impl Into<String>) -> IpamError {
        IpamError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> IpamError {
        IpamError::Io {
            path: path.into(),
            source,
        }
    }

    /// The CNI code this error is reported with.
    pub fn code(&self) -> Code {
        match self {
            IpamError::Field(e) => CniError::from(e.clone()).code,
            IpamError::Invalid { .. } => Code::INVALID_NETWORK_CONFIG,
            IpamError::Io { .. } | IpamError::Release(_) => Code::IO_FAILURE,
            IpamError::Exhausted { .. } | IpamError::Taken { .. } => Code::TRY_AGAIN_LATER,
            IpamError::Duplicate { .. }
            | IpamError::NotHeld { .. }
            | IpamError::NothingHeld { .. }
            | IpamError::Mismatch(_) => Code::INTERNAL,
        }
    }
}

impl From<IpamError> for CniError {
    fn from(e: IpamError) -> CniError {
        CniError::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_kind_of_failure() {
        let wrong = IpamError::from(FieldError::WrongType {
            path: "ipam.ranges".into(),
            expected: "array",
            found: "string",
        });
        assert_eq!(CniError::from(wrong).code, Code::DECODING_FAILURE);
        let bad = CniError::from(IpamError::invalid("ipam.subnet", "host bits set"));
        assert_eq!(bad.code, Code::INVALID_NETWORK_CONFIG);
        assert_eq!(bad.msg, "ipam.subnet: host bits set");
        let full = IpamError::Exhausted {
            set: 0,
            ranges: "10.0.0.2-10.0.0.3".into(),
        };
        assert_eq!(full.code(), Code::TRY_AGAIN_LATER);
        let io = IpamError::io("/x", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(io.code(), Code::IO_FAILURE);
        assert!(io.to_string().starts_with("/x: "));
    }
}
