//! cnitool's verbs against our plugins and the reference ones.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{reference_dir, Sandbox};

/// bridge + host-local (state in the sandbox) + loopback.
fn bridge_conf(sb: &Sandbox, name: &str, version: &str, subnet: &str) -> Value {
    json!({
        "cniVersion": version,
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": format!("br-{name}"),
                "isGateway": true,
                "capabilities": {"mac": true},
                "ipam": {
                    "type": "host-local",
                    "dataDir": sb.tmp.join("ipam"),
                    "ranges": [[{"subnet": subnet}]],
                },
            },
            {"type": "loopback"},
        ],
    })
}

/// cnitool's derivation, computed by `sha512sum`, not by the code under test.
fn sha512sum_id(path: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("printf %s \"$1\" | sha512sum")
        .arg("sh")
        .arg(path)
        .output()
        .unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    format!("cnitool-{}", &hex[..20])
}

fn lifecycle(sb: &Sandbox, cni_path: &str, version: &str, status_ok: bool) {
    sb.write_conflist(&bridge_conf(sb, "n1", version, "10.21.0.0/24"));
    let pod = sb.pod("pod1");
    let pod_s = pod.to_str().unwrap();
    let id = sha512sum_id(&pod);
    let ipam = sb.tmp.join("ipam").join("n1");

    let add = sb.twill_with(cni_path, &["add", "n1", pod_s], &[]);
    let result: Value = add.json();
    assert_eq!(add.code, Some(0), "{add:?}");
    assert_eq!(result["cniVersion"], version);
    assert_eq!(result["ips"][0]["address"], "10.21.0.2/24");
    // cnitool prints with a four-space indent.
    assert!(
        add.stdout.contains("\n    \"cniVersion\""),
        "{}",
        add.stdout
    );
    assert_eq!(sb.cache_files(), [format!("n1-{id}-eth0")]);
    assert_eq!(sb.reserved(&ipam), ["10.21.0.2"]);
    let inside = sb.sh(&format!("nsenter --net={pod_s} ip -4 -o addr show eth0"));
    assert!(inside.ok().contains("10.21.0.2/24"), "{inside:?}");

    sb.twill_with(cni_path, &["check", "n1", pod_s], &[]).ok();
    let status = sb.twill_with(cni_path, &["status", "n1"], &[]);
    if status_ok {
        status.ok();
    } else {
        // Lists before 1.1.0 have no STATUS: code 1, said in words.
        assert!(
            status
                .fails()
                .contains("does not support the STATUS command"),
            "{status:?}"
        );
        assert!(status.stderr.contains("CNI error 1"), "{status:?}");
    }
    sb.twill_with(cni_path, &["del", "n1", pod_s], &[]).ok();
    assert!(sb.cache_files().is_empty());
    assert!(sb.reserved(&ipam).is_empty());
    // DEL is idempotent, as cnitool's is.
    sb.twill_with(cni_path, &["del", "n1", pod_s], &[]).ok();
}

#[test]
fn add_check_status_del_with_our_plugins() {
    let sb = Sandbox::new();
    lifecycle(&sb, &sb.cni_path.clone(), "1.1.0", true);
}

#[test]
fn add_check_status_del_with_the_reference_plugins() {
    let sb = Sandbox::new();
    lifecycle(&sb, reference_dir(), "1.0.0", false);
}

