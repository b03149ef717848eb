//! Bridges with an ingress policy, reference-counted on disk so the last attachment leaving
//! a bridge takes the bridge's elements with it, in O(1) whatever the number of pods.
//!
//! Each attachment with a policy other than `open` holds one empty file
//! `<dataDir>/.bridges/<table>/<bridge>/<network>@<containerID>@<ifname>` (network names and
//! container IDs cannot contain `@`, so names never collide). While the bridge's directory
//! is not empty, the bridge is in `bridges` and `bridge . bridge` in `intra`; the first
//! reference adds them, the last one's removal deletes them. (The reference plugin never
//! removes its per-bridge isolation rules.) References and the element changes they imply
//! happen under an exclusive `flock` on `<dataDir>/.bridges/lock`, so two attachments of one
//! bridge never undo each other.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use twill_cni::CniError;
use twill_ipam::store::DirLock;
use twill_kernel::nft::{Element, Nftables, SetRef, Value};

use super::elements::{self, Record};
use super::skeleton::{inet_set, BRIDGES, INTRA};
use crate::common::error::{internal, kernel};

/// The directory under `dataDir` that holds the references (network names cannot start
/// with a dot, so it is no network's record directory).
const DIR: &str = ".bridges";

fn io_error(what: &str, file: &Path, e: impl std::fmt::Display) -> CniError {
    CniError::io(format!("firewall: {what} {}: {e}", file.display()))
}

/// The references of `bridge` in `table`.
struct Bridge {
    root: PathBuf,
    table: String,
    name: String,
}

/// The exclusive lock over every reference under `root`.
fn lock(root: &Path) -> Result<DirLock, CniError> {
    fs::create_dir_all(root).map_err(|e| io_error("creating", root, e))?;
    DirLock::acquire(root).map_err(|e| io_error("locking", root, e))
}

fn non_empty(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

impl Bridge {
    fn new(data_dir: &Path, table: &str, name: &str) -> Bridge {
        Bridge {
            root: data_dir.join(DIR),
            table: table.to_owned(),
            name: name.to_owned(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.root.join(&self.table).join(&self.name)
    }

    fn ref_file(&self, network: &str, rec: &Record) -> PathBuf {
        let name = format!("{network}@{}@{}", rec.container_id, rec.ifname);
        self.dir().join(name)
    }

    /// The two elements, each with its set.
    fn elements(&self) -> [(SetRef, Element); 2] {
        let name = || Value::IfName(self.name.clone());
        [
            (inet_set(&self.table, BRIDGES), Element::new(&[name()])),
            (
                inet_set(&self.table, INTRA),
                Element::new(&[name(), name()]),
            ),
        ]
    }

    /// Brings the bridge's elements in line with its references. With `tolerant` (DEL, GC)
    /// a table that is gone is nothing to repair.
    fn sync(&self, nft: &mut Nftables, tolerant: bool) -> Result<(), CniError> {
        let els = self.elements();
        if !non_empty(&self.dir()) {
            return elements::remove(nft, &els);
        }
        match elements::add(nft, &els) {
            Err(e) if tolerant => {
                eprintln!("firewall: bridge {}: {}", self.name, e.msg);
                Ok(())
            }
            other => other,
        }
    }

    /// Removes the directories that hold no reference any more.
    fn prune(&self) {
        let _ = fs::remove_dir(self.dir());
        let _ = fs::remove_dir(self.root.join(&self.table));
    }
}

/// ADD: takes `rec`'s reference on its bridge and adds the elements that implies. On
/// failure the reference is dropped again.
pub fn join(
    nft: &mut Nftables,
    data_dir: &Path,
    network: &str,
    rec: &Record,
) -> Result<(), CniError> {
    let Some(name) = &rec.bridge else {
        return Ok(());
    };
    let b = Bridge::new(data_dir, &rec.table, name);
    let _lock = lock(&b.root)?;
    let file = b.ref_file(network, rec);
    let made = file
        .parent()
        .map_or(Ok(()), fs::create_dir_all)
        .and_then(|()| fs::File::create(&file).map(drop));
    if let Err(e) = made {
        b.prune();
        return Err(io_error("writing the bridge reference", &file, e));
    }
    b.sync(nft, false).inspect_err(|_| {
        let _ = fs::remove_file(&file);
        let _ = b.sync(nft, true);
        b.prune();
    })
}

/// DEL and GC: drops `rec`'s reference and, when it was the bridge's last, the bridge's
/// elements.
pub fn leave(
    nft: &mut Nftables,
    data_dir: &Path,
    network: &str,
    rec: &Record,
) -> Result<(), CniError> {
    let Some(name) = &rec.bridge else {
        return Ok(());
    };
    let b = Bridge::new(data_dir, &rec.table, name);
    let _lock = lock(&b.root)?;
    let file = b.ref_file(network, rec);
    match fs::remove_file(&file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(io_error("removing the bridge reference", &file, e))
        }
        _ => {}
    }
    let synced = b.sync(nft, true);
    b.prune();
    synced
}

/// CHECK: `rec` holds its reference and the bridge's elements are present.
pub fn check(
    nft: &mut Nftables,
    data_dir: &Path,
    network: &str,
    rec: &Record,
) -> Result<(), CniError> {
    let Some(name) = &rec.bridge else {
        return Ok(());
    };
    let b = Bridge::new(data_dir, &rec.table, name);
    let file = b.ref_file(network, rec);
    if !file.exists() {
        return Err(internal(format!(
            "firewall: no reference of bridge {name} for this attachment ({})",
            file.display()
        )));
    }
    let [(bridges, el), (intra, pair)] = b.elements();
    elements::expect(nft, &bridges, &el, &format!("bridge {name}"))?;
    elements::expect(nft, &intra, &pair, &format!("{name} . {name}"))
}

/// The bridge names held in set `set` (none when the table or set is gone).
fn listed(nft: &mut Nftables, set: &SetRef) -> Result<Vec<String>, CniError> {
    let els = match nft.list_elements(set) {
        Ok(els) => els,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(kernel(e)),
    };
    Ok(els
        .into_iter()
        .map(|el| {
            let end = el.key.iter().position(|&b| b == 0).unwrap_or(el.key.len());
            String::from_utf8_lossy(el.key.get(..end).unwrap_or_default()).into_owned()
        })
        .collect())
}

/// GC: every bridge of `table` that has references or elements is brought in line, so
/// elements whose last reference went without their removal (a crash) go too.
pub fn reconcile(nft: &mut Nftables, data_dir: &Path, table: &str) -> Result<(), CniError> {
    let root = data_dir.join(DIR);
    let _lock = lock(&root)?;
    let mut names = listed(nft, &inet_set(table, BRIDGES))?;
    if let Ok(dirs) = fs::read_dir(root.join(table)) {
        for entry in dirs.flatten() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names.dedup();
    for name in names {
        let b = Bridge::new(data_dir, table, &name);
        b.sync(nft, true)?;
        b.prune();
    }
    Ok(())
}
