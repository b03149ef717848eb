//! Bad configs, bad flags, an unreachable etcd, and a race for the last subnet.

use std::process::Stdio;
use std::time::{Duration, Instant};

use twill_test_support::cluster::{Cluster, PREFIX};

fn wait_log(c: &Cluster, i: usize, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let log = c.log(i);
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in host {i}'s log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_bad_config_names_the_key_builds_nothing_and_a_fixed_one_is_picked_up() {
    let mut c = Cluster::new(
        1,
        r#"{"Network":"10.244.0.0/16","Backend":{"Type":"ipip"}}"#,
    );
    c.start_agent(0, &[]);
    let log = wait_log(&c, 0, "Backend.Type", 10);
    assert!(log.contains("network config unusable"), "{log}");
    std::thread::sleep(Duration::from_secs(1));
    assert!(!c.hosts[0].dir.join("subnet.env").exists());
    let links = c.hosts[0].node.run("ip", &["link", "show"]);
    assert!(!links.contains("twill."), "{links}");
    assert!(c.leases().is_empty());
    // Waiting is not a hot loop: a handful of lines, not thousands.
    assert!(c.log(0).lines().count() < 20, "{}", c.log(0));
    c.etcd.put(
        &format!("{PREFIX}/config"),
        r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#,
    );
    c.wait_subnet_env(0);
    assert_eq!(c.leases().len(), 1);
}

#[test]
fn bad_flags_and_an_unreachable_etcd_are_clear_errors() {
    let c = Cluster::new(1, r#"{"Network":"10.244.0.0/16"}"#);
    let h = &c.hosts[0];
    let run = |args: &[&str]| {
        h.node
            .command(env!("CARGO_BIN_EXE_twilld"))
            .args(args)
            .arg(format!("--state-dir={}", h.dir.join("state").display()))
            .arg(format!(
                "--subnet-file={}",
                h.dir.join("subnet.env").display()
            ))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for (args, needle) in [
        (&["--iface", "nope0"][..], "--iface nope0"),
        (&["--iface", "203.0.113.9"][..], "--iface 203.0.113.9"),
        (&["--subnet-lease-ttl", "1"][..], "--subnet-lease-ttl"),
        (&["--public-ip", "x"][..], "--public-ip"),
        (&["--healthz-port", "99999"][..], "healthz-port"),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // etcd nowhere to be found: the agent says so and builds nothing, then keeps trying.
    let mut child = h
        .node
        .command(env!("CARGO_BIN_EXE_twilld"))
        .args([
            "--etcd-endpoints",
            "http://198.18.0.200:2379",
            "--iface",
            "eth0",
        ])
        .arg(format!("--state-dir={}", h.dir.join("state").display()))
        .arg(format!(
            "--subnet-file={}",
            h.dir.join("subnet.env").display()
        ))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store unreachable"), "{err}");
    assert!(err.lines().count() < 10, "{err}");
    assert!(!h.dir.join("subnet.env").exists());
    let links = h.node.run("ip", &["link", "show"]);
    assert!(!links.contains("twill."), "{links}");
}

#[test]
fn two_agents_racing_for_the_last_subnet_one_wins_the_other_says_out_of_subnets() {
    let mut c = Cluster::new(
        2,
        r#"{"Network":"10.244.0.0/16","SubnetMin":"10.244.7.0","SubnetMax":"10.244.7.0"}"#,
    );
    c.start_agent(0, &[]);
    c.start_agent(1, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (winner, loser) = loop {
        let e0 = c.hosts[0].dir.join("subnet.env").exists();
        let e1 = c.hosts[1].dir.join("subnet.env").exists();
        if e0 || e1 {
            break if e0 { (0, 1) } else { (1, 0) };
        }
        assert!(
            Instant::now() < deadline,
            "nobody won:\n{}\n{}",
            c.log(0),
            c.log(1)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = wait_log(&c, loser, "out of subnets", 10);
    assert!(log.contains("10.244.0.0/16"), "{log}");
    assert!(!c.hosts[loser].dir.join("subnet.env").exists());
    assert!(c.subnet(winner).starts_with("10.244.7.0/24"));
    assert_eq!(c.leases().len(), 1);
    // Both agents are still running: a lost race is never fatal.
    for a in c.agents.iter_mut() {
        assert!(a.as_mut().unwrap().try_wait().unwrap().is_none());
    }
}
