//! CHECK, STATUS, GC and validation against a fake executor.

use serde_json::json;
use twill_cni::Code;

use super::{caps, list, net, runtime};
use crate::cache::CacheRead;
use crate::testing::{out, threading_answer, FakeExec, TempDir};
use crate::{Attachment, GcAttachment, Runtime, RuntimeError};

fn with(mut v: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    v[key] = value;
    v
}

#[test]
fn check_has_a_floor_honours_disable_check_and_needs_the_cache() {
    let dir = TempDir::new("check");
    let rt = runtime(FakeExec::threading(), &dir);
    let att = Attachment::new("c1", "/run/netns/x", "eth0");
    let old = net(with(list("0.3.1"), "disableCheck", json!(true)));
    let err = rt.check(&old, &att).unwrap_err();
    assert_eq!(err.code(), Code::INCOMPATIBLE_VERSION);
    let off = net(with(list("1.0.0"), "disableCheck", json!("true")));
    rt.check(&off, &att).unwrap();
    assert!(rt.exec().calls().is_empty());

    let n = net(list("1.0.0"));
    let err = rt.check(&n, &att).unwrap_err();
    assert_eq!(err.code(), Code::UNKNOWN_CONTAINER);
    assert!(matches!(err, RuntimeError::NoCachedResult { .. }));
    let added = rt.add(&n, &att).unwrap();
    rt.exec().clear();
    rt.check(&n, &att).unwrap();
    let calls = rt.exec().calls();
    let plugins: Vec<_> = calls.iter().map(|c| c.plugin.as_str()).collect();
    assert_eq!(plugins, ["a", "b", "c"]);
    assert!(calls
        .iter()
        .all(|c| c.command() == "CHECK" && c.stdin["prevResult"] == added.value));
}

#[test]
fn status_has_a_floor_and_stops_at_the_first_unready_plugin() {
    let dir = TempDir::new("status");
    let rt = runtime(FakeExec::failing("b", "STATUS", 50), &dir);
    let err = rt.status(&net(list("1.0.0"))).unwrap_err();
    assert_eq!(err.code(), Code::INCOMPATIBLE_VERSION);
    assert!(rt.exec().calls().is_empty());
    let err = rt.status(&net(list("1.1.0"))).unwrap_err();
    assert_eq!(err.code(), Code::PLUGIN_NOT_AVAILABLE);
    assert_eq!(rt.exec().trace().len(), 2);
    let call = &rt.exec().calls()[0];
    assert_eq!(
        (call.var("CNI_CONTAINERID"), call.var("CNI_PATH")),
        (None, Some("/fake"))
    );
}

fn add_three(rt: &crate::Runtime<FakeExec>, n: &crate::NetworkList) {
    for (cid, netns) in [
        ("c1", "/run/netns/1"),
        ("c2", "/run/netns/2"),
        ("c3", "/run/netns/3"),
    ] {
        let att = Attachment::new(cid, netns, "eth0")
            .with_args(vec![("K".into(), cid.into())])
            .with_capability_args(caps());
        rt.add(n, &att).unwrap();
    }
    rt.exec().clear();
}

#[test]
fn gc_deletes_exactly_the_stale_attachments_then_gcs_every_plugin() {
    let dir = TempDir::new("gc");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("1.1.0"));
    add_three(&rt, &n);
    // Another network's attachment is not this GC's business.
    let other = net(with(list("1.1.0"), "name", json!("other")));
    rt.add(&other, &Attachment::new("c9", "/run/netns/9", "eth0"))
        .unwrap();
    rt.exec().clear();

    let valid = [GcAttachment::new("c2", "eth0")];
    rt.gc(&n, &valid).unwrap();
    let calls = rt.exec().calls();
    let dels: Vec<_> = calls
        .iter()
        .filter(|c| c.command() == "DEL")
        .map(|c| format!("{}:{}", c.plugin, c.var("CNI_CONTAINERID").unwrap()))
        .collect();
    assert_eq!(dels, ["c:c1", "b:c1", "a:c1", "c:c3", "b:c3", "a:c3"]);
    let del_a_c3 = &calls[5];
    assert_eq!(del_a_c3.var("CNI_NETNS"), Some("/run/netns/3"));
    assert_eq!(del_a_c3.var("CNI_ARGS"), Some("K=c3"));
    assert_eq!(
        del_a_c3.stdin["runtimeConfig"]["portMappings"],
        caps()["portMappings"]
    );
    assert!(del_a_c3.stdin["prevResult"].is_object());
    let gcs: Vec<_> = calls[6..]
        .iter()
        .map(|c| (c.plugin.as_str(), c.command()))
        .collect();
    assert_eq!(gcs, [("a", "GC"), ("b", "GC"), ("c", "GC")]);
    let expected = json!([{"containerID": "c2", "ifname": "eth0"}]);
    assert_eq!(calls[6].stdin["cni.dev/valid-attachments"], expected);
    assert_eq!(calls[6].stdin["cni.dev/attachments"], expected);
    assert_eq!(calls[6].var("CNI_CONTAINERID"), None);

    let left: Vec<_> = rt
        .cached_attachments(None)
        .unwrap()
        .attachments
        .into_iter()
        .map(|a| a.record.container_id)
        .collect();
    // Listed by file name: "net-c2-eth0" before "other-c9-eth0".
    assert_eq!(left, ["c2", "c9"]);
}

