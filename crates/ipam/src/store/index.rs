//! The owner index: which addresses each attachment was given by our ADD, so that ADD's
//! duplicate check and DEL touch O(1) files instead of reading every reservation.
//!
//! ```text
//! <network>/.twill-owners/<enc(containerID)>_<enc(ifname)>   "twill-owners v1\0\n<ip>\n<ip>\n…"
//! <network>/.twill-owners/.entry.tmp                          an entry being written
//! ```
//!
//! `enc` keeps `[A-Za-z0-9.-]` and writes every other byte as `%XX`, so `_` appears exactly
//! once in an entry's name and the pair is recovered unambiguously. The reservation files stay
//! the truth: an entry is a hint that is verified (each listed file must still hold this
//! attachment) before it is believed, because the reference releases reservations without
//! knowing about it. The reference's DEL walks the network directory recursively and removes
//! any file whose trimmed content equals `<id>\r\n<ifname>` or `<id>`; the NUL byte in the
//! header cannot occur in a container ID (it arrives in an environment variable), so no
//! complete entry ever matches.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::{read_small, remove_if_present, Store};
use crate::error::IpamError;

/// The index's directory inside the network directory.
pub const INDEX_DIR: &str = ".twill-owners";

/// The file an entry is written to before it is renamed to its name. It has no `_`, so it is
/// never taken for an entry.
pub const INDEX_TMP: &str = ".entry.tmp";

/// The first line of every entry; see the module documentation for why it holds a NUL.
const HEADER: &str = "twill-owners v1\0\n";

/// The longest file name Linux accepts.
const NAME_MAX: usize = 255;

/// An attachment's entry name. `None` when the encoded name is too long for a file name; such
/// an attachment is simply not indexed (its ADD and DEL scan, as without an index).
pub fn entry_name(container_id: &str, ifname: &str) -> Option<String> {
    let mut name = String::new();
    encode(container_id.trim(), &mut name);
    name.push('_');
    encode(ifname, &mut name);
    (name.len() <= NAME_MAX).then_some(name)
}

/// The `(containerID, ifname)` an entry name stands for; `None` for any other name.
pub fn parse_entry_name(name: &str) -> Option<(String, String)> {
    let (id, ifname) = name.split_once('_')?;
    Some((decode(id)?, decode(ifname)?))
}

/// An entry's content for these addresses.
pub fn entry_content(ips: &[IpAddr]) -> String {
    let mut text = String::from(HEADER);
    for ip in ips {
        text.push_str(&ip.to_string());
        text.push('\n');
    }
    text
}

/// The addresses of an entry's content; `None` when it is not a complete entry.
pub fn parse_entry_content(text: &str) -> Option<Vec<IpAddr>> {
    text.strip_prefix(HEADER)?
        .lines()
        .map(|l| l.parse().ok())
        .collect()
}

fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

fn encode(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn decode(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            let v = u8::from_str_radix(hex, 16).ok()?;
            // Only the encoder's own spelling: one name per pair.
            if keep(v) || hex.bytes().any(|h| h.is_ascii_lowercase()) {
                return None;
            }
            bytes.push(v);
            rest = tail.get(2..)?;
        } else if keep(b) {
            bytes.push(b);
            rest = tail;
        } else {
            return None;
        }
    }
    String::from_utf8(bytes).ok()
}

/// A file of the index directory, as GC sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexFile {
    /// The entry of `(containerID, ifname)`, under its file name.
    Entry(String, String, String),
    /// Anything else (a leftover temporary file above all), under its file name.
    Stray(String),
}

impl Store {
    fn index_dir(&self) -> PathBuf {
        self.dir.join(INDEX_DIR)
    }

    /// The addresses the entry `name` lists: `None` when there is no entry, an empty list
    /// when it is unreadable or torn (which the callers treat as stale).
    pub fn index_get(&self, name: &str) -> Result<Option<Vec<IpAddr>>, IpamError> {
        let path = self.index_dir().join(name);
        match read_small(&path) {
            Ok(text) => Ok(Some(parse_entry_content(&text).unwrap_or_default())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IpamError::io(&path, e)),
        }
    }

