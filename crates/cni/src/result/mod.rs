//! Results for every spec version and the conversions between them.
//!
//! Results come in three shapes ([`crate::ResultFamily`]):
//!
//! * 0.1.0 and 0.2.0 — [`LegacyResult`]: `ip4`, `ip6`, `dns`;
//! * 0.3.0, 0.3.1 and 0.4.0 — [`V04Result`]: `interfaces`, `ips` (with `version`), `routes`,
//!   `dns`;
//! * 1.0.0 and 1.1.0 — [`V1Result`]: the same without `ips[].version`, and with 1.1.0's
//!   optional interface and route attributes.
//!
//! [`CniResult`] ties a shape to its version. It parses what a plugin printed (Go-compatible:
//! keys match case-insensitively, unknown keys are ignored), converts to any version exactly as
//! the spec and libcni do, and prints exactly the bytes a Go plugin would. Plugins build a
//! [`V1Result`], and convert once at the end: `CniResult::from_latest(result, conf_version)`.
//!
//! ```
//! use twill_cni::result::{CniResult, V1Interface};
//! use twill_cni::Version;
//!
//! // A chained plugin reads its prevResult in whatever version the runtime sent…
//! let prev = br#"{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.2/24"}]}"#;
//! let mut result = CniResult::parse(prev, Version::V0_3_1)?.into_latest();
//! let eth0 = result.add_interface(V1Interface::new("eth0").in_sandbox("/var/run/netns/a"));
//! if let Some(ip) = result.ips.first_mut() {
//!     ip.interface = Some(eth0);
//! }
//! // …and answers in the configuration's version.
//! let out = CniResult::from_latest(result, Version::V0_3_1)?;
//! assert_eq!(out.to_json()["ips"][0]["interface"], 0);
//! # Ok::<(), twill_cni::CniError>(())
//! ```
//!
//! Where we part from libcni, on input libcni itself would turn into garbage or crash on, the
//! item's documentation says so: a missing address is refused rather than printed as
//! `"<nil>"`, `null` list elements are refused, `ips[].version` follows the address.
//! `tests/fixtures/results/README.md` lists every difference, and how the goldens the tests
//! compare against were produced by Go's libcni.

mod addr;
mod convert;
mod dns;
mod gojson;
mod ipconfig;
mod legacy;
mod read;
mod route;
mod v04;
mod v1;
mod versioned;

pub use addr::{canonical_ip, parse_ip, InvalidIpNet, IpFamily, IpNet};
pub use convert::NO_VALID_IP;
pub use dns::Dns;
pub use gojson::{to_go_compact, to_go_pretty};
pub use ipconfig::IpConfig;
pub use legacy::{LegacyIpConfig, LegacyResult};
pub use route::{Route, V1Route};
pub use v04::{V04Interface, V04Result};
pub use v1::{V1Interface, V1Result};
pub use versioned::CniResult;
