//! The embedded single-node store: one JSON file, so `twilld` runs with no etcd at all.
//!
//! ```json
//! {"revision": 7, "config": {...} | null,
//!  "leases": {"10.244.3.0-24": {"value": "{\"PublicIP\":…}", "holder": 12345, "expires": 1767…}}}
//! ```
//!
//! Several agents on one machine may share the file (tests do): every read-modify-write holds
//! an exclusive `flock` on it and replaces it atomically. A holder id plays the etcd lease:
//! keep-alive pushes the expiry of every key of that holder, expired keys vanish on the next
//! access. There is no push notification: [`Store::changed`] polls the revision once a second,
//! which is the whole convergence budget of a single node.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::{Listing, Store, StoreError};
use crate::lease::Lease;

/// How often [`Store::changed`] looks at the file.
const POLL: Duration = Duration::from_secs(1);

/// A file-backed [`Store`].
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    ttl: i64,
    holder: u64,
}

#[derive(Debug, Default)]
struct Entry {
    value: String,
    holder: u64,
    expires: Option<i64>,
}

#[derive(Debug, Default)]
struct Doc {
    revision: i64,
    config: Option<Value>,
    leases: BTreeMap<String, Entry>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(format!("{what} {}: {e}", path.display()))
}

impl Doc {
    fn parse(text: &[u8], path: &Path) -> Result<Doc, StoreError> {
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(Doc::default());
        }
        let v: Value = serde_json::from_slice(text).map_err(|e| failed("read", path, e))?;
        let mut doc = Doc {
            revision: v.get("revision").and_then(Value::as_i64).unwrap_or(0),
            config: v.get("config").filter(|c| !c.is_null()).cloned(),
            leases: BTreeMap::new(),
        };
        if let Some(m) = v.get("leases").and_then(Value::as_object) {
            for (k, e) in m {
                doc.leases.insert(
                    k.clone(),
                    Entry {
                        value: e
                            .get("value")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        holder: e.get("holder").and_then(Value::as_u64).unwrap_or(0),
                        expires: e.get("expires").and_then(Value::as_i64),
                    },
                );
            }
        }
        Ok(doc)
    }

    fn to_json(&self) -> Vec<u8> {
        let mut leases = Map::new();
        for (k, e) in &self.leases {
            leases.insert(
                k.clone(),
                json!({"value": e.value, "holder": e.holder, "expires": e.expires}),
            );
        }
        let v = json!({"revision": self.revision, "config": self.config, "leases": leases});
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Drops expired keys; true when any went.
    fn expire(&mut self, at: i64) -> bool {
        let before = self.leases.len();
        self.leases
            .retain(|_, e| !matches!(e.expires, Some(x) if x <= at));
        before != self.leases.len()
    }
}

impl FileStore {
    /// A store in `path`; `holder` identifies this agent's keys (keep it across restarts).
    pub fn new(path: PathBuf, ttl: i64, holder: u64) -> FileStore {
        FileStore { path, ttl, holder }
    }

    /// Runs `f` on the document under an exclusive lock; writes it back when `f` says so
    /// (or when keys expired).
    fn with_doc<T>(
        &self,
        f: impl FnOnce(&mut Doc) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| failed("create", dir, e))?;
        }
        let lock_path = self.path.with_extension("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| failed("open", &lock_path, e))?;
        // SAFETY: flock on a descriptor we own; it is released when `lock` is closed.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(failed("lock", &lock_path, std::io::Error::last_os_error()));
        }
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(failed("read", &self.path, e)),
        };
        let mut doc = Doc::parse(&text, &self.path)?;
        let expired = doc.expire(now());
        let (out, changed) = f(&mut doc)?;
        if changed || expired {
            doc.revision += 1;
            crate::files::write_atomic(&self.path, &doc.to_json(), 0o600)
                .map_err(|e| failed("write", &self.path, e))?;
        }
        Ok(out)
    }

    fn entry(&self, value: &str) -> Entry {
        Entry {
            value: value.to_owned(),
            holder: self.holder,
            expires: Some(now() + self.ttl),
        }
    }

    /// Writes the network config (the embedded store's equivalent of `etcdctl put`).
    pub fn set_config(&self, config: Value) -> Result<(), StoreError> {
        self.with_doc(|d| {
            d.config = Some(config);
            Ok(((), true))
        })
    }
}

