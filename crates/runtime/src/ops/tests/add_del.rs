//! ADD and DEL against a fake executor.

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};
use twill_cni::Code;

use super::{caps, list, net, runtime};
use crate::cache::{CacheContent, CacheRead};
use crate::testing::{out, threading_answer, FakeExec, TempDir};
use crate::{AddOptions, Attachment, RuntimeError};

fn att() -> Attachment {
    Attachment::new("c1", "/run/netns/x", "eth0")
        .with_args(vec![("IgnoreUnknown".into(), "1".into())])
}

fn names(v: &Value) -> Vec<String> {
    v["interfaces"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn add_runs_in_order_threading_results_and_injecting_capabilities() {
    let dir = TempDir::new("add");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("1.0.0"));
    let a = att().with_capability_args(caps());
    let result = rt.add(&n, &a).unwrap();
    assert_eq!(names(&result.value), ["a", "b", "c"]);
    let calls = rt.exec().calls();
    let plugins: Vec<_> = calls.iter().map(|c| c.plugin.as_str()).collect();
    assert_eq!(plugins, ["a", "b", "c"]);
    let [first, second, third] = calls.as_slice() else {
        panic!()
    };
    assert_eq!(first.stdin.get("prevResult"), None);
    assert_eq!(
        first.stdin["runtimeConfig"],
        json!({"portMappings": caps()["portMappings"]})
    );
    assert_eq!(
        (
            first.stdin["name"].as_str(),
            first.stdin["cniVersion"].as_str()
        ),
        (Some("net"), Some("1.0.0"))
    );
    assert_eq!(second.stdin.get("runtimeConfig"), None);
    assert_eq!(names(&second.stdin["prevResult"]), ["a"]);
    assert_eq!(names(&third.stdin["prevResult"]), ["a", "b"]);
    assert_eq!(
        third.stdin["runtimeConfig"],
        json!({"bandwidth": caps()["bandwidth"]})
    );
    assert_eq!(first.var("CNI_ARGS"), Some("IgnoreUnknown=1"));
    assert_eq!(first.var("CNI_NETNS"), Some("/run/netns/x"));

    // Cached in libcni's place and shape, private.
    let path = rt.cache().file("net", "c1", "eth0");
    assert!(path.ends_with("results/net-c1-eth0"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&rt.cache().results_dir()), 0o700);
    let CacheRead::Found(CacheContent::Record(r)) = rt.cache().read("net", "c1", "eth0") else {
        panic!()
    };
    assert_eq!(r.config, n.bytes);
    assert_eq!(r.netns, "/run/netns/x");
    assert_eq!(r.capability_args, caps());
    assert_eq!(r.result.as_ref(), Some(&result.value));
    assert_eq!(
        rt.cached_result(&n, &a).unwrap().unwrap().value,
        result.value
    );
}

#[test]
fn each_result_is_converted_to_the_lists_version_before_passing_on() {
    let dir = TempDir::new("conv");
    let fake = FakeExec::new(|c| {
        if c.plugin == "a" && c.command() == "ADD" {
            // An older plugin answering in its own version.
            out(
                0,
                r#"{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.5/24"}],"dns":{}}"#,
            )
        } else {
            threading_answer(c)
        }
    });
    let rt = runtime(fake, &dir);
    rt.add(&net(list("1.0.0")), &att()).unwrap();
    let calls = rt.exec().calls();
    let prev = &calls[1].stdin["prevResult"];
    assert_eq!(prev["cniVersion"], "1.0.0");
    assert_eq!(prev["ips"], json!([{"address": "10.0.0.5/24"}]));
}

#[test]
fn add_stops_at_the_first_error_and_can_roll_back() {
    let dir = TempDir::new("fail");
    let rt = runtime(FakeExec::failing("b", "ADD", 11), &dir);
    let n = net(list("1.0.0"));
    let err = rt.add(&n, &att()).unwrap_err();
    assert_eq!(err.code(), Code::TRY_AGAIN_LATER);
    assert_eq!(
        err.to_string(),
        "plugin type=\"b\" name=\"net\" failed (add): b says no"
    );
    assert_eq!(rt.exec().trace().len(), 2);
    assert_eq!(rt.cache().read("net", "c1", "eth0"), CacheRead::Missing);

    rt.exec().clear();
    let err = rt
        .add_with(&n, &att(), AddOptions { rollback: true })
        .unwrap_err();
    assert_eq!(err.code(), Code::TRY_AGAIN_LATER);
    let trace: Vec<_> = rt
        .exec()
        .trace()
        .into_iter()
        .map(|(p, c)| format!("{p}:{c}"))
        .collect();
    assert_eq!(trace, ["a:ADD", "b:ADD", "c:DEL", "b:DEL", "a:DEL"]);
    assert!(rt.exec().calls()[2..]
        .iter()
        .all(|c| c.stdin.get("prevResult").is_none()));

    let both = FakeExec::new(|c| match (c.plugin.as_str(), c.command()) {
        ("c", _) => out(1, r#"{"code":7,"msg":"broken"}"#),
        _ => threading_answer(c),
    });
    let rt = runtime(both, &dir);
    let err = rt
        .add_with(&n, &att(), AddOptions { rollback: true })
        .unwrap_err();
    assert!(matches!(err, RuntimeError::RollbackFailed { .. }), "{err}");
    assert_eq!(err.code(), Code::INVALID_NETWORK_CONFIG);
    assert!(err
        .to_string()
        .contains("failed (add): broken; rolling back with DEL also failed"));
}

#[test]
fn del_runs_in_reverse_with_the_cached_result_and_capability_args() {
    let dir = TempDir::new("del");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("1.0.0"));
    let added = rt.add(&n, &att().with_capability_args(caps())).unwrap();
    rt.exec().clear();
    // The caller has forgotten the capability arguments and CNI_ARGS; the cache has not.
    rt.del(&n, &Attachment::new("c1", "", "eth0")).unwrap();
    let calls = rt.exec().calls();
    let plugins: Vec<_> = calls.iter().map(|c| c.plugin.as_str()).collect();
    assert_eq!(plugins, ["c", "b", "a"]);
    assert!(calls.iter().all(|c| c.stdin["prevResult"] == added.value));
    assert_eq!(
        calls[2].stdin["runtimeConfig"]["portMappings"],
        caps()["portMappings"]
    );
    assert_eq!(calls[2].var("CNI_ARGS"), Some("IgnoreUnknown=1"));
    assert_eq!(calls[2].var("CNI_NETNS"), None);
    assert_eq!(rt.cache().read("net", "c1", "eth0"), CacheRead::Missing);
    // Again: DEL is idempotent, now without a prevResult.
    rt.exec().clear();
    rt.del(&n, &att()).unwrap();
    assert!(rt
        .exec()
        .calls()
        .iter()
        .all(|c| c.stdin.get("prevResult").is_none()));
}

#[test]
fn del_before_0_4_0_sends_no_prev_result() {
    let dir = TempDir::new("del031");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("0.3.1"));
    rt.add(&n, &att()).unwrap();
    rt.exec().clear();
    rt.del(&n, &att()).unwrap();
    assert_eq!(rt.exec().calls().len(), 3);
    assert!(rt
        .exec()
        .calls()
        .iter()
        .all(|c| c.stdin.get("prevResult").is_none()));
}

