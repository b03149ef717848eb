//! The chains measured. Each is a conflist template whose IPAM data lives in the run's own
//! scratch directory.

use std::path::Path;

use serde_json::{json, Map, Value};

/// A chain to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// bridge with host-local: the plugin pair every runtime's default starts with.
    Bridge,
}

impl Scenario {
    /// Every scenario, by name.
    pub const ALL: [Scenario; 1] = [Scenario::Bridge];

    /// The scenario's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Bridge => "bridge",
        }
    }

    /// A human description for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Bridge => "bridge + host-local (isGateway), exec'd directly",
        }
    }

    /// The conflist, with host-local's data under `data_dir`. 1.0.0 is the newest version
    /// the reference plugins speak, so both sides run at it. A /16 holds every pod a run may
    /// create.
    pub fn conflist(self, data_dir: &Path) -> Value {
        match self {
            Scenario::Bridge => json!({
                "cniVersion": "1.0.0",
                "name": "twill-bench",
                "plugins": [{
                    "type": "bridge",
                    "bridge": "bench0",
                    "isGateway": true,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": data_dir,
                        "ranges": [[{"subnet": "10.128.0.0/16"}]]
                    }
                }]
            }),
        }
    }

    /// The runtime's capability arguments (none for this chain).
    pub fn capability_args(self) -> Map<String, Value> {
        Map::new()
    }

    /// Plugin names the chain execs, which twill's directory must link to `twill-cni`.
    pub fn plugin_names(self) -> &'static [&'static str] {
        match self {
            Scenario::Bridge => &["bridge", "host-local"],
        }
    }
}
