//! `twill run`: the embedded default network, exit codes, signals, SIGKILL then `twill gc`.

use serde_json::json;

use crate::support::Sandbox;

/// Nothing of a run is left: no namespace but the test's, no veth in the host, no address
/// reserved, no cache entry, no run-state file.
fn assert_clean(sb: &Sandbox) {
    assert!(
        sb.namespaces().is_empty(),
        "namespaces left: {:?}",
        sb.namespaces()
    );
    let links = sb.host_links();
    assert!(
        links.iter().all(|l| l == "lo" || l.starts_with("twill")),
        "links left in the host: {links:?}"
    );
    assert!(
        sb.reserved(&sb.default_ipam_dir()).is_empty(),
        "addresses left reserved"
    );
    assert!(
        sb.cache_files().is_empty(),
        "cache left: {:?}",
        sb.cache_files()
    );
    let runs = crate::support::list(&sb.state().join("runs"));
    assert!(runs.is_empty(), "run-state left: {runs:?}");
}

#[test]
fn run_on_the_embedded_default_shows_an_address_and_cleans_up() {
    let sb = Sandbox::new();
    assert!(crate::support::list(&sb.confdir()).is_empty());
    let out = sb.twill(&["run", "--", "sh", "-c", "ip -4 -o addr show eth0"]);
    assert!(out.ok().contains("inet 10.88.0.2/16"), "{out:?}");
    assert_clean(&sb);
    // The default network was written on first use, at the newest version the plugins speak.
    let written = std::fs::read_to_string(sb.state().join("net.d/twill.conflist")).unwrap();
    assert!(written.contains("\"cniVersion\": \"1.1.0\""), "{written}");
    assert!(written.contains("\"bridge\": \"twill0\""), "{written}");
    assert!(sb.host_links().contains(&"twill0".to_owned()));
}

