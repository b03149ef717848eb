//! The host-gw backend: plain routes via each peer's public address.

use twill_test_support::cluster::Cluster;

#[test]
fn host_gw_routes_via_peers_and_reports_peers_off_the_link() {
    let mut c = Cluster::new(
        2,
        r#"{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}"#,
    );
    c.start_agent(0, &["--healthz-ip", "127.0.0.1", "--healthz-port", "9101"]);
    c.start_agent(1, &[]);
    c.wait_subnet_env(0);
    c.wait_subnet_env(1);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    assert!(a.node.ping(&b.ip.to_string(), 10), "{}", c.log(0));
    let routes = c.hosts[0].node.run("ip", &["route", "show", &c.subnet(1)]);
    assert!(routes.contains("via 198.18.0.2 dev eth0"), "{routes}");
    let links = c.hosts[0].node.run("ip", &["link", "show"]);
    assert!(
        !links.contains("twill."),
        "host-gw needs no device: {links}"
    );
    let env = c.wait_subnet_env(0);
    assert!(env.contains("FLANNEL_MTU=1500"), "{env}");
    // A peer that is not on our link: a lease whose public address is elsewhere.
    c.etcd.put(
        "/coreos.com/network/subnets/10.244.99.0-24",
        r#"{"PublicIP":"198.19.0.1","BackendType":"host-gw","BackendData":null}"#,
    );
    let status = healthz_status(&c);
    assert!(
        status.contains("host-gw needs the peer on our link"),
        "{status}"
    );
    let routes = c.hosts[0].node.run("ip", &["route", "show"]);
    assert!(!routes.contains("10.244.99.0"), "half-routed: {routes}");
    let health = http_get(&c, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let metrics = http_get(&c, "/metrics");
    for line in [
        "twilld_lease_held 1",
        "twilld_peers 2",
        "twilld_unroutable_peers 1",
        "twilld_store_reachable 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
}

fn http_get(c: &Cluster, path: &str) -> String {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/9101; printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"
    );
    let out = c.hosts[0]
        .node
        .command("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits for the agent's /status to report an unroutable peer.
fn healthz_status(c: &Cluster) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = c.hosts[0]
            .node
            .command("bash")
            .args(["-c", "exec 3<>/dev/tcp/127.0.0.1/9101; printf 'GET /status HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("unroutable") && text.contains("on our link") {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status never reported it: {text}\n{}",
            c.log(0)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
