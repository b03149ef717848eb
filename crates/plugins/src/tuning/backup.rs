//! The backup of a link's original attributes, kept from ADD to DEL.
//!
//! File and format are the reference's, so either implementation restores what the other
//! backed up (a node can switch plugins with pods running): `<dataDir>/<containerID>_<ifname>.json`
//! holding `{"mac","promisc","mtu","allmulti","txQLen"}`, only the attributes the
//! configuration changes, indented by one space as Go's `MarshalIndent(v, "", " ")` writes it.
//! Unlike the reference, the file is written to a temporary name and renamed, so a
//! killed plugin never leaves a torn backup.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use twill_cni::json::Obj;
use twill_kernel::link::LinkTunables;

use super::config::{parse_mac, TuningConf};
use twill_kernel::MacAddr;

/// A link's attributes before ADD changed them; `None` for what was not changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backup {
    /// Original MAC address.
    pub mac: Option<MacAddr>,
    /// Original promiscuous mode.
    pub promisc: Option<bool>,
    /// Original MTU.
    pub mtu: Option<u32>,
    /// Original all-multicast mode.
    pub allmulti: Option<bool>,
    /// Original transmit queue length.
    pub txqlen: Option<u32>,
}

/// The backup file of one attachment.
pub fn path(data_dir: &Path, container_id: &str, ifname: &str) -> PathBuf {
    data_dir.join(format!("{container_id}_{ifname}.json"))
}

impl Backup {
    /// What to back up of `link` before `conf` changes it.
    pub fn of(link: &LinkTunables, conf: &TuningConf) -> Backup {
        Backup {
            mac: conf.mac.and(link.mac),
            promisc: conf.promisc.then_some(link.promisc),
            mtu: conf.mtu.map(|_| link.mtu),
            allmulti: conf.allmulti.map(|_| link.allmulti),
            txqlen: conf.txqlen.map(|_| link.txqlen),
        }
    }

    /// Fills what `self` lacks from `older`, which wins: when ADD runs twice without a DEL,
    /// the first backup holds the true originals.
    pub fn under(self, older: Backup) -> Backup {
        Backup {
            mac: older.mac.or(self.mac),
            promisc: older.promisc.or(self.promisc),
            mtu: older.mtu.or(self.mtu),
            allmulti: older.allmulti.or(self.allmulti),
            txqlen: older.txqlen.or(self.txqlen),
        }
    }

    /// The file's bytes, as the reference writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut map = Map::new();
        if let Some(m) = self.mac {
            map.insert("mac".into(), m.to_string().into());
        }
        if let Some(p) = self.promisc {
            map.insert("promisc".into(), p.into());
        }
        if let Some(m) = self.mtu {
            map.insert("mtu".into(), m.into());
        }
        if let Some(a) = self.allmulti {
            map.insert("allmulti".into(), a.into());
        }
        if let Some(t) = self.txqlen {
            map.insert("txQLen".into(), t.into());
        }
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        // Serialising a map of strings, numbers and booleans into a Vec cannot fail.
        let _ = serde::Serialize::serialize(&Value::Object(map), &mut ser);
        out
    }

    /// Reads a backup file's bytes (keys matched as Go matches them; `mtu` 0 is unset, as the
    /// reference writes no `mtu` then).
    pub fn parse(bytes: &[u8]) -> Result<Backup, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let o = Obj::root(&value).map_err(|e| e.to_string())?;
        let err = |e: twill_cni::json::FieldError| e.to_string();
        let mac = match o.str("mac").map_err(err)? {
            None | Some("") => None,
            Some(s) => Some(parse_mac(s).ok_or_else(|| format!("mac: {s:?} is not a MAC"))?),
        };
        Ok(Backup {
            mac,
            promisc: o.bool("promisc").map_err(err)?,
            mtu: o.u32("mtu").map_err(err)?.filter(|&m| m != 0),
            allmulti: o.bool("allmulti").map_err(err)?,
            txqlen: o.u32("txQLen").map_err(err)?,
        })
    }

    /// Reads the backup at `file`: `Ok(None)` when there is none.
    pub fn load(file: &Path) -> io::Result<Option<Result<Backup, String>>> {
        match fs::read(file) {
            Ok(bytes) => Ok(Some(Backup::parse(&bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the backup to `file` atomically: a temporary file in the same directory,
    /// renamed over `file`, so a plugin killed at any instant leaves the file absent, the
    /// old one, or complete.
    pub fn store(&self, file: &Path) -> io::Result<()> {
        let dir = file.parent().unwrap_or(Path::new("/"));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&self.to_bytes())?;
            // Not synced, as plugin records are not (crate::common::record): the settings it
            // restores live in a namespace that a reboot erases.
            fs::rename(&tmp, file)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }
}

/// Removes a backup file; one already gone is fine.
pub fn remove(file: &Path) -> io::Result<()> {
    match fs::remove_file(file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_the_reference_s() {
        let b = Backup {
            mac: Some(MacAddr([0xc2, 0xb0, 0x57, 0x49, 0x47, 0xf1])),
            promisc: Some(false),
            mtu: Some(1500),
            allmulti: Some(true),
            txqlen: Some(1000),
        };
        let text = String::from_utf8(b.to_bytes()).unwrap();
        assert_eq!(
            text,
            "{\n \"mac\": \"c2:b0:57:49:47:f1\",\n \"promisc\": false,\n \"mtu\": 1500,\n \"allmulti\": true,\n \"txQLen\": 1000\n}"
        );
        assert_eq!(Backup::parse(text.as_bytes()).unwrap(), b);
        assert_eq!(Backup::default().to_bytes(), b"{}");
        assert_eq!(Backup::parse(b"{}").unwrap(), Backup::default());
    }

    #[test]
    fn reading_is_lenient_like_go_and_refuses_garbage() {
        let b = Backup::parse(br#"{"MTU": 9000, "Mac": "C2-B0-57-49-47-F1", "x": 1}"#).unwrap();
        assert_eq!(b.mtu, Some(9000));
        assert_eq!(b.mac, Some(MacAddr([0xc2, 0xb0, 0x57, 0x49, 0x47, 0xf1])));
        assert_eq!(Backup::parse(br#"{"mtu": 0}"#).unwrap().mtu, None);
        for bad in [&b""[..], b"{", b"[]", br#"{"mtu":"x"}"#, br#"{"mac":"zz"}"#] {
            assert!(Backup::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_older_backup_wins_field_by_field() {
        let old = Backup {
            mtu: Some(1500),
            ..Backup::default()
        };
        let new = Backup {
            mtu: Some(9000),
            promisc: Some(false),
            ..Backup::default()
        };
        let merged = new.under(old);
        assert_eq!(merged.mtu, Some(1500));
        assert_eq!(merged.promisc, Some(false));
    }

    #[test]
    fn store_is_atomic_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("twill-backup-{}", std::process::id()));
        let file = path(&dir.join("sub"), "cid", "eth0");
        let b = Backup {
            txqlen: Some(0),
            ..Backup::default()
        };
        b.store(&file).unwrap();
        b.store(&file).unwrap();
        assert_eq!(Backup::load(&file).unwrap().unwrap().unwrap(), b);
        let names: Vec<_> = fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("cid_eth0.json")]);
        remove(&file).unwrap();
        remove(&file).unwrap();
        assert!(Backup::load(&file).unwrap().is_none());
        fs::remove_dir_all(&dir).unwrap();
    }
}