impl Store for FileStore {
    async fn config(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_doc(|d| Ok((d.config.as_ref().map(|c| c.to_string().into_bytes()), false)))
    }

    async fn list(&mut self) -> Result<Listing, StoreError> {
        let at = now();
        self.with_doc(|d| {
            let mut listing = Listing {
                revision: d.revision,
                ..Listing::default()
            };
            for (k, e) in &d.leases {
                let ttl = e.expires.map(|x| x - at);
                match Lease::from_entry(k, e.value.as_bytes(), ttl) {
                    Ok(l) => listing.leases.push(l),
                    Err(e) => listing.unreadable.push(e),
                }
            }
            Ok((listing, false))
        })
    }

    async fn create(&mut self, key: &str, value: &str) -> Result<bool, StoreError> {
        let entry = self.entry(value);
        self.with_doc(|d| {
            if d.leases.contains_key(key) {
                return Ok((false, false));
            }
            d.leases.insert(key.to_owned(), entry);
            Ok((true, true))
        })
    }

    async fn put(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let entry = self.entry(value);
        self.with_doc(|d| {
            d.leases.insert(key.to_owned(), entry);
            Ok(((), true))
        })
    }

    async fn keep_alive(&mut self) -> Result<i64, StoreError> {
        let (holder, until) = (self.holder, now() + self.ttl);
        let ttl = self.ttl;
        self.with_doc(|d| {
            let mut any = false;
            for e in d.leases.values_mut().filter(|e| e.holder == holder) {
                e.expires = Some(until);
                any = true;
            }
            if any {
                Ok((Ok(ttl), true))
            } else {
                Ok((Err(StoreError::LeaseExpired), false))
            }
        })?
    }

    async fn delete(&mut self, key: &str) -> Result<(), StoreError> {
        self.with_doc(|d| {
            let gone = d.leases.remove(key).is_some();
            Ok(((), gone))
        })
    }

    async fn changed(&mut self, revision: i64) -> Result<i64, StoreError> {
        loop {
            tokio::time::sleep(POLL).await;
            // Reading also expires dead nodes' keys, which is itself a change.
            let rev = self.with_doc(|d| Ok((d.revision, false)))?;
            if rev != revision {
                return Ok(rev);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn store(dir: &Path, holder: u64, ttl: i64) -> FileStore {
        FileStore::new(dir.join("store.json"), ttl, holder)
    }

    const ATTRS: &str = r#"{"PublicIP":"198.18.0.1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:01"}}"#;

    #[tokio::test(flavor = "current_thread")]
    async fn create_is_exclusive_keep_alive_extends_and_expiry_frees() {
        let dir = std::env::temp_dir().join(format!("twill-filestore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut a = store(&dir, 1, 1);
        let mut b = store(&dir, 2, 100);
        assert!(a.create("10.244.1.0-24", ATTRS).await.unwrap());
        assert!(!b.create("10.244.1.0-24", ATTRS).await.unwrap());
        assert!(b.create("10.244.2.0-24", ATTRS).await.unwrap());
        let l = a.list().await.unwrap();
        assert_eq!(l.leases.len(), 2);
        let rev = l.revision;
        assert_eq!(a.keep_alive().await.unwrap(), 1);
        // a's key dies with its TTL; the change is seen and b may take the subnet.
        std::thread::sleep(Duration::from_millis(2100));
        assert!(b.changed(rev).await.unwrap() > rev);
        assert_eq!(a.keep_alive().await, Err(StoreError::LeaseExpired));
        assert!(b.create("10.244.1.0-24", ATTRS).await.unwrap());
        b.delete("10.244.1.0-24").await.unwrap();
        assert_eq!(b.list().await.unwrap().leases.len(), 1);
        assert!(a.config().await.unwrap().is_none());
        a.set_config(json!({"Network": "10.9.0.0/16"})).unwrap();
        assert!(String::from_utf8(b.config().await.unwrap().unwrap())
            .unwrap()
            .contains("10.9.0.0/16"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
