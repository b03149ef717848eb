//! The reference host-local plugin alone as a network list: it touches no network namespace,
//! only its data directory, so these tests exercise the runtime and the cache against real
//! plugins and the reference runtime without any namespace.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use twill_runtime::{Attachment, ConfDir, GcAttachment, NetworkList, Runtime};

use crate::support::{allocations, reference_dir, write_conflist, DriverRun, TempDir};

/// One test's world: a conf dir with network `hl` (host-local alone), its data dir, and a
/// cache dir.
struct World {
    root: TempDir,
}

impl World {
    fn new(tag: &str, version: &str) -> World {
        let root = TempDir::new(tag);
        for d in ["conf", "data", "cache"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        let ipam = json!({"type": "host-local", "dataDir": root.join("data"),
                          "ranges": [[{"subnet": "10.77.0.0/24"}]],
                          "routes": [{"dst": "0.0.0.0/0"}]});
        write_conflist(
            &root.join("conf"),
            &json!({
                "cniVersion": version, "name": "hl",
                "plugins": [{"type": "host-local", "ipam": ipam}]
            }),
        );
        World { root }
    }

    fn net(&self) -> NetworkList {
        ConfDir::new(self.root.join("conf"))
            .find("hl")
            .unwrap()
            .network
    }

    fn runtime(&self) -> Runtime {
        Runtime::with_path(vec![reference_dir()]).with_cache_dir(self.root.join("cache"))
    }

    fn go(&self) -> DriverRun<'_> {
        DriverRun {
            confdir: leak(self.root.join("conf")),
            cache: leak(self.root.join("cache")),
            cap_args: None,
            cni_args: "",
            host: None,
        }
    }

    fn ips(&self) -> Vec<String> {
        allocations(&self.root.join("data"), "hl")
    }
}

fn leak(p: std::path::PathBuf) -> &'static Path {
    Box::leak(p.into_boxed_path())
}

fn att(cid: &str) -> Attachment {
    Attachment::new(cid, format!("/run/netns/fake-{cid}"), "eth0")
}

#[test]
fn results_match_libcni_for_every_version_the_plugins_speak() {
    for version in ["0.3.1", "0.4.0", "1.0.0"] {
        let ours = World::new("same-ours", version);
        let theirs = World::new("same-go", version);
        let a = ours.runtime().add(&ours.net(), &att("c1")).unwrap();
        let out = theirs
            .go()
            .op("add", "hl", "c1", "/run/netns/fake-c1", "eth0")
            .unwrap();
        let go: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(a.value, go, "version {version}");
        // The cache files say the same too, the config bytes aside.
        let read = |w: &World| -> Value {
            let mut v: Value = serde_json::from_slice(
                &std::fs::read(w.root.join("cache/results/hl-c1-eth0")).unwrap(),
            )
            .unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("config");
            o.remove("netns");
            v
        };
        assert_eq!(read(&ours), read(&theirs), "version {version}");
    }
}

#[test]
fn a_cache_written_by_libcni_is_read_and_deleted_by_us() {
    let w = World::new("go-to-us", "1.0.0");
    w.go()
        .op("add", "hl", "c1", "/run/netns/fake-c1", "eth0")
        .unwrap();
    assert_eq!(w.ips(), ["10.77.0.2"]);
    let rt = w.runtime();
    let net = w.net();
    let cached = rt.cached_result(&net, &att("c1")).unwrap().unwrap();
    assert_eq!(cached.value["ips"][0]["address"], "10.77.0.2/24");
    let listing = rt.cached_attachments(Some("hl")).unwrap();
    assert_eq!(listing.attachments.len(), 1);
    assert_eq!(
        listing.attachments[0].record.config,
        std::fs::read(w.root.join("conf/hl.conflist")).unwrap()
    );
    rt.check(&net, &att("c1")).unwrap();
    rt.del(&net, &att("c1")).unwrap();
    assert!(w.ips().is_empty());
    assert!(rt.cached_attachments(None).unwrap().attachments.is_empty());
}

