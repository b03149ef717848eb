//! SIGKILL at random instants during 500 ADDs: afterwards a DEL per container releases every
//! reservation and owner index entry, and a GC with no valid attachment removes every
//! leftover temporary file, the index's included.

// Helpers of this test file: a panic in one is a test failure with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

#[path = "ipam_support/mod.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::{del, env, gc, host_local, index_entries, ours, reservations, temp_files, TempDir};

/// xorshift64: enough randomness for kill instants, seeded per run and printed so a failing
/// run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn killed_adds_leave_nothing_del_and_gc_cannot_release() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let tmp = TempDir::new("crash");
    let conf = host_local(
        "1.1.0",
        tmp.path(),
        json!({"ranges": [[{"subnet": "10.50.0.0/20"}], [{"subnet": "fd00:50::/64"}]]}),
    );
    let stdin = conf.to_string();
    let program = ours().join("host-local");
    let n = 500;
    let mut completed = 0;
    for i in 0..n {
        let mut child = Command::new(&program)
            .env("CNI_COMMAND", "ADD")
            .env("CNI_CONTAINERID", format!("crash-{i}"))
            .env("CNI_NETNS", "/proc/self/ns/net")
            .env("CNI_IFNAME", "eth0")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The child may already be gone when it is killed early: a broken pipe is expected.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        std::thread::sleep(Duration::from_micros(rng.next() % 3000));
        let _ = child.kill();
        if child.wait().unwrap().success() {
            completed += 1;
        }
    }
    let net = tmp.path().join("net");
    eprintln!(
        "{completed} of {n} ADDs completed; {} reservations",
        reservations(&net).len()
    );
    assert!(
        completed < n,
        "no ADD was killed: the kill instants never hit a running plugin"
    );
    assert!(
        !reservations(&net).is_empty(),
        "no ADD got as far as a reservation"
    );

    for i in 0..n {
        let id = format!("crash-{i}");
        del(&ours(), "host-local", &conf, &env(&id, "eth0", &ours())).unwrap();
    }
    assert_eq!(
        reservations(&net),
        Vec::<String>::new(),
        "DEL left reservations"
    );
    assert_eq!(
        index_entries(&net),
        Vec::<String>::new(),
        "DEL left index entries"
    );
    let mut gc_conf = conf.clone();
    gc_conf["cni.dev/valid-attachments"] = json!([]);
    gc(&ours(), "host-local", &gc_conf, &env("", "", &ours())).unwrap();
    assert_eq!(temp_files(&net), Vec::<String>::new());
    assert!(reservations(&net).is_empty());
    assert!(index_entries(&net).is_empty());
}