    /// Writes the entry `name` listing `ips`, whole: a temporary file renamed over the name.
    pub fn index_put(&self, name: &str, ips: &[IpAddr]) -> Result<(), IpamError> {
        let dir = self.index_dir();
        let tmp = dir.join(INDEX_TMP);
        let mut file = match create_truncated(&tmp) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // First entry of this network: the directory is made on demand.
                fs::create_dir(&dir)
                    .or_else(|e| match e.kind() {
                        io::ErrorKind::AlreadyExists => Ok(()),
                        _ => Err(e),
                    })
                    .map_err(|e| IpamError::io(&dir, e))?;
                create_truncated(&tmp)
            }
            other => other,
        }
        .map_err(|e| IpamError::io(&tmp, e))?;
        // One write: a kill cannot tear it, and a leftover is never renamed to an entry.
        file.write_all(entry_content(ips).as_bytes())
            .map_err(|e| IpamError::io(&tmp, e))?;
        let path = dir.join(name);
        fs::rename(&tmp, &path).map_err(|e| IpamError::io(&path, e))
    }

    /// Removes the entry (or stray file) `name`, if present.
    pub fn index_remove(&self, name: &str) -> Result<(), IpamError> {
        remove_if_present(&self.index_dir().join(name))
    }

    /// Every file of the index directory (none when it does not exist).
    pub fn index_files(&self) -> Result<Vec<IndexFile>, IpamError> {
        let dir = self.index_dir();
        let list = match fs::read_dir(&dir) {
            Ok(list) => list,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(IpamError::io(&dir, e)),
        };
        let mut out = Vec::new();
        for item in list {
            let item = item.map_err(|e| IpamError::io(&dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            out.push(match parse_entry_name(&name) {
                Some((id, ifname)) if entry_name(&id, &ifname).as_deref() == Some(&name) => {
                    IndexFile::Entry(id, ifname, name)
                }
                _ => IndexFile::Stray(name),
            });
        }
        Ok(out)
    }
}

fn create_truncated(path: &std::path::Path) -> io::Result<File> {
    // Never hard-linked to anything (entries are renamed from it), so truncating is safe.
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_never_collide() {
        let cases = [
            ("abc", "eth0"),
            ("a_b", "eth0"),
            ("a", "b_eth0"),
            ("a%41", "x"),
            ("..", "."),
            ("id with space/é", "net1"),
        ];
        let mut names = Vec::new();
        for (id, ifname) in cases {
            let name = entry_name(id, ifname).unwrap();
            assert_eq!(name.matches('_').count(), 1, "{name}");
            assert!(!name.contains('/') && name != "." && name != "..");
            assert_eq!(
                parse_entry_name(&name),
                Some((id.to_owned(), ifname.to_owned()))
            );
            names.push(name);
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        assert_eq!(entry_name(" abc\n", "eth0").unwrap(), "abc_eth0");
        assert_eq!(entry_name(&"x".repeat(300), "eth0"), None);
        for stray in [INDEX_TMP, "a_b_c", "a%4_b", "a%41_b", "a%2f_b", "a b_c", ""] {
            assert_eq!(parse_entry_name(stray), None, "{stray}");
        }
    }

    #[test]
    fn content_needs_the_header() {
        let ips: Vec<IpAddr> = vec!["10.0.0.2".parse().unwrap(), "fd00::2".parse().unwrap()];
        let text = entry_content(&ips);
        assert!(text.contains('\0') && !text.contains('\r'));
        assert_eq!(parse_entry_content(&text), Some(ips));
        assert_eq!(parse_entry_content(HEADER), Some(vec![]));
        for torn in ["", "10.0.0.2\n", "twill-owners v1\n10.0.0.2\n"] {
            assert_eq!(parse_entry_content(torn), None, "{torn:?}");
        }
        assert_eq!(parse_entry_content(&format!("{HEADER}10.0.0\n")), None);
    }
}