#[test]
fn gc_below_1_1_0_only_deletes_and_disable_gc_does_nothing() {
    let dir = TempDir::new("gc100");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("1.0.0"));
    add_three(&rt, &n);
    let off = net(with(list("1.0.0"), "disableGC", json!("true")));
    rt.gc(&off, &[]).unwrap();
    assert!(rt.exec().calls().is_empty());
    rt.gc(&n, &[]).unwrap();
    let trace = rt.exec().trace();
    assert_eq!(trace.len(), 9);
    assert!(trace.iter().all(|(_, c)| c == "DEL"));
    assert!(rt
        .cached_attachments(Some("net"))
        .unwrap()
        .attachments
        .is_empty());
}

#[test]
fn gc_attempts_everything_and_reports_every_failure() {
    let dir = TempDir::new("gcerr");
    let fake = FakeExec::new(|c| match (c.plugin.as_str(), c.command()) {
        ("b", "DEL") => out(1, r#"{"code":11,"msg":"del busy"}"#),
        ("a", "GC") => out(1, r#"{"code":5,"msg":"gc broke"}"#),
        _ => threading_answer(c),
    });
    let rt = runtime(fake, &dir);
    let n = net(list("1.1.0"));
    add_three(&rt, &n);
    let err = rt.gc(&n, &[]).unwrap_err();
    let RuntimeError::Several(all) = &err else {
        panic!("{err}")
    };
    assert_eq!(all.len(), 4, "{err}");
    assert!(all[0]
        .to_string()
        .starts_with("failed to delete stale attachment c1 eth0: plugin type=\"b\""));
    assert_eq!(all[3].code(), Code::IO_FAILURE);
    // DEL stops at b for each attachment (c, b), then GC goes to all three plugins.
    assert_eq!(rt.exec().trace().len(), 3 * 2 + 3);
    // The failed DELs keep their cache files for the next GC.
    assert_eq!(
        rt.cached_attachments(Some("net"))
            .unwrap()
            .attachments
            .len(),
        3
    );
}

#[test]
fn gc_leaves_unreadable_files_alone_and_lists_them() {
    let dir = TempDir::new("gctorn");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("1.0.0"));
    add_three(&rt, &n);
    std::fs::write(rt.cache().file("net", "c2", "eth0"), b"").unwrap();
    rt.gc(&n, &[]).unwrap();
    let listing = rt.cached_attachments(Some("net")).unwrap();
    assert!(listing.attachments.is_empty());
    assert_eq!(listing.unreadable.len(), 1);
    assert!(matches!(
        rt.cache().read("net", "c2", "eth0"),
        CacheRead::Unreadable { .. }
    ));
    rt.cache().remove_path(&listing.unreadable[0].0).unwrap();
    assert!(rt
        .cache()
        .remove_path(std::path::Path::new("/etc/passwd"))
        .is_err());
}

#[test]
fn validate_asks_every_plugin_and_unions_capabilities() {
    let dir = TempDir::new("validate");
    let rt = runtime(FakeExec::threading(), &dir);
    assert_eq!(
        rt.validate(&net(list("1.0.0"))).unwrap(),
        ["bandwidth", "portMappings"]
    );
    let fake = FakeExec::new(|c| match c.plugin.as_str() {
        "a" | "c" => out(
            0,
            r#"{"cniVersion":"0.4.0","supportedVersions":["0.3.1","0.4.0"]}"#,
        ),
        _ => threading_answer(c),
    });
    let rt = runtime(fake, &dir);
    let err = rt.validate(&net(list("1.0.0"))).unwrap_err();
    assert_eq!(err.code(), Code::INCOMPATIBLE_VERSION);
    assert_eq!(
        err.to_string(),
        "plugin a does not support config version \"1.0.0\"; plugin c does not support config version \"1.0.0\""
    );
    assert_eq!(rt.exec().trace().len(), 3);
    assert_eq!(
        rt.version_info("a").unwrap().supported_versions,
        ["0.3.1", "0.4.0"]
    );
}

#[test]
fn gc_with_decides_after_an_add_in_progress_completes() {
    let dir = TempDir::new("gc-race");
    let n = net(list("1.1.0"));
    let adder = runtime(FakeExec::threading(), &dir);
    // An operation of this network in progress: GC's exclusive lock must wait for it.
    let in_progress = adder.locks.attachment(n.name(), "c-other", "eth0").unwrap();
    let cache_dir = dir.0.clone();
    let gc_net = n.clone();
    let gc = std::thread::spawn(move || {
        let rt =
            Runtime::new(FakeExec::threading(), vec!["/fake".into()]).with_cache_dir(&cache_dir);
        let mut seen = Vec::new();
        rt.gc_with(&gc_net, |cached| {
            seen = cached
                .iter()
                .map(|c| c.record.container_id.clone())
                .collect();
            cached
                .iter()
                .map(|c| GcAttachment::new(&c.record.container_id, &c.record.ifname))
                .collect()
        })
        .unwrap();
        let dels = rt
            .exec()
            .calls()
            .iter()
            .filter(|c| c.command() == "DEL")
            .count();
        (seen, dels)
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    // The ADD completes while GC waits for the lock.
    adder
        .add(&n, &Attachment::new("c-new", "/run/netns/new", "eth0"))
        .unwrap();
    drop(in_progress);
    let (seen, dels) = gc.join().unwrap();
    assert_eq!(seen, ["c-new"]);
    assert_eq!(dels, 0);
    let left = adder.cached_attachments(None).unwrap().attachments;
    assert_eq!(left.len(), 1);
}
