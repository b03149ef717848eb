//! Finding networks: the configuration directories in order, then the embedded default.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use twill_runtime::{ConfDir, NetworkList, RuntimeError};

use crate::context::Ctx;
use crate::default_net;
use crate::errors::advise;

/// Network `name`: the first configuration directory defining it wins; the network `twill`,
/// defined nowhere, is the embedded default. Files skipped on the way are warned about.
pub fn find(ctx: &Ctx, name: &str) -> Result<NetworkList> {
    let mut broken = Vec::new();
    for dir in &ctx.conf_dirs {
        match ConfDir::new(dir).find(name) {
            Ok(found) => {
                warn_all(&found.errors);
                return Ok(found.network);
            }
            Err(e) => broken.extend(not_found_or_fail(e)?),
        }
    }
    if name == default_net::NAME {
        warn_all(&broken);
        return default_net::ensure(ctx);
    }
    Err(not_found(ctx, name, &broken))
}

/// Every network of the configuration directories (first definition of a name wins), and
/// the files that could not be loaded or were shadowed.
pub fn load_all(ctx: &Ctx) -> Result<(Vec<NetworkList>, Vec<RuntimeError>)> {
    let mut nets: Vec<NetworkList> = Vec::new();
    let mut errors = Vec::new();
    for dir in &ctx.conf_dirs {
        let loaded = ConfDir::new(dir).load_all()?;
        errors.extend(loaded.errors);
        for net in loaded.networks {
            match nets.iter().find(|n| n.name() == net.name()) {
                Some(first) => errors.push(RuntimeError::DuplicateName {
                    path: net.source.clone().unwrap_or_default(),
                    name: net.conf.name.clone(),
                    first: first.source.clone().unwrap_or_default(),
                }),
                None => nets.push(net),
            }
        }
    }
    Ok((nets, errors))
}

/// Prints each skipped file as a warning on stderr.
pub fn warn_all(errors: &[RuntimeError]) {
    let mut err = std::io::stderr().lock();
    for e in errors {
        let _ = writeln!(err, "twill: warning: skipped {e}");
    }
}

/// A lookup that found nothing gives the files it could not read (maybe the one meant);
/// any other failure (an unreadable directory) is returned.
fn not_found_or_fail(e: RuntimeError) -> Result<Vec<RuntimeError>> {
    match e {
        RuntimeError::NotFound { .. } | RuntimeError::NoConfigsFound { .. } => Ok(Vec::new()),
        RuntimeError::Several(mut all)
            if matches!(all.first(), Some(RuntimeError::NotFound { .. })) =>
        {
            all.remove(0);
            Ok(all)
        }
        other => Err(other.into()),
    }
}

/// "network "x" not found in DIR (files: a.conflist, b.conf); create it with …".
fn not_found(ctx: &Ctx, name: &str, broken: &[RuntimeError]) -> anyhow::Error {
    let dirs: Vec<String> = ctx
        .conf_dirs
        .iter()
        .map(|d| {
            let files = config_files(d);
            if files.is_empty() {
                format!("{} (no configuration files)", d.display())
            } else {
                format!("{} (files: {})", d.display(), files.join(", "))
            }
        })
        .collect();
    let mut msg = format!("network {name:?} not found in {}", dirs.join(", "));
    for b in broken {
        msg.push_str(&format!("; could not load {b}"));
    }
    let hint = if broken.is_empty() {
        format!("create it with `twill net create {name}`; `twill net ls` lists the networks")
    } else {
        format!(
            "fix the files that could not be loaded, or create the network with \
             `twill net create {name}`"
        )
    };
    advise(msg, hint)
}

/// Names of the configuration files directly in `dir`, sorted.
pub fn config_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| is_config_file(p))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

fn is_config_file(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str());
    matches!(ext, Some("conflist" | "conf" | "json")) && !p.is_dir()
}

/// The file a network came from, or a placeholder.
pub fn source_of(net: &NetworkList) -> PathBuf {
    net.source.clone().unwrap_or_default()
}