#[test]
fn an_earlier_default_is_upgraded_and_an_edited_one_kept() {
    let sb = Sandbox::new();
    let file = sb.state().join("net.d/twill.conflist");
    let copy = sb.state().join("net.d/.twill.conflist.written");
    assert!(sb.twill(&["run", "--", "true"]).code == Some(0));
    let current: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let types = |v: &serde_json::Value| -> Vec<String> {
        v["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(types(&current), ["bridge", "portmap", "firewall", "tuning"]);

    // What a twill before firewall joined wrote (and it kept no copy): replaced.
    let mut earlier = current.clone();
    earlier["plugins"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["type"] != "firewall");
    std::fs::write(&file, serde_json::to_string_pretty(&earlier).unwrap()).unwrap();
    std::fs::remove_file(&copy).unwrap();
    assert_eq!(sb.twill(&["run", "--", "true"]).code, Some(0));
    let upgraded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(upgraded, current);
    assert!(copy.exists());

    // The operator's own edit of an earlier default: used as it is.
    let mut edited = earlier.clone();
    edited["plugins"][0]["mtu"] = 1400.into();
    let edited_text = serde_json::to_string_pretty(&edited).unwrap();
    std::fs::write(&file, &edited_text).unwrap();
    let out = sb.twill(&["run", "--", "sh", "-c", "cat /sys/class/net/eth0/mtu"]);
    assert_eq!(out.ok().trim(), "1400", "{out:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited_text);
    assert_clean(&sb);
}

#[test]
fn exit_codes_pass_through() {
    let sb = Sandbox::new();
    assert_eq!(sb.twill(&["run", "--", "sh", "-c", "exit 7"]).code, Some(7));
    assert_eq!(
        sb.twill(&["run", "--", "sh", "-c", "kill -9 $$"]).code,
        Some(137)
    );
    let missing = sb.twill(&["run", "--", "/nonexistent/cmd"]);
    assert_eq!(missing.code, Some(127), "{missing:?}");
    assert!(missing.stderr.contains("cannot run \"/nonexistent/cmd\""));
    assert_clean(&sb);
}

#[test]
fn requested_ip_and_two_networks() {
    let sb = Sandbox::new();
    let one = sb.twill(&[
        "run",
        "--ip",
        "10.88.0.42",
        "--",
        "ip",
        "-4",
        "-o",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(one.ok().contains("10.88.0.42/16"), "{one:?}");
    sb.twill(&["net", "create", "second", "--subnet", "10.26.0.0/24"])
        .ok();
    // Both networks route 0.0.0.0/0: the second default route cannot be added, and the
    // message says what to do. Nothing of the run is left.
    let clash = sb.twill(&["run", "--net", "twill", "--net", "second", "--", "true"]);
    assert_eq!(clash.code, Some(125), "{clash:?}");
    assert!(clash.stderr.contains("--no-default-route"), "{clash:?}");
    assert_clean(&sb);
    sb.twill(&["net", "rm", "second"]).ok();
    // The failed ADD left the second bridge without ports, and a bridge whose last port has
    // left reports an all-zero MAC: the next gateway ADD on it must still work.
    let secondary = [
        "net",
        "create",
        "second",
        "--subnet",
        "10.26.0.0/24",
        "--no-default-route",
    ];
    sb.twill(&secondary).ok();
    let two = sb.twill(&[
        "run", "--net", "twill", "--net", "second", "--", "ip", "-4", "-o", "addr",
    ]);
    let text = two.ok();
    assert!(text.contains("eth0    inet 10.88.0."), "{text}");
    assert!(text.contains("eth1    inet 10.26.0."), "{text}");
    let both = sb.twill(&[
        "run",
        "--net",
        "twill",
        "--net",
        "second",
        "--ip",
        "10.26.0.9",
        "--",
        "true",
    ]);
    assert!(
        both.fails().contains("--ip and --mac apply to one network"),
        "{both:?}"
    );
    assert_clean(&sb);
}

#[test]
fn port_mappings_without_portmap_are_refused_before_anything_is_made() {
    let sb = Sandbox::new();
    sb.twill(&["net", "create", "plain", "--subnet", "10.27.0.0/24"])
        .ok();
    let out = sb.twill(&["run", "--net", "plain", "-p", "8080:80", "--", "true"]);
    assert_eq!(out.code, Some(125), "{out:?}");
    assert!(
        out.stderr.contains("port mappings need the portmap plugin"),
        "{out:?}"
    );
    assert_clean(&sb);
}

#[test]
fn port_mappings_on_the_default_network_live_as_long_as_the_run() {
    let sb = Sandbox::new();
    let mut run = sb.spawn_twill(&["run", "-p", "18080:8080", "--", "sleep", "30"]);
    let mapped = || {
        let out = sb.sh("nft list map ip twill_portmap hostports 2>/dev/null");
        out.stdout.contains("18080") && out.stdout.contains("8080")
    };
    sb.wait_for(20, "the run's host port in the portmap map", mapped);
    // SIGTERM is forwarded to the command; the run then tears everything down.
    sb.sh(&format!("kill -TERM {}", run.id())).ok();
    run.wait().unwrap();
    assert!(!mapped(), "the host port outlived the run");
    assert_clean(&sb);
}

#[test]
fn a_name_in_use_is_refused() {
    let sb = Sandbox::new();
    let mut first = sb.spawn_twill(&["run", "--name", "dup", "--", "sleep", "30"]);
    sb.wait_for(20, "the first run's attachment", || {
        sb.cache_files().len() == 1
    });
    let second = sb.twill(&["run", "--name", "dup", "--", "true"]);
    assert_eq!(second.code, Some(125));
    assert!(
        second.stderr.contains("a run named \"dup\" is running"),
        "{second:?}"
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    let status = first.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGTERM),
        "SIGTERM is forwarded to the command"
    );
    assert_clean(&sb);
}

#[test]
fn sigkill_of_twill_run_then_gc_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let pidfile = sb.tmp.join("victim.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let mut run = sb.spawn_twill(&["run", "--name", "victim", "--", "sh", "-c", &script]);
    sb.wait_for(20, "the run's attachment", || sb.cache_files().len() == 1);
    sb.wait_for(20, "the command to start", || pidfile.exists());
    assert_eq!(sb.namespaces(), ["twill-victim"]);
    assert_eq!(sb.reserved(&sb.default_ipam_dir()).len(), 1);
    run.kill().unwrap();
    run.wait().unwrap();

    // The dead run is visible: its namespace still exists, its attachment is cached.
    let ls = sb.twill(&["--json", "ls"]).json();
    assert_eq!(ls[0]["containerId"], "twill-victim");
    assert_eq!(ls[0]["netnsExists"], true);
    // The command died with twill.
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    sb.wait_for(5, "the command to die with twill", || !proc_dir.exists());

    let gc = sb.twill(&["--json", "gc"]);
    let report = gc.json();
    assert_eq!(gc.code, Some(0), "{gc:?}");
    assert_eq!(report["runs"], json!(["victim"]));
    assert_eq!(report["gcNetworks"], json!(["twill"]));
    assert_clean(&sb);
    // A second GC finds nothing more.
    let again = sb.twill(&["--json", "gc"]).json();
    assert_eq!(again["runs"], json!([]));
    assert_eq!(again["released"], json!([]));
}

#[test]
fn a_live_run_survives_gc() {
    let sb = Sandbox::new();
    let mut run = sb.spawn_twill(&["run", "--name", "alive", "--", "sleep", "30"]);
    sb.wait_for(20, "the run's attachment", || sb.cache_files().len() == 1);
    let gc = sb.twill(&["--json", "gc"]);
    assert_eq!(gc.json()["runs"], json!([]), "{gc:?}");
    assert_eq!(sb.cache_files().len(), 1);
    assert_eq!(
        sb.reserved(&sb.default_ipam_dir()).len(),
        1,
        "GC released a live address"
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(run.id() as i32, libc::SIGINT) };
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGINT));
    assert_clean(&sb);
}

/// A plugin that takes its time on ADD (after writing a marker), so `twill run` can be killed
/// between two plugins of a chain; every other command succeeds at once.
const SLOW_PLUGIN: &str = r#"#!/bin/sh
cat >/dev/null
case "$CNI_COMMAND" in
ADD) touch "$(dirname "$0")/slow-add-started"; sleep 3 ;;
VERSION) echo '{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}' ;;
esac
"#;

