//! Run-state files: what a `twill run` set up, so that `twill gc` can undo it after the run
//! was killed.
//!
//! `<state-dir>/runs/<name>.json` is written before anything is set up and lists every
//! attachment the run is about to make, with the network configuration it uses; it goes
//! away after the teardown. A file whose owner (pid and start time, from /proc) is no longer
//! running belongs to a dead run.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    /// The run's name.
    pub name: String,
    /// The `twill run` process.
    pub pid: u32,
    /// Its start time (field 22 of /proc/PID/stat, clock ticks since boot), so that a
    /// reused pid is not mistaken for the owner.
    pub start_time: u64,
    /// The container ID of every attachment.
    pub container_id: String,
    /// The namespace's path.
    pub netns: PathBuf,
    /// The attachments, in ADD order.
    pub attachments: Vec<RunAttachment>,
    /// Whether the run made the namespace, so its teardown removes it: not with `--net
    /// host` (the host's own) or `--net container:NAME` (another run's). Files written
    /// before the field existed are runs that made theirs.
    #[serde(default = "made_by_the_run", skip_serializing_if = "is_true")]
    pub owns_netns: bool,
}

fn made_by_the_run() -> bool {
    true
}

// serde's signature for `skip_serializing_if`.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(b: &bool) -> bool {
    *b
}

/// One attachment of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunAttachment {
    /// The network's name.
    pub network: String,
    /// The interface in the namespace.
    pub ifname: String,
    /// The network configuration as run: the DEL must use it even when the file has
    /// changed or gone since.
    pub config: Value,
    /// The capability arguments given to ADD.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub capability_args: Map<String, Value>,
}

impl RunState {
    /// The file of run `name`.
    pub fn path(runs_dir: &Path, name: &str) -> PathBuf {
        runs_dir.join(format!("{name}.json"))
    }

    /// Whether the process that wrote this is still running.
    pub fn owner_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start_time)
    }

    /// Writes the file, failing with `AlreadyExists` if there is one: the content is written
    /// and synced under a temporary name, then hard-linked to its name (which fails rather
    /// than replaces), so a reader never sees a partial file and two runs never share one.
    pub fn create(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{}-{}", self.name, std::process::id()));
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::hard_link(&tmp, path)
        })();
        let _ = fs::remove_file(&tmp);
        written?;
        File::open(dir)?.sync_all()
    }

    /// Reads a run-state file.
    pub fn read(path: &Path) -> Result<RunState> {
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }

    /// Removes a run-state file (absent is fine).
    pub fn remove(path: &Path) -> Result<()> {
        twill_runtime::cache::atomic::remove(path)
            .with_context(|| format!("removing {}", path.display()))
    }
}

/// Every run-state file in `runs_dir`, read (or why not), by name.
pub fn list(runs_dir: &Path) -> Vec<(PathBuf, Result<RunState>)> {
    let Ok(entries) = fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            p.extension().is_some_and(|e| e == "json") && !name.is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let r = RunState::read(&p);
            (p, r)
        })
        .collect()
}

/// The start time of process `pid` (field 22 of /proc/PID/stat), if it exists.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// Field 22 of a /proc/PID/stat line. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so fields are counted from the last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    // After the name come field 3 (state) onwards: field 22 is the 20th of them.
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_names() {
        let line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 10 18446744073709551615";
        assert_eq!(parse_start_time(line), Some(987_654));
        assert_eq!(parse_start_time("garbage"), None);
    }

    #[test]
    fn our_own_process_is_alive_and_a_changed_start_time_is_not() {
        let me = std::process::id();
        let t = start_time(me).unwrap();
        let mut s = RunState {
            name: "x".into(),
            pid: me,
            start_time: t,
            container_id: "twill-x".into(),
            netns: "/run/netns/twill-x".into(),
            attachments: Vec::new(),
            owns_netns: true,
        };
        assert!(s.owner_alive());
        s.start_time = t + 1;
        assert!(!s.owner_alive());
    }

    #[test]
    fn create_is_exclusive_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("twill-state-{}", std::process::id()));
        let s = RunState {
            name: "r".into(),
            pid: 1,
            start_time: 2,
            container_id: "twill-r".into(),
            netns: "/run/netns/twill-r".into(),
            attachments: vec![RunAttachment {
                network: "n".into(),
                ifname: "eth0".into(),
                config: serde_json::json!({"name": "n"}),
                capability_args: Map::new(),
            }],
            owns_netns: true,
        };
        let p = RunState::path(&dir, "r");
        s.create(&p).unwrap();
        assert_eq!(
            s.create(&p).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(RunState::read(&p).unwrap(), s);
        assert_eq!(list(&dir).len(), 1);
        RunState::remove(&p).unwrap();
        // A run in another's namespace says so; one without the field made its own.
        let joined = RunState {
            owns_netns: false,
            ..s.clone()
        };
        joined.create(&p).unwrap();
        assert_eq!(RunState::read(&p).unwrap(), joined);
        RunState::remove(&p).unwrap();
        let old = r#"{"name":"o","pid":1,"startTime":2,"containerId":"twill-o","netns":"/x","attachments":[]}"#;
        assert!(serde_json::from_str::<RunState>(old).unwrap().owns_netns);
        fs::remove_dir_all(&dir).unwrap();
    }
}
