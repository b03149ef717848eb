//! podman as the runtime: Debian's podman 4.3 on its CNI backend, with runc, drives a plugin
//! directory holding only twill-cni's plugins. `podman network create` writes its usual
//! conflist (bridge with ipMasq and hairpinMode + host-local, portmap, firewall, tuning);
//! containers get their addresses, reach the gateway and each other, a published port serves
//! from the host's own address, and `podman rm` leaves no reservation, cached result, plugin
//! record, network namespace, bridge port or nf_tables element behind.
//!
//! Needs root and podman, runc and busybox-static (scripts/setup.sh); the harness
//! (tests/podman_support) keeps podman away from the machine's own network namespace, mounts,
//! podman state and cgroups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod podman_support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{Address, IpFamily, IpPrefix, LinkId, NewLink};

use podman_support::{files, plugin_types, ruleset, Podman};

const NET: &str = "net1";

/// One container as podman reports it.
struct Ctr {
    name: String,
    id: String,
    ip: String,
}

/// Runs `cmd` in container `name` on `NET`, and reads back its ID and address.
fn start(pm: &Podman, name: &str, extra: &[&str], cmd: &[&str]) -> Ctr {
    let id = pm.run_detached(name, NET, extra, cmd);
    let net = &pm.inspect(name)["NetworkSettings"]["Networks"][NET];
    let ip = net["IPAddress"].as_str().unwrap_or_default().to_owned();
    assert!(!ip.is_empty(), "{name} has no address on {NET}: {net}");
    Ctr {
        name: name.to_owned(),
        id,
        ip,
    }
}

/// The bridge podman's conflist names.
fn bridge_of(conf: &Value) -> String {
    conf["plugins"][0]["bridge"].as_str().unwrap().to_owned()
}

fn ips(ctrs: &[&Ctr]) -> Vec<String> {
    ctrs.iter().map(|c| c.ip.clone()).collect()
}

fn ids(ctrs: &[&Ctr]) -> Vec<String> {
    ctrs.iter().map(|c| c.id.clone()).collect()
}

/// Everything an attachment leaves while the containers run: host-local's reservations,
/// libcni's cached results, the plugins' records, podman's namespace mounts, a bridge port
/// each, and nf_tables state naming each container.
fn assert_attached(pm: &Podman, bridge: &str, ctrs: &[&Ctr]) {
    let mut want = ips(ctrs);
    want.sort();
    assert_eq!(pm.reservations(NET), want, "host-local's reservations");
    assert_eq!(pm.cached_results().len(), ctrs.len(), "libcni's cache");
    let records = pm.plugin_records(NET);
    for c in ctrs {
        assert!(
            records.iter().any(|r| r.contains(&c.id)),
            "no plugin record names {}: {records:?}",
            c.name
        );
    }
    assert_eq!(
        pm.netns_entries().len(),
        ctrs.len(),
        "podman's netns mounts"
    );
    assert_eq!(pm.bridge_ports(bridge).len(), ctrs.len(), "bridge ports");
    let rs = pm.ruleset();
    for c in ctrs {
        let refs = ruleset::references(
            &rs,
            std::slice::from_ref(&c.ip),
            std::slice::from_ref(&c.id),
        );
        assert!(
            !refs.is_empty(),
            "no nf_tables state names {}: {rs}",
            c.name
        );
    }
}

/// Nothing of `ctrs` is left after `podman rm`.
fn assert_released(pm: &Podman, bridge: &str, ctrs: &[&Ctr]) {
    assert_eq!(
        pm.reservations(NET),
        Vec::<String>::new(),
        "reservations left"
    );
    assert!(
        files::list(&pm.files.ipam_dir(NET)).contains(&"lock".to_owned()),
        "host-local's data directory is not where the test looks"
    );
    assert_eq!(pm.cached_results(), Vec::<String>::new(), "cache left");
    assert_eq!(pm.plugin_records(NET), Vec::<String>::new(), "records left");
    assert_eq!(
        pm.netns_entries(),
        Vec::<String>::new(),
        "netns mounts left"
    );
    assert_eq!(pm.bridge_ports(bridge), Vec::<String>::new(), "veths left");
    let refs = ruleset::references(&pm.ruleset(), &ips(ctrs), &ids(ctrs));
    assert!(refs.is_empty(), "nf_tables state left: {refs:#?}");
}