#[test]
fn cnitool_environment_ifname_args_and_capabilities() {
    let sb = Sandbox::new();
    sb.write_conflist(&bridge_conf(&sb, "n2", "1.1.0", "10.22.0.0/24"));
    let pod = sb.pod("pod2");
    let pod_s = pod.to_str().unwrap();
    let env = [
        ("CNI_IFNAME", "eth5"),
        ("CNI_ARGS", "IgnoreUnknown=1;IP=10.22.0.77"),
        ("CAP_ARGS", r#"{"mac":"0a:58:0a:16:00:4d"}"#),
    ];
    let r = sb.twill_with(
        &sb.cni_path,
        &["add", "n2", pod_s, "--container-id", "c-env"],
        &env,
    );
    let v = r.json();
    assert_eq!(v["ips"][0]["address"], "10.22.0.77/24", "{r:?}");
    let eth5 = v["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth5")
        .unwrap_or_else(|| panic!("no eth5 in {v}"));
    assert_eq!(eth5["mac"], "0a:58:0a:16:00:4d");
    assert_eq!(sb.cache_files(), ["n2-c-env-eth5"]);
    let cached: Value =
        serde_json::from_slice(&std::fs::read(sb.cache().join("results/n2-c-env-eth5")).unwrap())
            .unwrap();
    assert_eq!(
        cached["cniArgs"],
        json!([["IgnoreUnknown", "1"], ["IP", "10.22.0.77"]])
    );
    // -i on the command line wins over CNI_IFNAME; the cached arguments fill the DEL in.
    sb.twill_with(
        &sb.cni_path,
        &["del", "n2", pod_s, "--container-id", "c-env", "-i", "eth5"],
        &[],
    )
    .ok();
    assert!(sb.cache_files().is_empty());
}

#[test]
fn failures_say_what_to_do() {
    let sb = Sandbox::new();
    sb.write_conflist(&bridge_conf(&sb, "other", "1.1.0", "10.25.0.0/24"));
    let missing = sb.twill(&["add", "nope", "/run/netns/x"]);
    let err = missing.fails();
    assert!(err.contains("network \"nope\" not found in"), "{err}");
    assert!(err.contains("files: other.conflist"), "{err}");
    assert!(
        err.contains("create it with `twill net create nope`"),
        "{err}"
    );

    sb.write_conflist(&bridge_conf(&sb, "n3", "1.1.0", "10.23.0.0/24"));
    let pod = sb.pod("pod3");
    let r = sb.twill_with(
        "/nonexistent",
        &["--json", "add", "n3", pod.to_str().unwrap()],
        &[],
    );
    r.fails();
    let e = r.json();
    assert_eq!(e["code"], 7, "{r:?}");
    assert!(e["msg"]
        .as_str()
        .unwrap()
        .contains("failed to find plugin \"bridge\""));
    assert!(
        e["hint"].as_str().unwrap().contains("`twill plugins`"),
        "{e}"
    );
    assert!(
        r.stderr
            .contains("CNI error 7: invalid network configuration"),
        "{r:?}"
    );

    let check = sb.twill(&["check", "n3", pod.to_str().unwrap()]);
    assert!(
        check.fails().contains("`twill ls` lists the attachments"),
        "{check:?}"
    );
    assert!(check.stderr.contains("CNI error 3"), "{check:?}");
}

#[test]
fn gc_net_all_releases_everything_like_cnitool_gc() {
    let sb = Sandbox::new();
    sb.write_conflist(&bridge_conf(&sb, "n4", "1.0.0", "10.24.0.0/24"));
    let a = sb.pod("a");
    let b = sb.pod("b");
    for p in [&a, &b] {
        sb.twill_with(reference_dir(), &["add", "n4", p.to_str().unwrap()], &[])
            .ok();
    }
    assert_eq!(sb.cache_files().len(), 2);
    // Both namespaces are alive: a plain GC keeps them.
    sb.twill_with(reference_dir(), &["gc", "n4"], &[]).ok();
    assert_eq!(sb.cache_files().len(), 2);
    // cnitool's form (`gc NET NETNS`) with --all: every attachment of the network goes.
    let out = sb.twill_with(
        reference_dir(),
        &["gc", "n4", a.to_str().unwrap(), "--all"],
        &[],
    );
    assert_eq!(
        out.ok().matches("released n4/cnitool-").count(),
        2,
        "{out:?}"
    );
    assert!(sb.cache_files().is_empty());
    assert!(sb.reserved(&sb.tmp.join("ipam/n4")).is_empty());
}
