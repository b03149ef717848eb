//! `twill net create|ls|inspect|rm`.

use serde_json::Value;

use crate::support::{reference_dir, Sandbox};

#[test]
fn create_ls_inspect_and_rm_refused_while_attached_then_forced() {
    let sb = Sandbox::new();
    let created = sb.twill(&["net", "create", "web"]);
    assert!(
        created
            .ok()
            .starts_with("created network web (bridge twill1, 10.89.0.0/24 gateway 10.89.0.1)"),
        "{created:?}"
    );
    let file = sb.confdir().join("web.conflist");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(on_disk["cniVersion"], "1.1.0");
    assert_eq!(
        on_disk["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
        "10.89.0.0/24"
    );
    // The next network gets the next free subnet and bridge.
    let next = sb.twill(&["--json", "net", "create", "api"]).json();
    assert_eq!(next["config"]["plugins"][0]["bridge"], "twill2");
    assert_eq!(
        next["config"]["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
        "10.89.1.0/24"
    );

    let ls = sb.twill(&["net", "ls"]);
    let text = ls.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "VERSION", "PLUGINS", "FILE"]
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("web ") && l.contains("bridge") && l.contains("web.conflist")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("twill ") && l.contains("(embedded default)")),
        "{text}"
    );
    let json = sb.twill(&["net", "ls", "--json"]).json();
    let names: Vec<&str> = json["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web", "twill"]);

    let inspected = sb.twill(&["net", "inspect", "web"]).json();
    assert_eq!(inspected, on_disk);

    let pod = sb.pod("p1");
    let pod_s = pod.to_str().unwrap();
    sb.twill(&["add", "web", pod_s]).ok();
    let refused = sb.twill(&["net", "rm", "web"]);
    let err = refused.fails();
    assert!(err.contains("network \"web\" has 1 attachment(s)"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(file.exists());

    let forced = sb.twill(&["net", "rm", "web", "--force"]);
    let out = forced.ok();
    assert!(out.contains("detached web/cnitool-"), "{out}");
    assert!(out.contains("removed network web"), "{out}");
    assert!(!file.exists());
    assert!(sb.cache_files().is_empty());
    assert!(sb.reserved(&sb.cache().join("networks/web")).is_empty());
    let inside = sb.sh(&format!("nsenter --net={pod_s} ip -o link"));
    assert!(
        !inside.ok().contains("eth0"),
        "the pod's interface is gone: {inside:?}"
    );
    assert!(sb
        .twill(&["net", "inspect", "web"])
        .fails()
        .contains("not found"));
}

#[test]
fn broken_files_are_reported_not_hiding_the_rest() {
    let sb = Sandbox::new();
    sb.twill(&["net", "create", "good", "--subnet", "10.27.0.0/24"])
        .ok();
    std::fs::write(sb.confdir().join("bad.conflist"), "{\"name\": ").unwrap();
    let ls = sb.twill(&["net", "ls"]);
    assert!(ls.ok().contains("good"), "{ls:?}");
    assert!(ls.stderr.contains("bad.conflist"), "{ls:?}");
    let json = sb.twill(&["--json", "net", "ls"]).json();
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].as_str().unwrap().contains("bad.conflist"));
}