#[test]
fn podman_uses_the_cni_backend_runc_and_only_twill_plugins() {
    let pm = Podman::new();
    let info = pm.info();
    let host = &info["host"];
    assert_eq!(host["networkBackend"], "cni", "{info}");
    assert_eq!(host["ociRuntime"]["name"], "runc", "{info}");
    assert_eq!(host["cgroupManager"], "cgroupfs", "{info}");
    assert_eq!(host["eventLogger"], "file", "{info}");
    let store = &info["store"];
    assert_eq!(store["graphDriverName"], "vfs", "{info}");
    let path = |p: std::path::PathBuf| Value::from(p.display().to_string());
    assert_eq!(store["graphRoot"], path(pm.files.storage()), "{info}");
    assert_eq!(store["runRoot"], path(pm.files.runroot()), "{info}");

    // The plugin directory holds twill-cni's names and nothing else.
    for name in files::list(&pm.files.cni_bin()) {
        let target = std::fs::read_link(pm.files.cni_bin().join(&name)).unwrap();
        assert_eq!(target, std::path::Path::new(files::TWILL_CNI), "{name}");
    }

    let conf = pm.network_create(NET, "10.71.0.0/24");
    let types: Vec<String> = plugin_types(&conf).into_iter().collect();
    assert_eq!(
        types,
        ["bridge", "firewall", "host-local", "portmap", "tuning"],
        "podman 4.3's chain changed: {conf}"
    );
    let bridge = &conf["plugins"][0];
    assert_eq!(bridge["ipMasq"], true, "{conf}");
    assert_eq!(bridge["hairpinMode"], true, "{conf}");
    let listed = pm.podman(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(listed.ok().contains("net1 bridge"), "{listed:?}");
}

#[test]
fn containers_get_addresses_reach_the_gateway_and_each_other_and_leave_nothing() {
    let pm = Podman::new();
    let conf = pm.network_create(NET, "10.71.1.0/24");
    let bridge = bridge_of(&conf);
    let a = start(&pm, "a", &[], &["sleep", "600"]);
    let b = start(&pm, "b", &[], &["sleep", "600"]);

    // podman's view: an address in the subnet, the gateway, the prefix.
    let net = &pm.inspect("a")["NetworkSettings"]["Networks"][NET];
    assert!(a.ip.starts_with("10.71.1."), "{net}");
    assert_eq!(net["Gateway"], "10.71.1.1", "{net}");
    assert_eq!(net["IPPrefixLen"], 24, "{net}");
    assert_ne!(a.ip, b.ip);

    // The kernel's view inside a's namespace: eth0 up with that address, default route via
    // the gateway; in the host, the gateway address on the bridge.
    let mut nl = pm.container_netns("a").netlink().unwrap();
    let eth0 = nl.link_get(LinkId::Name("eth0")).unwrap();
    assert!(eth0.is_up());
    let addrs: Vec<String> = nl
        .addr_list(Some(IpFamily::V4), Some(eth0.index))
        .unwrap()
        .iter()
        .map(|x| x.prefix.to_string())
        .collect();
    assert_eq!(addrs, [format!("{}/24", a.ip)]);
    let gw: IpAddr = "10.71.1.1".parse().unwrap();
    let routes = nl.route_list(Some(IpFamily::V4), Some(TABLE_MAIN)).unwrap();
    assert!(
        routes
            .iter()
            .any(|r| r.dst.is_empty() && r.gateway == Some(gw)),
        "no default route via the gateway: {routes:?}"
    );
    let mut host = pm.host_netlink();
    let br = host.link_get(LinkId::Name(&bridge)).unwrap();
    let br_addrs: Vec<String> = host
        .addr_list(Some(IpFamily::V4), Some(br.index))
        .unwrap()
        .iter()
        .map(|x| x.prefix.to_string())
        .collect();
    assert_eq!(br_addrs, ["10.71.1.1/24"]);

    // Traffic: the gateway, and each container the other.
    for (from, to) in [
        ("a", "10.71.1.1"),
        ("a", b.ip.as_str()),
        ("b", a.ip.as_str()),
    ] {
        let ping = pm.podman(&["exec", from, "ping", "-c", "1", "-W", "3", to]);
        assert_eq!(ping.code, Some(0), "{from} cannot reach {to}: {ping:?}");
    }

    assert_attached(&pm, &bridge, &[&a, &b]);
    pm.podman(&["rm", "--force", "--time", "0", "a", "b"]).ok();
    assert_released(&pm, &bridge, &[&a, &b]);

    // podman removes the network's conflist (its cni.lock stays) and its bridge.
    pm.podman(&["network", "rm", NET]).ok();
    let confs = files::list(&pm.files.net_d());
    assert_eq!(confs, ["cni.lock"]);
    assert!(!pm.has_link(&bridge), "{bridge} is left");
}

/// The host's own address on its "uplink": a veth pair inside podman's host namespace.
const HOST_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 71, 1);

