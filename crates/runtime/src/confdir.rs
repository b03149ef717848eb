//! Loading networks from a configuration directory (`/etc/cni/net.d`).
//!
//! The order is libcni's: `*.conflist` files first, then single-plugin `*.conf` and `*.json`
//! files (each wrapped as a one-plugin list), each group sorted by file name, the directory
//! read non-recursively. The first file defining a name wins. Unless a list sets
//! `loadOnlyInlinedPlugins`, the plugin objects in `<dir>/<name>/*.conf` (sorted) are appended
//! to its `plugins`, as the spec now says.
//!
//! One difference on purpose: a broken file does not hide the good ones. libcni aborts the
//! whole lookup at the first file it cannot parse, so one stray file in `net.d` takes every
//! network on the host down; here it is reported next to what did load.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use twill_cni::config::PluginConf;

use crate::error::RuntimeError;
use crate::network::NetworkList;

/// Extensions of network list files.
pub const LIST_EXTENSIONS: [&str; 1] = ["conflist"];
/// Extensions of single-plugin configuration files.
pub const SINGLE_EXTENSIONS: [&str; 2] = ["conf", "json"];
/// Extension of plugin object files under `<dir>/<network>/`.
pub const PLUGIN_EXTENSION: &str = "conf";

/// A configuration directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfDir {
    dir: PathBuf,
}

/// Everything a directory holds: the networks that loaded, in lookup order, and the files that
/// did not (each with its reason).
#[derive(Debug, Default)]
pub struct Loaded {
    /// The usable networks, first definition of each name only.
    pub networks: Vec<NetworkList>,
    /// Files that were skipped: unreadable, invalid, or a duplicate name.
    pub errors: Vec<RuntimeError>,
}

/// One network looked up by name, with the problems met on the way (which did not prevent
/// finding it, but which a CLI should show).
#[derive(Debug)]
pub struct Found {
    /// The network.
    pub network: NetworkList,
    /// Files skipped before it was found.
    pub errors: Vec<RuntimeError>,
}

impl ConfDir {
    /// The directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> ConfDir {
        ConfDir { dir: dir.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Loads every network. Fails only when the directory itself cannot be read; a directory
    /// that does not exist holds nothing.
    pub fn load_all(&self) -> Result<Loaded, RuntimeError> {
        let mut loaded = Loaded::default();
        for (path, wrap) in self.candidates()? {
            match self.load_file(&path, wrap) {
                Ok(net) => match first_with_name(&loaded.networks, net.name()) {
                    Some(first) => loaded.errors.push(RuntimeError::DuplicateName {
                        path,
                        name: net.conf.name,
                        first,
                    }),
                    None => loaded.networks.push(net),
                },
                Err(e) => loaded.errors.push(e),
            }
        }
        Ok(loaded)
    }

    /// Finds network `name`: the first file defining it, in lookup order.
    ///
    /// ```no_run
    /// use twill_runtime::ConfDir;
    ///
    /// let found = ConfDir::new("/etc/cni/net.d").find("podman")?;
    /// for skipped in &found.errors {
    ///     eprintln!("warning: {skipped}");
    /// }
    /// println!("{} runs {} plugins", found.network.name(), found.network.plugins().len());
    /// # Ok::<(), twill_runtime::RuntimeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RuntimeError::NoConfigsFound`] for a directory without configuration files,
    /// [`RuntimeError::NotFound`] when no file defines `name` (its message lists the files
    /// that could not be read, since one of them may be the one meant).
    pub fn find(&self, name: &str) -> Result<Found, RuntimeError> {
        let candidates = self.candidates()?;
        if candidates.is_empty() {
            return Err(RuntimeError::NoConfigsFound {
                dir: self.dir.clone(),
            });
        }
        let mut errors = Vec::new();
        for (path, wrap) in candidates {
            match self.load_file(&path, wrap) {
                Ok(network) if network.name() == name => return Ok(Found { network, errors }),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        let not_found = RuntimeError::NotFound {
            dir: self.dir.clone(),
            name: name.to_owned(),
        };
        if errors.is_empty() {
            Err(not_found)
        } else {
            errors.insert(0, not_found);
            Err(RuntimeError::Several(errors))
        }
    }

    /// Reads one file, with its directory's plugins appended.
    fn load_file(&self, path: &Path, wrap_single: bool) -> Result<NetworkList, RuntimeError> {
        let mut net = NetworkList::from_file(path, wrap_single)?;
        if !net.conf.load_only_inlined_plugins {
            let dir = self.dir.join(net.name());
            net.append_plugins(load_plugin_dir(&dir)?);
        }
        if net.conf.plugins.is_empty() {
            return Err(RuntimeError::NoPlugins {
                dir: self.dir.join(&net.conf.name),
                name: net.conf.name,
            });
        }
        Ok(net)
    }

    /// The files to look at, lists first, with whether each is a single-plugin file.
    fn candidates(&self) -> Result<Vec<(PathBuf, bool)>, RuntimeError> {
        let mut out: Vec<(PathBuf, bool)> = files_with(&self.dir, &LIST_EXTENSIONS)?
            .into_iter()
            .map(|p| (p, false))
            .collect();
        out.extend(
            files_with(&self.dir, &SINGLE_EXTENSIONS)?
                .into_iter()
                .map(|p| (p, true)),
        );
        Ok(out)
    }
}

fn first_with_name(networks: &[NetworkList], name: &str) -> Option<PathBuf> {
    networks
        .iter()
        .find(|n| n.name() == name)
        .map(|n| n.source.clone().unwrap_or_default())
}

/// The plugin objects of `<dir>/<name>/*.conf`, sorted by file name; none when the directory
/// does not exist. Any broken file fails the network: running a chain with a plugin missing
/// from the middle would set up something nobody configured.
fn load_plugin_dir(dir: &Path) -> Result<Vec<PluginConf>, RuntimeError> {
    files_with(dir, &[PLUGIN_EXTENSION])?
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).map_err(|e| RuntimeError::io("read", &path, e))?;
            PluginConf::from_bytes(&bytes).map_err(|source| RuntimeError::Config { path, source })
        })
        .collect()
}

/// Regular files (symbolic links followed) directly in `dir` whose extension is one of
/// `extensions`, sorted by name. A missing directory has none.
fn files_with(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, RuntimeError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RuntimeError::io("read directory", dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RuntimeError::io("read directory", dir, e))?;
        let path = entry.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e));
        if wanted && !path.is_dir() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