#[test]
fn a_cache_written_by_us_is_read_and_deleted_by_libcni() {
    let w = World::new("us-to-go", "1.0.0");
    let rt = w.runtime();
    let caps = json!({"portMappings": [{"hostPort": 80, "containerPort": 80, "protocol": "tcp"}]});
    let a = att("c1")
        .with_args(vec![("IgnoreUnknown".into(), "1".into())])
        .with_capability_args(caps.as_object().cloned().unwrap());
    rt.add(&w.net(), &a).unwrap();
    assert_eq!(w.ips(), ["10.77.0.2"]);
    w.go()
        .op("check", "hl", "c1", "/run/netns/fake-c1", "eth0")
        .unwrap();
    w.go().op("del", "hl", "c1", "", "eth0").unwrap();
    assert!(w.ips().is_empty());
    assert!(!w.root.join("cache/results/hl-c1-eth0").exists());
}

#[test]
fn a_torn_cache_file_does_not_block_our_del_as_it_blocks_libcnis() {
    let w = World::new("torn", "1.0.0");
    let rt = w.runtime();
    let net = w.net();
    rt.add(&net, &att("c1")).unwrap();
    let file = w.root.join("cache/results/hl-c1-eth0");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    // The reference refuses the DEL, so the address would leak.
    let err = w.go().op("del", "hl", "c1", "", "eth0").unwrap_err();
    assert!(err.contains("cached result"), "{err}");
    assert_eq!(w.ips(), ["10.77.0.2"]);
    rt.del(&net, &att("c1")).unwrap();
    assert!(w.ips().is_empty());
    assert!(!file.exists());
    // Empty, as after a power loss with a non-atomic writer.
    rt.add(&net, &att("c2")).unwrap();
    std::fs::write(w.root.join("cache/results/hl-c2-eth0"), b"").unwrap();
    rt.del(&net, &att("c2")).unwrap();
    assert!(w.ips().is_empty());
}

#[test]
fn concurrent_adds_of_different_containers_then_gc_removes_exactly_the_stale() {
    let w = Arc::new(World::new("concurrent", "1.0.0"));
    let rt = Arc::new(w.runtime());
    let net = Arc::new(w.net());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (rt, net) = (Arc::clone(&rt), Arc::clone(&net));
            std::thread::spawn(move || rt.add(&net, &att(&format!("c{i}"))).unwrap())
        })
        .collect();
    let mut addresses: Vec<String> = threads
        .into_iter()
        .map(|t| {
            t.join().unwrap().value["ips"][0]["address"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 8, "{addresses:?}");
    assert_eq!(w.ips().len(), 8);

    let valid: Vec<GcAttachment> = (0..4)
        .map(|i| GcAttachment::new(format!("c{i}"), "eth0"))
        .collect();
    rt.gc(&net, &valid).unwrap();
    let mut left: Vec<String> = rt
        .cached_attachments(Some("hl"))
        .unwrap()
        .attachments
        .into_iter()
        .map(|a| a.record.container_id)
        .collect();
    left.sort();
    assert_eq!(left, ["c0", "c1", "c2", "c3"]);
    // host-local's files name their owner on the first line.
    let data = w.root.join("data/hl");
    let mut owners: Vec<String> = w
        .ips()
        .iter()
        .map(|ip| {
            let text = std::fs::read_to_string(data.join(ip)).unwrap();
            text.lines().next().unwrap().trim().to_owned()
        })
        .collect();
    owners.sort();
    assert_eq!(owners, left);
}

#[test]
fn libcnis_gc_and_ours_agree_on_what_is_stale() {
    let ours = World::new("gc-ours", "1.0.0");
    let theirs = World::new("gc-go", "1.0.0");
    let rt = ours.runtime();
    for cid in ["a1", "a2", "a3"] {
        rt.add(&ours.net(), &att(cid)).unwrap();
        theirs
            .go()
            .op("add", "hl", cid, &format!("/run/netns/fake-{cid}"), "eth0")
            .unwrap();
    }
    rt.gc(&ours.net(), &[GcAttachment::new("a2", "eth0")])
        .unwrap();
    let confdir = theirs.root.join("conf");
    let out = theirs
        .go()
        .run(&["gc", confdir.to_str().unwrap(), "hl", "a2/eth0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ours.ips(), theirs.ips());
    assert_eq!(ours.ips(), ["10.77.0.3"]);
    // And our GC over the cache libcni wrote.
    rt.add(&ours.net(), &att("a4")).unwrap();
    let go_cache =
        Runtime::with_path(vec![reference_dir()]).with_cache_dir(theirs.root.join("cache"));
    go_cache.gc(&theirs.net(), &[]).unwrap();
    assert!(theirs.ips().is_empty());
}