fn add_host_address(pm: &Podman) {
    let mut nl = pm.host_netlink();
    nl.link_add(&NewLink::veth("uplink0", "uplink1")).unwrap();
    let i = nl.link_index("uplink0").unwrap();
    let prefix = IpPrefix::new(IpAddr::V4(HOST_ADDR), 24).unwrap();
    nl.addr_add(&Address::new(i, prefix)).unwrap();
    nl.link_set_up(LinkId::Index(i)).unwrap();
    let peer = nl.link_index("uplink1").unwrap();
    nl.link_set_up(LinkId::Index(peer)).unwrap();
}

/// An HTTP/1.0 GET of `/index.html` from `addr`, made inside podman's host namespace.
fn http_get(pm: &Podman, addr: SocketAddr) -> std::io::Result<String> {
    pm.ns
        .net
        .run(move || {
            let limit = Duration::from_secs(3);
            let mut s = TcpStream::connect_timeout(&addr, limit)?;
            s.set_read_timeout(Some(limit))?;
            s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        })
        .unwrap()
}

#[test]
fn a_published_port_serves_from_the_host_address_and_leaves_nothing() {
    let pm = Podman::new();
    let conf = pm.network_create(NET, "10.71.2.0/24");
    let bridge = bridge_of(&conf);
    add_host_address(&pm);
    let web = start(
        &pm,
        "web",
        &["-p", "8080:80"],
        &["httpd", "-f", "-p", "80", "-h", "/www"],
    );
    let ports = &pm.inspect("web")["NetworkSettings"]["Ports"]["80/tcp"];
    assert_eq!(ports[0]["HostPort"], "8080", "{ports}");

    // httpd starts a moment after podman returns: retry, bounded.
    let at = SocketAddr::new(IpAddr::V4(HOST_ADDR), 8080);
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        match http_get(&pm, at) {
            Ok(b) if b.starts_with("HTTP/1.") && b.ends_with(&pm.page) => break b,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "no page from {at}: last answer {other:?}"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");

    assert_attached(&pm, &bridge, &[&web]);
    pm.podman(&["rm", "--force", "--time", "0", "web"]).ok();
    assert_released(&pm, &bridge, &[&web]);
    // Nothing answers on the port any more (conmon held it; it is gone too).
    assert!(http_get(&pm, at).is_err(), "{at} still answers");
}
