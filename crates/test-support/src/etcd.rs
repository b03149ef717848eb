//! A real etcd (Debian's `etcd-server`) for the overlay's tests: started by the test inside a
//! namespace of the test's own, listening on an underlay address, its data in a temporary
//! directory; stopped (for outage tests) and started again on the same data; killed and
//! removed on drop.

use std::path::PathBuf;
use std::process::{Child, Stdio};

use twill_kernel::NetNs;

use crate::child::command_in;
use std::time::{Duration, Instant};

use crate::multihost::Node;

/// A running (or stopped) etcd.
pub struct Etcd {
    ns: NetNs,
    data: PathBuf,
    log: PathBuf,
    addr: String,
    child: Option<Child>,
}

impl Etcd {
    /// Starts etcd in `node` listening on `addr:2379`, with its data under `dir`.
    pub fn start(node: &Node, addr: &str, dir: &std::path::Path) -> Etcd {
        let mut e = Etcd {
            ns: NetNs::open(&node.path).unwrap(),
            data: dir.join("etcd-data"),
            log: dir.join("etcd.log"),
            addr: addr.to_owned(),
            child: None,
        };
        e.resume();
        e
    }

    /// The client endpoint, `http://addr:2379`.
    pub fn endpoint(&self) -> String {
        format!("http://{}:2379", self.addr)
    }

    /// Starts it again after [`Etcd::stop`], on the same data.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "etcd is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let client = self.endpoint();
        // Peers talk on the namespace's own loopback: a single member.
        let child = command_in(&self.ns, "etcd")
            .args(["--name", "t", "--data-dir"])
            .arg(&self.data)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args(["--listen-peer-urls", "http://127.0.0.1:2380"])
            .args(["--initial-advertise-peer-urls", "http://127.0.0.1:2380"])
            .args(["--initial-cluster", "t=http://127.0.0.1:2380"])
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start etcd (Debian's etcd-server; `make setup` installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.healthy() {
            assert!(
                Instant::now() < deadline,
                "etcd did not become healthy in 30 s: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it (SIGKILL: an outage, not a shutdown).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn healthy(&self) -> bool {
        self.ctl(&["endpoint", "health"]).is_ok()
    }

    /// Runs `etcdctl ARGS` against it; the output or the error text.
    pub fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let out = command_in(&self.ns, "etcdctl")
            .arg(format!("--endpoints={}", self.endpoint()))
            .args(["--dial-timeout", "1s", "--command-timeout", "3s"])
            .args(args)
            .env("ETCDCTL_API", "3")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `etcdctl put KEY VALUE`, panicking on failure.
    pub fn put(&self, key: &str, value: &str) {
        self.ctl(&["put", key, value]).unwrap();
    }

    /// The keys and values under `prefix`.
    pub fn get_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let out = self.ctl(&["get", "--prefix", prefix]).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        lines
            .chunks(2)
            .filter_map(|c| match c {
                [k, v] => Some(((*k).to_owned(), (*v).to_owned())),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
