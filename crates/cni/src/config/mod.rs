//! Network configurations: what a plugin reads on stdin, conflists, and what a runtime injects.
//!
//! * [`NetConf`]: a plugin's stdin (also the legacy single-plugin `*.conf` file).
//! * [`PluginConf`]: one plugin object of a conflist, or a plugin file of a network directory.
//! * [`NetConfList`]: a conflist; [`select_version`] picks the version it runs at.
//! * [`RuntimeConfig`], [`Args`]: the runtime-filled `runtimeConfig` and `args`, typed.
//! * [`Injection`]: the exact stdin for one plugin of a list.
//!
//! # Decisions
//!
//! * **Keys match as Go matches them.** Real configurations are written for Go plugins, which
//!   decode into structs: a key matches a field case-insensitively, and when several spellings
//!   appear the last one in the document wins. `"CNIVersion"`, `"Name"`, `"Type"`, `"IPAM"` and
//!   `"runtimeconfig"` all work. This holds for the conflist's own keys too, where libcni
//!   happens to look keys up exactly: accepting more spellings refuses nothing libcni accepts.
//!   Map-valued fields (`capabilities`, the runtime's capability arguments) are maps, not
//!   structs, and their keys are compared exactly.
//! * **`null` is absent**, everywhere: `"ipam": null` is no IPAM.
//! * **Nothing is lost.** Every typed view keeps the object it was read from (`raw`), in
//!   document order, so keys this crate does not know pass through a runtime untouched and a
//!   plugin reads its own keys from the same object with [`crate::json::Obj`].
//! * **Refused, and with which code** (the message always names the field's path, such as
//!   `plugins[1].ipam.type` or `runtimeConfig.portMappings[0].hostPort`):
//!   - not JSON, not an object, or a field of the wrong JSON type: 6;
//!   - `name` missing, empty or not `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$` (or over 255 bytes): 7;
//!   - `type` missing or empty, or containing `/` or `\`; the same for `ipam.type`: 7;
//!   - an `ipam` object with keys but no `type`: 7 (`{}` reads as no IPAM);
//!   - `plugins` present but empty, or absent while `loadOnlyInlinedPlugins` is true: 7;
//!   - `disableCheck`/`disableGC`/`loadOnlyInlinedPlugins` strings other than Go's
//!     `ParseBool` spellings: 7;
//!   - ports outside 1–65535, unknown protocols, malformed addresses and prefixes, negative or
//!     fractional numbers where counts are expected: 7;
//!   - an unknown `cniVersion`, or a list none of whose versions is supported: 1.
//! * **Version selection** tolerates the future: `cniVersions` entries that are unknown or
//!   not versions at all are skipped, since a list may be written for newer runtimes.
//! * **`capabilities` stays in the plugin's stdin**, as libcni sends it (see [`inject`]).

mod args;
mod error;
pub mod inject;
mod list;
mod netconf;
mod plugin;
mod port_mapping;
mod runtime_config;
pub mod validate;

pub use args::{Args, CniArgs, Label};
pub use error::ConfigError;
pub use inject::Injection;
pub use list::{select_version, NetConfList};
pub use netconf::{GcAttachment, NetConf, LEGACY_ATTACHMENTS_KEY, VALID_ATTACHMENTS_KEY};
pub use plugin::{Dns, Ipam, PluginConf};
pub use port_mapping::{PortMapping, Protocol};
pub use runtime_config::{Bandwidth, IpRange, RuntimeConfig, RuntimeDns};
