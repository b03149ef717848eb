//! Lease files: one JSON file per attachment under the daemon's `-statedir`, written
//! temporary + fsync + rename (the flannel plugin's durable writer), so a daemon killed at
//! any moment restarts with every lease it held and goes on renewing them.
//!
//! A record keeps the server's ACK itself (hex): the lease, its timers, router and routes
//! are re-read from it, so nothing derived can disagree with what the server said.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use twill_ipam::dhcp::message::Repr;
use twill_ipam::dhcp::Lease;

use crate::flannel::saved;

/// One held lease, as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// The network's name.
    pub network: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// The namespace path the plugin gave (without the daemon's `-hostprefix`).
    pub netns: String,
    /// Option 55's list.
    pub requested: Vec<u8>,
    /// Options sent as configured.
    pub provided: Vec<(u8, Vec<u8>)>,
    /// The ACK that granted (or last extended) the lease, hex.
    pub ack: String,
    /// When that ACK arrived (seconds since the epoch).
    pub bound_at: u64,
    /// The link-layer address the ACK came from: where renewals are unicast.
    pub server_mac: [u8; 6],
}

/// The key of an attachment.
pub fn key(container_id: &str, network: &str, ifname: &str) -> String {
    format!("{container_id}/{network}/{ifname}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

impl Record {
    /// This record's key.
    pub fn key(&self) -> String {
        key(&self.container_id, &self.network, &self.ifname)
    }

    /// Stores `ack` (received at `now` from `server_mac`).
    pub fn set_ack(&mut self, ack: &Repr, now: u64, server_mac: [u8; 6]) {
        self.ack = hex(&ack.emit());
        self.bound_at = now;
        self.server_mac = server_mac;
    }

    /// The lease the saved ACK grants.
    pub fn lease(&self) -> Option<Lease> {
        let ack = Repr::parse_bytes(&unhex(&self.ack)?).ok()?;
        Lease::from_ack(&ack, self.bound_at).ok()
    }
}

/// The lease files of one daemon.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// FNV-1a: a short, stable file name for a key of up to ~300 bytes (names are limited to
/// 255); the record inside carries the full key.
fn file_name(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}.json")
}

impl Store {
    /// The store in `dir` (made when the first lease is saved).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(file_name(key))
    }

    /// Saves `r` durably.
    pub fn save(&self, r: &Record) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(r).map_err(io::Error::other)?;
        saved::store(&self.path(&r.key()), &bytes)
    }

    /// Removes the record of `key`; a missing one is fine.
    pub fn remove(&self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.path(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every record; unreadable files are reported by name and skipped.
    pub fn load_all(&self) -> (Vec<Record>, Vec<String>) {
        let mut records = Vec::new();
        let mut bad = Vec::new();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return (records, bad);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
            {
                Some(r) => records.push(r),
                None => bad.push(path.display().to_string()),
            }
        }
        (records, bad)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects_junk() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            [0, 1, 0xab, 0xff]
        );
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }

    #[test]
    fn file_names_are_short_and_distinct() {
        let a = file_name(&key(&"x".repeat(250), "net", "eth0"));
        assert_eq!(a.len(), 21);
        assert_ne!(a, file_name(&key("c", "net", "eth1")));
    }

    #[test]
    fn save_load_remove() {
        let dir = std::env::temp_dir().join(format!("twill-dhcp-store-{}", std::process::id()));
        let store = Store::new(&dir);
        let r = Record {
            container_id: "c".into(),
            network: "n".into(),
            ifname: "eth0".into(),
            netns: "/run/netns/p".into(),
            requested: vec![1, 3],
            provided: vec![(12, b"h".to_vec())],
            ack: "00".into(),
            bound_at: 5,
            server_mac: [1, 2, 3, 4, 5, 6],
        };
        store.save(&r).unwrap();
        std::fs::write(dir.join("junk.json"), b"{").unwrap();
        let (all, bad) = store.load_all();
        assert_eq!(all, std::slice::from_ref(&r));
        assert_eq!(bad.len(), 1);
        assert!(r.lease().is_none());
        store.remove(&r.key()).unwrap();
        store.remove(&r.key()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