#[test]
fn sigkill_between_two_plugins_of_a_chain_then_gc_leaves_nothing_behind() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let slow = sb.tmp.join("bin/slow");
    std::fs::write(&slow, SLOW_PLUGIN).unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ipam = sb.tmp.join("chain-ipam");
    sb.write_conflist(&json!({
        "cniVersion": "1.1.0",
        "name": "chain",
        "plugins": [
            {"type": "bridge", "bridge": "twill-chain", "isGateway": true,
             "ipam": {"type": "host-local", "dataDir": ipam,
                      "ranges": [[{"subnet": "10.30.0.0/24"}]]}},
            {"type": "slow"},
        ],
    }));
    let mut run = sb.spawn_twill(&["run", "--name", "torn", "--net", "chain", "--", "true"]);
    let started = sb.tmp.join("bin/slow-add-started");
    sb.wait_for(20, "the second plugin's ADD", || started.exists());
    // The bridge plugin is done: a veth in the host, an address reserved, nothing cached.
    assert_eq!(sb.reserved(&ipam.join("chain")).len(), 1);
    assert!(sb.host_links().iter().any(|l| l.starts_with("veth")));
    assert!(sb.cache_files().is_empty());
    run.kill().unwrap();
    run.wait().unwrap();

    let gc = sb.twill(&["--json", "gc"]);
    assert_eq!(gc.json()["runs"], json!(["torn"]), "{gc:?}");
    assert!(sb.namespaces().is_empty(), "{:?}", sb.namespaces());
    assert!(sb.reserved(&ipam.join("chain")).is_empty());
    let links = sb.host_links();
    assert!(!links.iter().any(|l| l.starts_with("veth")), "{links:?}");
    assert!(crate::support::list(&sb.state().join("runs")).is_empty());
}
