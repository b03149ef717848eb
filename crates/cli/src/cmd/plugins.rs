//! `twill plugins`: what CNI_PATH holds, and what each plugin says to VERSION.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::output::{self, Table};

/// One executable found on CNI_PATH.
struct Found {
    name: String,
    path: PathBuf,
    /// Where a symbolic link points (the multi-call binary, usually).
    target: Option<PathBuf>,
}

/// Executables on CNI_PATH, first directory first; a name already seen is shadowed, as
/// plugin lookup takes the first.
fn scan(dirs: &[PathBuf]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') || !is_executable(&path) || out.iter().any(|f| f.name == name)
            {
                continue;
            }
            let target = std::fs::read_link(&path).ok();
            out.push(Found { name, path, target });
        }
    }
    out
}

/// twill's multi-call plugin binary, installed beside its symlinks.
const MULTI_CALL: &str = "twill-cni";

/// The gist of a VERSION failure for a table cell: what follows the `failed (version):`
/// prefix, first line, at most 60 characters.
fn short(msg: &str) -> String {
    let gist = msg.rsplit_once("(version): ").map_or(msg, |(_, g)| g);
    let line = gist.lines().next().unwrap_or_default();
    match line.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", line.get(..i).unwrap_or(line)),
        None => line.to_owned(),
    }
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Lists the plugins on CNI_PATH.
pub fn plugins(ctx: &Ctx) -> Result<()> {
    let runtime = ctx.quiet_runtime();
    let rows: Vec<Value> = scan(&ctx.cni_path)
        .into_iter()
        .map(|f| {
            let mut v = json!({
                "name": f.name,
                "path": f.path.to_string_lossy(),
            });
            if let Some(t) = &f.target {
                crate::output::set(&mut v, "target", t.to_string_lossy().into_owned());
            }
            match runtime.version_info(&f.name) {
                Ok(info) => {
                    crate::output::set(&mut v, "cniVersion", info.cni_version);
                    crate::output::set(&mut v, "supportedVersions", info.supported_versions);
                }
                Err(e) => crate::output::set(&mut v, "error", e.to_cni().msg),
            }
            v
        })
        .collect();
    if ctx.json {
        output::print_json(&Value::Array(rows))?;
        return Ok(());
    }
    if rows.is_empty() {
        output::print(&format!(
            "no plugins in CNI_PATH ({}); `make install` installs twill's into /opt/cni/bin\n",
            ctx.cni_path_str()
        ))?;
        return Ok(());
    }
    let mut t = Table::new(&["NAME", "VERSIONS", "PATH"]);
    for r in &rows {
        let versions = match r["supportedVersions"].as_array() {
            Some(vs) => vs
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            None if r["name"] == MULTI_CALL => "(the binary behind twill's plugins)".to_owned(),
            None => format!(
                "not a plugin: {}",
                short(r["error"].as_str().unwrap_or_default())
            ),
        };
        let mut path = r["path"].as_str().unwrap_or_default().to_owned();
        if let Some(t) = r["target"].as_str() {
            path.push_str(&format!(" -> {t}"));
        }
        t.row(vec![
            r["name"].as_str().unwrap_or_default().to_owned(),
            versions,
            path,
        ]);
    }
    output::print(&t.render())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keeps_the_gist() {
        let m = "plugin type=\"x\" failed (version): version info: not valid JSON\nmore";
        assert_eq!(short(m), "version info: not valid JSON");
        assert_eq!(short(&"y".repeat(70)).chars().count(), 61);
    }
}
