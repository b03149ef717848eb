//! Our runtime killed (SIGKILL) in the middle of a chain's ADD, then cleaned up by the next
//! runtime process: nothing may be left behind. The runtime runs in a process of its own —
//! this test executable started again on [`runtime_process`] — whose ADD reaches the
//! `sleeper` plugin (see `chains`), and that whole process group is killed there.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twill_kernel::NetNs;
use twill_runtime::{Attachment, ConfDir, GcAttachment, Runtime};

use crate::chains::{assert_gone, att, container_chains, ns_state, Host};
use crate::differential::{podman_conflist, port_mappings};
use crate::support::{NsExec, Sandbox};

/// The runtime's side of a crash: an ADD that never finishes. Started by the tests below
/// with the attachment in the environment; run on its own it fails.
#[test]
#[ignore = "the runtime process of the crash tests, started by them"]
fn runtime_process() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} unset: not a crash test"));
    let host = NetNs::open(Path::new(&var("CRASH_HOST_NS"))).unwrap();
    let root = Path::new(&var("CRASH_ROOT")).to_owned();
    let net = ConfDir::new(root.join("conf"))
        .find(&var("CRASH_NET"))
        .unwrap()
        .network;
    let rt =
        Runtime::new(NsExec::new(&host), vec![root.join("bin")]).with_cache_dir(root.join("cache"));
    let caps: Value = serde_json::from_str(&var("CRASH_CAPS")).unwrap();
    let a = att(
        &var("CRASH_CID"),
        Path::new(&var("CRASH_NETNS")),
        caps.as_object().map(|_| &caps),
    );
    let r = rt.add(&net, &a);
    panic!("the ADD was to be killed, it returned {r:?}");
}

/// Starts our runtime in a process group of its own on ADD of `cid`, waits until the chain
/// reaches the sleeper, and kills the group (runtime and plugin) with SIGKILL.
fn crash_during_add(host: &Host, cid: &str, netns: &Path, caps: Option<&Value>) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "crash::runtime_process",
        "--ignored",
        "--test-threads=1",
    ])
    .env("CRASH_HOST_NS", &host.ns_path)
    .env("CRASH_ROOT", host.root.path())
    .env("CRASH_NET", &host.name)
    .env("CRASH_CID", cid)
    .env("CRASH_NETNS", netns)
    .env(
        "CRASH_CAPS",
        caps.map_or("null".to_owned(), Value::to_string),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .process_group(0);
    let mut child = cmd.spawn().unwrap();
    let started = host.root.join("bin/sleeper-started");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !started.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the runtime ended early"
        );
        assert!(
            Instant::now() < deadline,
            "the chain never reached the sleeper"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pgid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the process group this test created; no memory is involved.
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGKILL) }, 0);
    child.wait().unwrap();
}

/// `conflist` with the sleeper inserted after its first `after` plugins.
fn with_sleeper(mut conflist: Value, after: usize) -> Value {
    let plugins = conflist["plugins"].as_array_mut().unwrap();
    plugins.insert(after, json!({"type": "sleeper"}));
    conflist
}

fn address(host: &Host) -> String {
    let r = host.reservations();
    assert_eq!(r.len(), 1, "{r:?}");
    r[0].clone()
}

#[test]
fn a_killed_add_of_podmans_chain_is_undone_by_del() {
    let mut sb = Sandbox::new();
    // Killed after bridge (link, address, masquerade) and portmap (DNAT), before firewall.
    let host = Host::new(
        &mut sb,
        "crash-del",
        &with_sleeper(podman_conflist(true), 2),
        &[],
    );
    let caps = port_mappings();
    let (ctr, path) = sb.ns("crash1");
    crash_during_add(&host, "ctr1", &path, Some(&caps));

    let ip = address(&host);
    let chains = container_chains(&host.state(), "ctr1", &ip);
    assert!(
        chains.iter().any(|c| c.starts_with("CNI-DN-")),
        "{chains:?}"
    );
    assert!(ns_state(&ctr).contains("eth0"));
    // The cache is written when the whole ADD succeeds (as libcni's), so there is no
    // record, and GC cannot see the attachment: below 1.1.0 only a DEL can undo it.
    assert!(host.cached().is_empty());
    let (rt, net) = (host.runtime(), host.net());
    rt.gc(&net, &[]).unwrap();
    assert_eq!(host.reservations(), std::slice::from_ref(&ip));

    // The restarted runtime DELs what it had been adding, with the port mappings.
    rt.del(&net, &att("ctr1", &path, Some(&caps))).unwrap();
    assert_gone(&host.state(), "ctr1", &ip, &chains);
    assert!(host.reservations().is_empty());
    assert!(!ns_state(&ctr).contains("eth0"));
    assert!(host.cached().is_empty());
}

#[test]
fn a_killed_add_is_released_by_gc_to_our_plugins() {
    let mut sb = Sandbox::new();
    // 1.1.0: GC reaches the plugins, and our host-local releases what no valid attachment
    // holds — also an address whose ADD never finished.
    let conflist = json!({"cniVersion": "1.1.0", "name": "gcnet", "plugins": [
        {"type": "bridge", "bridge": "cnigc0", "isGateway": true,
         "ipam": {"type": "host-local", "dataDir": "@DATA@",
                  "ranges": [[{"subnet": "10.50.0.0/24"}]]}},
        {"type": "sleeper"},
        {"type": "tuning", "dataDir": "@DATA@/tuning", "mtu": 1300}
    ]});
    let ours = ["bridge", "host-local", "tuning"];
    let host = Host::new(&mut sb, "crash-gc", &conflist, &ours);
    let rt = host.runtime();
    let (ctr, path) = sb.ns("crash2");
    crash_during_add(&host, "ctr2", &path, None);
    let crashed = address(&host);
    assert!(ns_state(&ctr).contains("eth0"));
    assert!(host.cached().is_empty());

    // The network as configured from now on, without the sleeper, and a container that
    // stays, added completely.
    let mut fixed = conflist.clone();
    fixed["plugins"].as_array_mut().unwrap().remove(1);
    let fixed = fixed
        .to_string()
        .replace("@DATA@", host.root.join("data").to_str().unwrap());
    std::fs::write(host.root.join("conf/gcnet.conflist"), fixed).unwrap();
    let net = host.net();
    let (_keep, keep_path) = sb.ns("keep");
    let kept = Attachment::new("keep", keep_path.to_str().unwrap(), "eth0");
    let sleeper_free = rt.add(&net, &kept);
    let kept_ip = sleeper_free.unwrap().value["ips"][0]["address"].clone();

    // The crashed container is gone; GC with the valid list excluding it.
    drop(ctr);
    sb.remove(&path);
    rt.gc(&net, &[GcAttachment::new("keep", "eth0")]).unwrap();
    let left = host.reservations();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(left[0], crashed);
    assert_eq!(format!("{}/24", left[0]), kept_ip.as_str().unwrap());
    assert_eq!(host.cached(), ["keep"]);
    // The host keeps the kept container's veth only (the bridge stays, as always).
    crate::chains::wait_for_veths(&host.ns, 1);
    rt.del(&net, &kept).unwrap();
    assert!(host.reservations().is_empty());
    assert!(host.cached().is_empty());
}
