//! The embedded default network, so `twill run -- CMD` works with no configuration at all.
//!
//! It is podman's default chain: a bridge with the gateway on it that masquerades traffic
//! leaving the pod network, host-local addresses from 10.88.0.0/16 with a default route,
//! portmap (so `-p HOST:CONTAINER` works), firewall (forwarding for the pods) and tuning.
//! An earlier default (without firewall) still on disk as twill wrote it is replaced.

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
pub const PLUGINS: [&str; 5] = ["bridge", "host-local", "portmap", "firewall", "tuning"];

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
    let mut firewall = json!({"type": "firewall"});
    if let Some(dir) = data_dir {
        crate::output::set(&mut ipam, "dataDir", dir.to_string_lossy().into_owned());
        // Beside host-local's directory, never inside it: its files are not reservations.
        for (plugin, name) in [(&mut portmap, "portmap"), (&mut firewall, "firewall")] {
            let records = dir.with_file_name(name);
            crate::output::set(plugin, "dataDir", records.to_string_lossy().into_owned());
        }
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
            firewall,
            {"type": "tuning"},
        ],
    })
}

/// The file the default network is written to.
pub fn file(ctx: &Ctx) -> PathBuf {
    ctx.default_net_dir().join(format!("{NAME}.conflist"))
}

/// The copy of what twill last wrote to [`file`], beside it: an unchanged file is twill's to
/// replace when its default changes; a file that differs from it is the operator's own.
fn written_copy(ctx: &Ctx) -> PathBuf {
    ctx.default_net_dir()
        .join(format!(".{NAME}.conflist.written"))
}

/// What to do with the default network's file as found.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// twill's own and out of date: rewrite it, keeping host-local's `dataDir` as it was
    /// (the reservations live there).
    Rewrite(Option<PathBuf>),
    /// Current, or edited by the operator: use it as it is.
    Keep,
}

/// host-local's `dataDir` in a default network's file, as twill wrote it.
fn data_dir_of(found: &Value) -> Option<PathBuf> {
    found
        .pointer("/plugins/0/ipam/dataDir")
        .and_then(Value::as_str)
        .map(PathBuf::from)
}

/// Decides from the file's bytes and twill's copy of what it wrote (absent for a file
/// written before copies were kept). A file that equals the current default at its own
/// version and with its own `dataDir` is current; one that equals what twill wrote, or an
/// earlier default generation, is twill's and is replaced; anything else is the operator's.
fn decide(file: &[u8], copy: Option<&[u8]>) -> Found {
    let Ok(found) = serde_json::from_slice::<Value>(file) else {
        // Not JSON: the operator's business (loading it reports the error).
        return Found::Keep;
    };
    let version = found
        .get("cniVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.parse::<Version>().ok());
    let Some(version) = version else {
        return Found::Keep;
    };
    let data_dir = data_dir_of(&found);
    if found == conflist(version, data_dir.as_deref()) {
        return Found::Keep;
    }
    let ours =
        copy == Some(file) || earlier_generations(version, data_dir.as_deref()).contains(&found);
    if ours {
        Found::Rewrite(data_dir)
    } else {
        Found::Keep
    }
}

/// The defaults earlier twill releases wrote, at `version`, newest first.
fn earlier_generations(version: Version, data_dir: Option<&Path>) -> Vec<Value> {
    let mut without_firewall = conflist(version, data_dir);
    if let Some(plugins) = without_firewall
        .get_mut("plugins")
        .and_then(Value::as_array_mut)
    {
        plugins.retain(|p| p.get("type").and_then(Value::as_str) != Some("firewall"));
    }
    vec![without_firewall]
}

/// The default network, written on first use and rewritten when twill's default changes
/// and the file is still as twill wrote it. Its version is the newest all its plugins speak.
/// With a cache directory other than libcni's, host-local keeps its reservations beside the
/// cache (`<cache>/networks`), as it does by default (`/var/lib/cni/networks`).
pub fn ensure(ctx: &Ctx) -> Result<NetworkList> {
    let path = file(ctx);
    let write_with = match std::fs::read(&path) {
        Ok(bytes) => {
            let copy = std::fs::read(written_copy(ctx)).ok();
            match decide(&bytes, copy.as_deref()) {
                Found::Rewrite(data_dir) => Some(data_dir),
                Found::Keep => None,
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(ctx.ipam_data_dir()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if let Some(data_dir) = write_with {
        let version = versions::newest_common(&ctx.quiet_runtime(), &PLUGINS)
            .context("writing the embedded default network")?;
        let bytes = crate::output::pretty(&conflist(version, data_dir.as_deref()), b"  ");
        let bytes = format!("{bytes}\n");
        let dir = ctx.default_net_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // The copy first: a crash between the two leaves a file that is current or that
        // still equals an earlier generation, never one mistaken for the operator's.
        let copy = written_copy(ctx);
        twill_runtime::cache::atomic::write(&copy, bytes.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", copy.display()))?;
        twill_runtime::cache::atomic::write(&path, bytes.as_bytes(), 0o644)
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
        assert_eq!(types, ["bridge", "portmap", "firewall", "tuning"]);
        assert_eq!(v["plugins"][0]["ipMasq"], true);
        assert_eq!(v["plugins"][0]["ipam"]["dataDir"], "/tmp/x/networks");
        assert_eq!(v["plugins"][1]["dataDir"], "/tmp/x/portmap");
        assert_eq!(v["plugins"][1]["capabilities"]["portMappings"], true);
        assert_eq!(v["plugins"][2]["dataDir"], "/tmp/x/firewall");
        assert!(conflist(Version::V1_0_0, None)["plugins"][0]["ipam"]
            .get("dataDir")
            .is_none());
    }

    fn bytes(v: &Value) -> Vec<u8> {
        crate::output::pretty(v, b"  ").into_bytes()
    }

    #[test]
    fn current_files_and_the_operators_edits_are_kept_twills_old_ones_rewritten() {
        let dir = Some(Path::new("/tmp/x/networks"));
        let current = conflist(Version::V1_0_0, dir);
        assert_eq!(decide(&bytes(&current), None), Found::Keep);
        let rewrite = Found::Rewrite(dir.map(Path::to_path_buf));

        // Written by an earlier twill: replaced, with or without the copy of what it wrote.
        let mut old = current.clone();
        old["plugins"][0]["bridge"] = json!("old0");
        assert_eq!(decide(&bytes(&old), Some(&bytes(&old))), rewrite);
        for generation in earlier_generations(Version::V1_0_0, dir) {
            if generation != current {
                assert_eq!(decide(&bytes(&generation), None), rewrite);
            }
        }
        // Its own dataDir is kept, whatever the cache directory of the run that finds it.
        let elsewhere = earlier_generations(Version::V1_0_0, Some(Path::new("/srv/n")));
        assert_eq!(
            decide(&bytes(&elsewhere[0]), None),
            Found::Rewrite(Some(PathBuf::from("/srv/n")))
        );
        let default_dir = earlier_generations(Version::V1_0_0, None);
        assert_eq!(decide(&bytes(&default_dir[0]), None), Found::Rewrite(None));

        // Edited by the operator since: theirs, kept as is.
        let mut edited = old.clone();
        edited["plugins"][0]["mtu"] = json!(1400);
        assert_eq!(decide(&bytes(&edited), Some(&bytes(&old))), Found::Keep);
        assert_eq!(decide(&bytes(&edited), None), Found::Keep);
        assert_eq!(decide(b"{not json", None), Found::Keep);
        assert_eq!(decide(b"{\"cniVersion\": 7}", None), Found::Keep);
    }
}
