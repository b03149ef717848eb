//! portmap against the real kernel, judged by TCP connections between namespaces: an
//! outside host, the host itself (own address and 127.0.0.1), another pod (hairpin), the
//! pod itself; hostIP-bound mappings; DEL, conflicts, DEL without netns or mappings, GC.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use portmap_support::*;
use serde_json::json;
use support::run::Request;
use support::{HostSettings, Impl, Sandbox};

#[test]
fn host_port_reaches_the_pod_from_outside_host_localhost_other_pod_and_itself() {
    // 127.0.0.1 is routed to a pod only with route_localnet on (`all` or the bridge's, which
    // copies `default`): both start off, whatever the machine has, so portmap's doing shows.
    let host = HostSettings::default()
        .with("net.ipv4.conf.all.route_localnet", "0")
        .with("net.ipv4.conf.default.route_localnet", "0");
    let mut sb = Sandbox::with_settings(&host);
    let out = outside(&mut sb);
    let (a, ra) = pod(&mut sb, "a");
    let (b, _) = pod(&mut sb, "b");
    let m = json!([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    let r = sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    assert_eq!(r["ips"], ra["ips"], "prevResult is passed through");
    let _srv = serve(&a, 80, "pod-a", 30);

    // Outside: DNAT, no masquerade (the pod sees the real client).
    assert_eq!(fetch(&out, HOST, 8080).unwrap(), format!("pod-a {OUTSIDE}"));
    // The host through its own address (output chain) and through 127.0.0.1.
    assert!(fetch(&sb.host, HOST, 8080).unwrap().starts_with("pod-a "));
    let lo = fetch(&sb.host, "127.0.0.1", 8080).unwrap();
    assert_eq!(
        lo, "pod-a 10.1.0.1",
        "localhost is masqueraded to the bridge address"
    );
    // Another pod and the pod itself: masqueraded, so the answers come back via the host.
    assert_eq!(fetch(&b, HOST, 8080).unwrap(), "pod-a 10.1.0.1");
    assert_eq!(fetch(&a, HOST, 8080).unwrap(), "pod-a 10.1.0.1");
    // Pod to pod without a host port is not masqueraded.
    assert_eq!(fetch(&b, "10.1.0.2", 80).unwrap(), "pod-a 10.1.0.3");
    assert_eq!(
        support::state::sysctl(&sb.host, "net/ipv4/conf/br-pm/route_localnet"),
        "1"
    );

    sb.twill("portmap", "CHECK", "a", &a.path, &c).ok();
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    let e = fetch_once(&out, HOST, 8080).unwrap_err();
    assert!(e.contains("refused"), "{e}");
    assert!(fetch_once(&sb.host, "127.0.0.1", 8080).is_err());
    let (code, msg) = sb.twill("portmap", "CHECK", "a", &a.path, &c).err();
    assert_eq!(code, 999);
    assert!(msg.contains("8080/tcp") && msg.contains("missing"), "{msg}");
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok(); // idempotent
}

#[test]
fn host_ip_bound_mapping_answers_only_on_that_address() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let (a, ra) = pod(&mut sb, "a");
    let m = json!([{"hostPort": 8081, "containerPort": 80, "hostIP": HOST}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    let _srv = serve(&a, 80, "pod-a", 20);
    assert_eq!(fetch(&out, HOST, 8081).unwrap(), format!("pod-a {OUTSIDE}"));
    assert!(fetch(&sb.host, HOST, 8081).is_ok());
    // The bridge address and loopback are local too, but not the bound one.
    assert!(fetch_once(&sb.host, "10.1.0.1", 8081).is_err());
    assert!(fetch_once(&sb.host, "127.0.0.1", 8081).is_err());
    assert_eq!(elements(&sb.host.path, "ip", "hostip_hostports").len(), 1);
    assert!(elements(&sb.host.path, "ip", "hostports").is_empty());
}

#[test]
fn a_held_host_port_is_refused_and_nothing_of_the_second_container_is_left() {
    let mut sb = Sandbox::new();
    let (a, ra) = pod(&mut sb, "a");
    let (b, rb) = pod(&mut sb, "b");
    let ca = portmap_conf(
        &sb,
        &ra,
        json!([{"hostPort": 8080, "containerPort": 80}]),
        json!({}),
    );
    sb.twill("portmap", "ADD", "a", &a.path, &ca).ok();
    let before = ruleset(&sb.host.path);
    let m = json!([{"hostPort": 9090, "containerPort": 90},
                   {"hostPort": 8080, "containerPort": 80, "protocol": "TCP"}]);
    let cb = portmap_conf(&sb, &rb, m, json!({}));
    let (code, msg) = sb.twill("portmap", "ADD", "b", &b.path, &cb).err();
    assert_eq!(code, 999);
    assert!(
        msg.contains("host port 8080/tcp") && msg.contains("container a"),
        "{msg}"
    );
    assert_eq!(ruleset(&sb.host.path), before, "nothing of b was added");
    assert!(!sb.tmp.join("portmap/testnet/b-eth0").exists());
    // UDP on the same port number is another mapping.
    let cu = portmap_conf(
        &sb,
        &rb,
        json!([{"hostPort": 8080, "containerPort": 80, "protocol": "udp"}]),
        json!({}),
    );
    sb.twill("portmap", "ADD", "b", &b.path, &cu).ok();
}

#[test]
fn del_without_netns_or_mappings_removes_everything_and_gc_removes_stale() {
    let mut sb = Sandbox::new();
    let (a, ra) = pod(&mut sb, "a");
    let (b, rb) = pod(&mut sb, "b");
    let m = json!([{"hostPort": 8080, "containerPort": 80}, {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    let ca = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &ca).ok();
    let cb = portmap_conf(
        &sb,
        &rb,
        json!([{"hostPort": 8082, "containerPort": 80}]),
        json!({}),
    );
    sb.twill("portmap", "ADD", "b", &b.path, &cb).ok();
    assert_eq!(elements(&sb.host.path, "ip", "hostports").len(), 3);
    assert_eq!(elements(&sb.host.path, "ip", "masq").len(), 4);

    // The runtime's DEL: no netns (the pod is gone), no runtimeConfig, no prevResult.
    sb.delete_pod(a);
    let bare = json!({"cniVersion": "1.0.0", "name": "testnet", "type": "portmap",
                      "dataDir": sb.tmp.join("portmap").to_string_lossy()});
    let mut req = Request::new("DEL", "a", &sb.tmp);
    req.netns = None;
    sb.exec(Impl::Twill, "portmap", &req, &bare).ok();
    assert_eq!(elements(&sb.host.path, "ip", "hostports").len(), 1);
    assert_eq!(elements(&sb.host.path, "ip", "masq").len(), 2);

    // GC with b not valid (and a stale temporary file) removes the rest.
    let tmp = sb.tmp.join("portmap/testnet/x-eth0.tmp");
    std::fs::write(&tmp, b"{").unwrap();
    let mut gc = bare.clone();
    gc["cniVersion"] = "1.1.0".into();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "a", "ifname": "eth0"}]);
    let mut req = Request::new("GC", "", &sb.tmp);
    req.netns = None;
    sb.exec(Impl::Twill, "portmap", &req, &gc).ok();
    assert!(elements(&sb.host.path, "ip", "hostports").is_empty());
    assert!(elements(&sb.host.path, "ip", "masq").is_empty());
    assert!(!tmp.exists());
    let _ = b;
}

#[test]
fn iptables_only_keys_and_missing_prev_result_are_refused_by_name() {
    let mut sb = Sandbox::new();
    let (a, ra) = pod(&mut sb, "a");
    let m = json!([{"hostPort": 8080, "containerPort": 80}]);
    for (extra, key, want) in [
        (json!({"backend": "iptables"}), "backend", 2),
        (
            json!({"externalSetMarkChain": "KUBE-MARK-MASQ"}),
            "externalSetMarkChain",
            2,
        ),
        (
            json!({"conditionsV4": ["-d", "1.2.3.4"]}),
            "conditionsV4",
            2,
        ),
        (json!({"markMasqBit": 40}), "markMasqBit", 7),
    ] {
        let c = portmap_conf(&sb, &ra, m.clone(), extra);
        let (code, msg) = sb.twill("portmap", "ADD", "a", &a.path, &c).err();
        assert_eq!(code, want, "{msg}");
        assert!(msg.contains(key), "{msg}");
    }
    let mut c = portmap_conf(&sb, &ra, m, json!({"markMasqBit": 13}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    c.as_object_mut().unwrap().remove("prevResult");
    let (code, msg) = sb.twill("portmap", "ADD", "a", &a.path, &c).err();
    assert_eq!(code, 7);
    assert!(msg.contains("prevResult"), "{msg}");
}

#[test]
fn a_udp_flow_started_before_add_is_redirected_after_add() {
    use std::net::{SocketAddr, UdpSocket};
    use std::time::Duration;
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let (a, ra) = pod(&mut sb, "a");
    let pod_sock =
        a.ns.run(|| UdpSocket::bind(SocketAddr::new(ip("0.0.0.0"), 53)))
            .unwrap()
            .unwrap();
    pod_sock
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let sender = out
        .ns
        .run(|| UdpSocket::bind(SocketAddr::new(ip("0.0.0.0"), 40000)))
        .unwrap()
        .unwrap();
    let target = SocketAddr::new(ip(HOST), 5353);
    // Another mapping first: its nat chains switch connection tracking on in the host, as
    // it is on any real host.
    let tcp = json!([{"hostPort": 8080, "containerPort": 80}]);
    sb.twill(
        "portmap",
        "ADD",
        "tcp",
        &a.path,
        &portmap_conf(&sb, &ra, tcp, json!({})),
    )
    .ok();
    // The flow exists (and is tracked, unreplied) before the mapping does.
    for _ in 0..3 {
        sender.send_to(b"early", target).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    let m = json!([{"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    let mut buf = [0u8; 16];
    let mut got = None;
    for _ in 0..15 {
        sender.send_to(b"late", target).unwrap();
        if let Ok((n, from)) = pod_sock.recv_from(&mut buf) {
            got = Some((buf[..n].to_vec(), from));
            break;
        }
    }
    let (data, from) = got.expect("the old UDP flow was not redirected after ADD");
    assert_eq!(data, b"late");
    assert_eq!(from, SocketAddr::new(ip(OUTSIDE), 40000));
}

#[test]
fn masq_all_masquerades_outside_clients_too() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let (a, ra) = pod(&mut sb, "a");
    let (b, _) = pod(&mut sb, "b");
    let m = json!([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({"masqAll": true}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    let _srv = serve(&a, 80, "pod-a", 30);
    // The outside client reaches the pod as the host's bridge address, not as itself.
    assert_eq!(fetch(&out, HOST, 8080).unwrap(), format!("pod-a {BRIDGE}"));
    // Traffic to the pod that does not go through a host port is left alone.
    assert_eq!(fetch(&b, "10.1.0.2", 80).unwrap(), "pod-a 10.1.0.3");
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    let e = fetch_once(&out, HOST, 8080).unwrap_err();
    assert!(e.contains("refused"), "{e}");
}