#[test]
fn a_torn_or_empty_cache_file_never_blocks_del() {
    for garbage in [&b""[..], b"{\"kind\":\"cniCacheV1\",\"contain", b"\0\0\0\0"] {
        let dir = TempDir::new("torn");
        let rt = runtime(FakeExec::threading(), &dir);
        let n = net(list("1.0.0"));
        rt.add(&n, &att()).unwrap();
        let path = rt.cache().file("net", "c1", "eth0");
        std::fs::write(&path, garbage).unwrap();
        assert!(matches!(
            rt.cache().read("net", "c1", "eth0"),
            CacheRead::Unreadable { .. }
        ));
        rt.exec().clear();
        rt.del(&n, &att()).unwrap();
        assert_eq!(rt.exec().calls().len(), 3);
        assert!(rt
            .exec()
            .calls()
            .iter()
            .all(|c| c.stdin.get("prevResult").is_none()));
        assert!(!path.exists());
        // CHECK cannot do without the result.
        let _ = rt.add(&n, &att()).unwrap();
        std::fs::write(&path, garbage).unwrap();
        assert_eq!(
            rt.check(&n, &att()).unwrap_err().code(),
            Code::UNKNOWN_CONTAINER
        );
    }
}

#[test]
fn a_failed_del_keeps_the_cache_for_a_retry() {
    let dir = TempDir::new("delfail");
    let rt = runtime(FakeExec::failing("b", "DEL", 5), &dir);
    let n = net(list("1.0.0"));
    rt.add(&n, &att()).unwrap();
    let err = rt.del(&n, &att()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin type=\"b\" name=\"net\" failed (del): b says no"
    );
    assert!(matches!(
        rt.cache().read("net", "c1", "eth0"),
        CacheRead::Found(_)
    ));
}

#[test]
fn a_legacy_bare_result_is_used_as_prev_result() {
    let dir = TempDir::new("legacy");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("1.0.0"));
    std::fs::create_dir_all(rt.cache().results_dir()).unwrap();
    let legacy =
        r#"{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.9.0.2/16"}],"dns":{}}"#;
    std::fs::write(rt.cache().file("net", "c1", "eth0"), legacy).unwrap();
    rt.del(&n, &att()).unwrap();
    let prev = &rt.exec().calls()[0].stdin["prevResult"];
    assert_eq!(prev["cniVersion"], "1.0.0");
    assert_eq!(prev["ips"][0]["address"], "10.9.0.2/16");
}

#[test]
fn path_like_attachments_never_reach_plugins_or_files() {
    let dir = TempDir::new("bad");
    let rt = runtime(FakeExec::threading(), &dir);
    let n = net(list("1.0.0"));
    let bad = Attachment::new("../../etc", "", "eth0");
    assert_eq!(
        rt.del(&n, &bad).unwrap_err().code(),
        Code::INVALID_ENVIRONMENT
    );
    assert_eq!(
        rt.add(&n, &bad).unwrap_err().code(),
        Code::INVALID_ENVIRONMENT
    );
    assert!(rt.exec().calls().is_empty());
}
