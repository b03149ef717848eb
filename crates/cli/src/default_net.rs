//! The embedded default network, so `twill run -- CMD` works with no configuration at all.
//!
//! It is podman's default chain as far as twill's plugins go today: a bridge with the
//! gateway on it that masquerades traffic leaving the pod network, host-local addresses from
//! 10.88.0.0/16 with a default route, portmap (so `-p HOST:CONTAINER` works) and tuning.
//! The firewall plugin joins when the nftables work brings it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use twill_cni::Version;
use twill_runtime::{ConfDir, NetworkList};

use crate::context::Ctx;
use crate::versions;

/// The default network's name.
pub const NAME: &str = "twill";
/// Its bridge.
pub const BRIDGE: &str = "twill0";
/// Its pod subnet (podman's).
pub const SUBNET: &str = "10.88.0.0/16";
/// Its gateway, on the bridge.
pub const GATEWAY: &str = "10.88.0.1";
/// The plugins of its chain.
pub const PLUGINS: [&str; 4] = ["bridge", "host-local", "portmap", "tuning"];

/// The default network's configuration at `version`. `data_dir` is host-local's state
/// directory when it is not the default one.
pub fn conflist(version: Version, data_dir: Option<&Path>) -> Value {
    let mut ipam = json!({
        "type": "host-local",
        "routes": [{"dst": "0.0.0.0/0"}],
        "ranges": [[{"subnet": SUBNET, "gateway": GATEWAY}]],
    });
    let mut portmap = json!({
        "type": "portmap",
        "capabilities": {"portMappings": true},
        "snat": true,
    });
    if let Some(dir) = data_dir {
        crate::output::set(&mut ipam, "dataDir", dir.to_string_lossy().into_owned());
        // Beside host-local's directory, never inside it: its files are not reservations.
        let records = dir.with_file_name("portmap");
        crate::output::set(
            &mut portmap,
            "dataDir",
            records.to_string_lossy().into_owned(),
        );
    }
    json!({
        "cniVersion": version.as_str(),
        "name": NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "capabilities": {"ips": true, "mac": true},
                "ipam": ipam,
            },
            portmap,
            {"type": "tuning"},
        ],
    })
}

/// The file the default network is written to.
pub fn file(ctx: &Ctx) -> PathBuf {
    ctx.default_net_dir().join(format!("{NAME}.conflist"))
}

/// The default network, written on first use. Its version is the newest all its plugins
/// speak. With a cache directory other than libcni's, host-local keeps its reservations
/// beside the cache (`<cache>/networks`), as it does by default (`/var/lib/cni/networks`).
pub fn ensure(ctx: &Ctx) -> Result<NetworkList> {
    let path = file(ctx);
    if !path.exists() {
        let version = versions::newest_common(&ctx.quiet_runtime(), &PLUGINS)
            .context("writing the embedded default network")?;
        let data_dir = ctx.ipam_data_dir();
        let bytes = crate::output::pretty(&conflist(version, data_dir.as_deref()), b"  ");
        let dir = ctx.default_net_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        twill_runtime::cache::atomic::write(&path, format!("{bytes}\n").as_bytes(), 0o644)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let found = ConfDir::new(ctx.default_net_dir()).find(NAME)?;
    Ok(found.network)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_parses_and_masquerades() {
        let v = conflist(Version::V1_1_0, Some(Path::new("/tmp/x/networks")));
        let net = NetworkList::from_bytes(v.to_string().as_bytes()).unwrap();
        assert_eq!(net.name(), NAME);
        let types: Vec<&str> = net
            .plugins()
            .iter()
            .map(|p| p.plugin_type.as_str())
            .collect();
        assert_eq!(types, ["bridge", "portmap", "tuning"]);
        assert_eq!(v["plugins"][0]["ipMasq"], true);
        assert_eq!(v["plugins"][0]["ipam"]["dataDir"], "/tmp/x/networks");
        assert_eq!(v["plugins"][1]["dataDir"], "/tmp/x/portmap");
        assert_eq!(v["plugins"][1]["capabilities"]["portMappings"], true);
        assert!(conflist(Version::V1_0_0, None)["plugins"][0]["ipam"]
            .get("dataDir")
            .is_none());
    }
}
