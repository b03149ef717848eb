//! The harness itself: host namespaces get the settings asked for and the machine's own
//! namespace keeps its own; namespaces go on drop. Needs root, like every integration test.

use twill_kernel::{sysctl, NetNs};
use twill_test_support::host_settings::REAL_HOST;
use twill_test_support::{HostSettings, Namespaces};

/// The values of `keys` in `ns` ("absent" where the kernel has no such key).
fn read(ns: &NetNs, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| sysctl::read_in(ns, k).unwrap_or_else(|_| "absent".to_owned()))
        .collect()
}

#[test]
fn a_host_gets_a_real_hosts_settings_and_the_machine_keeps_its_own() {
    let keys: Vec<&str> = REAL_HOST.iter().map(|(k, _)| *k).collect();
    let machine = NetNs::current().unwrap();
    let before = read(&machine, &keys);
    let mut nss = Namespaces::new();
    let host = nss.host("host", &HostSettings::real_host());
    for ((key, want), got) in REAL_HOST.iter().zip(read(&host.ns, &keys)) {
        // Bridge netfilter keys exist only where the kernel has br_netfilter.
        if got != "absent" || !key.starts_with("net/bridge/") {
            assert_eq!(got, *want, "{key}");
        }
    }
    let pod = nss.plain("pod");
    assert_eq!(
        read(&machine, &keys),
        before,
        "the machine's own settings changed"
    );
    drop((host, pod));
    drop(nss);
    assert_eq!(read(&machine, &keys), before);
}

#[test]
fn what_a_test_asks_for_wins_over_the_defaults_and_over_inherit() {
    let mut nss = Namespaces::new();
    let off = HostSettings::real_host().with("net.ipv4.ip_forward", "0");
    let host = nss.host("off", &off);
    assert_eq!(
        sysctl::read_in(&host.ns, "net.ipv4.ip_forward").unwrap(),
        "0"
    );
    assert_eq!(
        sysctl::read_in(&host.ns, "net.ipv4.conf.all.rp_filter").unwrap(),
        "1"
    );
    let loose = HostSettings::inherited().with("net/ipv4/conf/all/rp_filter", "2");
    let other = nss.host("loose", &loose);
    assert_eq!(
        sysctl::read_in(&other.ns, "net.ipv4.conf.all.rp_filter").unwrap(),
        "2"
    );
}

#[test]
fn namespaces_are_deleted_on_drop_also_on_panic() {
    let paths = std::sync::Mutex::new(Vec::new());
    let caught = std::panic::catch_unwind(|| {
        let mut nss = Namespaces::new();
        let a = nss.plain("a");
        paths.lock().unwrap().push(a.path.clone());
        assert!(a.path.exists());
        panic!("a failing test");
    });
    assert!(caught.is_err());
    let paths = paths.into_inner().unwrap();
    assert_eq!(paths.len(), 1);
    assert!(!paths[0].exists(), "{} left behind", paths[0].display());
}