#[test]
fn create_refuses_what_it_cannot_do_and_negotiates_versions() {
    let sb = Sandbox::new();
    let masq = sb.twill(&["net", "create", "m", "--masq", "--driver", "macvlan"]);
    assert!(masq.fails().contains("bridge and ptp"), "{masq:?}");
    // A plugin directory without the driver's plugin: the error names it and says where
    // it comes from.
    let only_ipam = sb.tmp.join("only-ipam");
    std::fs::create_dir_all(&only_ipam).unwrap();
    std::os::unix::fs::symlink(
        std::path::Path::new(reference_dir()).join("host-local"),
        only_ipam.join("host-local"),
    )
    .unwrap();
    let ipvlan = sb.twill_with(
        only_ipam.to_str().unwrap(),
        &["net", "create", "r", "--driver", "ipvlan", "--parent", "lo"],
        &[],
    );
    let err = ipvlan.fails();
    assert!(err.contains("failed to find plugin \"ipvlan\""), "{err}");
    assert!(err.contains("`twill-cni` provides ipvlan"), "{err}");
    let overlap = sb.twill(&["net", "create", "o", "--subnet", "10.88.1.0/24"]);
    assert!(
        overlap
            .fails()
            .contains("overlaps a subnet of network \"twill\""),
        "{overlap:?}"
    );
    assert!(
        crate::support::list(&sb.confdir()).is_empty(),
        "nothing written on refusal"
    );

    // With the reference plugins (1.0.0 at most), the version written is theirs.
    let r = sb.twill_with(
        reference_dir(),
        &[
            "--json", "net", "create", "r", "--driver", "ptp", "--mtu", "1400",
        ],
        &[],
    );
    let v = r.json();
    assert_eq!(v["config"]["cniVersion"], "1.0.0", "{r:?}");
    assert_eq!(v["config"]["plugins"][0]["type"], "ptp");
    let pod = sb.pod("pp");
    let add = sb.twill_with(reference_dir(), &["add", "r", pod.to_str().unwrap()], &[]);
    assert_eq!(add.json()["ips"][0]["address"], "10.89.0.2/24", "{add:?}");
    sb.twill_with(reference_dir(), &["del", "r", pod.to_str().unwrap()], &[])
        .ok();
    assert!(sb.cache_files().is_empty());

    let dup = sb.twill(&["net", "create", "r"]);
    assert!(dup.fails().contains("already exists"), "{dup:?}");
}

/// macvlan and ipvlan networks on a parent in the host, an internal bridge: what each
/// driver writes, shown by `net inspect`, and a run on each parent-device network.
#[test]
fn parent_device_drivers_and_internal_networks() {
    let sb = Sandbox::new();
    sb.sh("ip link add up0 type veth peer name up0p && ip link set up0 up && ip link set up0p up")
        .ok();
    sb.twill(&[
        "net",
        "create",
        "lan",
        "--driver",
        "macvlan",
        "--parent",
        "up0",
        "--mode",
        "vepa",
        "--subnet",
        "10.77.0.0/24",
    ])
    .ok();
    sb.twill(&[
        "net",
        "create",
        "l3net",
        "--driver",
        "ipvlan",
        "--parent",
        "up0",
        "--mode",
        "l3",
        "--subnet",
        "10.78.0.0/24",
    ])
    .ok();
    sb.twill(&["net", "create", "inner", "--internal"]).ok();

    let lan = sb.twill(&["net", "inspect", "lan"]).json();
    let p = &lan["plugins"][0];
    assert_eq!(
        (&p["type"], &p["master"], &p["mode"]),
        (&"macvlan".into(), &"up0".into(), &"vepa".into()),
        "{lan}"
    );
    let l3 = sb.twill(&["net", "inspect", "l3net"]).json();
    let p = &l3["plugins"][0];
    assert_eq!(
        (&p["type"], &p["master"], &p["mode"]),
        (&"ipvlan".into(), &"up0".into(), &"l3".into()),
        "{l3}"
    );
    let inner = sb.twill(&["net", "inspect", "inner"]).json();
    let p = &inner["plugins"][0];
    assert!(p.get("ipMasq").is_none(), "{inner}");
    assert_eq!(p["ipam"]["routes"], serde_json::json!([]), "{inner}");

    // A run on the macvlan network: its interface is a child of up0 with an address.
    let out = sb.twill(&[
        "run", "--net", "lan", "--", "ip", "-d", "-o", "addr", "show", "eth0",
    ]);
    let text = out.ok();
    assert!(text.contains("inet 10.77.0.2/24"), "{text}");
    let link = sb.twill(&[
        "run", "--net", "lan", "--", "ip", "-d", "-o", "link", "show", "eth0",
    ]);
    assert!(link.ok().contains("macvlan mode vepa"), "{link:?}");
    assert!(sb.namespaces().is_empty());
    assert!(sb.cache_files().is_empty());
}
