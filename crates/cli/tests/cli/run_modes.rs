//! `twill run --net none|host|container:NAME`: a namespace with only loopback, twill's own
//! namespace, another run's namespace — each left as it was found when the run ends.

use crate::support::Sandbox;

/// No namespace but the ones a test keeps, no run-state file.
fn assert_no_runs(sb: &Sandbox, namespaces: &[&str]) {
    assert_eq!(sb.namespaces(), namespaces);
    let runs = crate::support::list(&sb.state().join("runs"));
    assert!(runs.is_empty(), "run-state left: {runs:?}");
}

#[test]
fn none_is_a_namespace_with_only_loopback_up() {
    let sb = Sandbox::new();
    let out = sb.twill(&["run", "--net", "none", "--", "ip", "-o", "link", "show"]);
    let text = out.ok();
    let links: Vec<&str> = text.lines().collect();
    assert_eq!(links.len(), 1, "{text}");
    assert!(
        links[0].contains(": lo: ") && links[0].contains(",UP,"),
        "{text}"
    );
    let addrs = sb.twill(&["run", "--net", "none", "--", "ip", "-4", "-o", "addr"]);
    assert!(addrs.ok().contains("inet 127.0.0.1/8"), "{addrs:?}");
    assert_no_runs(&sb, &[]);
    assert!(sb.cache_files().is_empty());
}

#[test]
fn host_runs_in_twills_own_namespace() {
    let sb = Sandbox::new();
    let inside = sb.twill(&[
        "run",
        "--net",
        "host",
        "--",
        "readlink",
        "/proc/self/ns/net",
    ]);
    let host = sb.sh("readlink /proc/self/ns/net");
    assert_eq!(inside.ok(), host.ok());
    assert_no_runs(&sb, &[]);
    // The host's links are untouched.
    assert_eq!(sb.host_links(), ["lo"]);
}

#[test]
fn container_joins_a_running_runs_namespace_and_leaves_it() {
    let sb = Sandbox::new();
    let mut first = sb.spawn_twill(&["run", "--name", "web", "--net", "none", "--", "sleep", "30"]);
    let runs = sb.state().join("runs/web.json");
    sb.wait_for(20, "the first run", || {
        runs.exists() && sb.namespaces() == ["twill-web"]
    });
    let web = sb.netns_dir().join("twill-web");
    let theirs = sb.sh(&format!(
        "nsenter --net={} readlink /proc/self/ns/net",
        web.display()
    ));
    let joined = sb.twill(&[
        "run",
        "--net",
        "container:web",
        "--",
        "readlink",
        "/proc/self/ns/net",
    ]);
    assert_eq!(joined.ok(), theirs.ok());
    // The joining run's end leaves the first run's namespace and state alone.
    assert_eq!(sb.namespaces(), ["twill-web"]);
    assert!(runs.exists());

    let unknown = sb.twill(&["run", "--net", "container:nope", "--", "true"]);
    assert!(
        unknown.stderr.contains("no run named \"nope\""),
        "{unknown:?}"
    );
    let mixed = sb.twill(&[
        "run",
        "--net",
        "container:web",
        "--net",
        "twill",
        "--",
        "true",
    ]);
    assert!(mixed.stderr.contains("stand alone"), "{mixed:?}");

    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    first.wait().unwrap();
    assert_no_runs(&sb, &[]);
    let ended = sb.twill(&["run", "--net", "container:web", "--", "true"]);
    assert!(ended.stderr.contains("no run named \"web\""), "{ended:?}");
}
