//! The VM harness against Debian's kernel: the link kinds this machine's kernel lacks, twill's
//! own code in the guest, a tap into a test namespace, and failures that stay failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use twill_kernel::{Address, IpPrefix, LinkId, Netlink, NewLink};
use twill_test_support::vm::{self, GuestRoot, Nic, Vm, VmFailure, VmOptions};
use twill_test_support::{HostSettings, Namespaces, TempDir};

/// Debian's `ip` on the initramfs alone: dummy, a vlan (id 10) on it, ipvlan, a vrf with its
/// table — none of which this machine's kernel has.
#[test]
fn missing_link_kinds_work_in_the_guest() {
    let script = r#"
set -e
ip=/usr/bin/ip
uname -r
$ip link add d0 type dummy
$ip link set d0 up
$ip link add link d0 name d0.10 type vlan id 10
$ip link add link d0 name ipv0 type ipvlan mode l2
$ip link add vrf-blue type vrf table 10
$ip link set vrf-blue up
$ip link set d0.10 master vrf-blue
$ip addr add 198.18.20.1/24 dev d0.10
$ip link set d0.10 up
$ip -d link show
$ip route show vrf vrf-blue
"#;
    let out = Vm::run(script, &VmOptions::default().root(GuestRoot::Initramfs));
    out.assert_success();
    eprintln!("boot {:?}, total {:?}", out.boot, out.total);
    let s = &out.stdout;
    assert_eq!(
        s.lines().next(),
        Some(vm::assets::kernel().version.as_str())
    );
    assert!(s.contains("d0: <BROADCAST,NOARP,UP,LOWER_UP>"), "{s}");
    assert!(s.contains("dummy"), "{s}");
    assert!(s.contains("vlan protocol 802.1Q id 10"), "{s}");
    assert!(s.contains("ipvlan  mode l2"), "{s}");
    assert!(s.contains("vrf table 10"), "{s}");
    assert!(s.contains("master vrf-blue state UP"), "{s}");
    // The vlan's connected route went to the vrf's table.
    assert!(
        s.contains("198.18.20.0/24 dev d0.10 proto kernel scope link src 198.18.20.1"),
        "{s}"
    );
}

/// This test binary, from the host's target directory, runs in the guest and reads links of
/// kinds this machine's kernel lacks through twill's own netlink code.
#[test]
fn twill_kernel_runs_in_the_guest() {
    if !vm::in_guest() {
        let out = vm::run_test("twill_kernel_runs_in_the_guest", &VmOptions::default());
        eprintln!("boot {:?}, total {:?}", out.boot, out.total);
        assert!(out.stderr.contains(" d0.10=vlan "), "{}", out.stderr);
        return;
    }
    let ip = |args: &str| {
        let st = std::process::Command::new("ip")
            .args(args.split_whitespace())
            .status()
            .unwrap();
        assert!(st.success(), "ip {args}");
    };
    ip("link add d0 type dummy");
    ip("link add link d0 name d0.10 type vlan id 10");
    ip("link add link d0 name ipv0 type ipvlan mode l2");
    let mut nl = Netlink::open().unwrap();
    nl.link_add(&NewLink::veth("v0", "v1")).unwrap();
    let links = nl.link_list().unwrap();
    let kinds: Vec<String> = links
        .iter()
        .map(|l| format!("{}={}", l.name, l.kind.as_deref().unwrap_or("-")))
        .collect();
    eprintln!("guest links: {}", kinds.join(" "));
    for want in [
        "d0=dummy",
        "d0.10=vlan",
        "ipv0=ipvlan",
        "v0=veth",
        "v1=veth",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} in {kinds:?}");
    }
    let vlan = links.iter().find(|l| l.name == "d0.10").unwrap();
    let d0 = links.iter().find(|l| l.name == "d0").unwrap();
    assert_eq!(vlan.link, Some(d0.index), "the vlan's lower device");
}

/// A test namespace reaches the guest through a tap QEMU creates inside it (never in the
/// machine's own namespace), and the guest reaches back.
#[test]
fn a_test_namespace_pings_the_guest_through_a_tap() {
    let mut nss = Namespaces::new();
    let mut ns = nss.host("vm", &HostSettings::default());
    let script = r#"
set -e
ip addr add 198.18.10.2/24 dev eth0
ip link set eth0 up
touch "$TWILL_VM_SHARE/ready"
while [ ! -e "$TWILL_VM_SHARE/pinged" ]; do sleep 0.1; done
ping -c 1 -W 5 198.18.10.1
"#;
    let mut guest = Vm::start(script, &VmOptions::default().nic(Nic::tap(&ns, "tap0")));
    guest.wait_for_file("ready", Duration::from_secs(60));

    let tap = ns.nl.link_index("tap0").unwrap();
    let prefix: IpPrefix = "198.18.10.1/24".parse().unwrap();
    ns.nl.addr_add(&Address::new(tap, prefix)).unwrap();
    ns.nl.link_set_up(LinkId::Index(tap)).unwrap();
    let t = Instant::now();
    let ping =
        twill_test_support::child::in_ns(&ns.ns, "ping", &["-c", "1", "-w", "20", "198.18.10.2"]);
    eprintln!("namespace → guest ping after {:?}: {ping}", t.elapsed());
    guest.create_file("pinged");

    let out = guest.wait();
    out.assert_success();
    assert!(
        out.stdout.contains("bytes from 198.18.10.1"),
        "{}",
        out.stdout
    );
}

/// A guest script that fails is a failure with its status and stderr, and a guest that dies
/// without reporting is no success either.
#[test]
fn guest_failures_are_failures() {
    let opts = VmOptions::default().root(GuestRoot::Initramfs);
    let out = Vm::run("echo before; echo oops >&2; exit 3", &opts);
    assert!(!out.success());
    assert_eq!(out.status, 3);
    assert_eq!(out.stdout, "before\n");
    assert_eq!(out.stderr, "oops\n");
    // The check every test uses must fail too (its panic message shows in the log).
    let caught = std::panic::catch_unwind(|| {
        out.assert_success();
    });
    assert!(caught.is_err(), "assert_success passed a failed guest");

    // The kernel panics (panic=-1 reboots, -no-reboot makes QEMU exit 0): no report.
    let crashed = Vm::start("echo c > /proc/sysrq-trigger; sleep 30", &opts).finish();
    match crashed {
        Err(VmFailure::NoReport { qemu_exit, .. }) => assert_eq!(qemu_exit, Some(0)),
        other => panic!("a crashed guest was reported as {other:?}"),
    }
}

/// Two guests on one L2 link (`-netdev stream` over a unix socket) reach each other; the
/// link never touches any namespace of the machine.
#[test]
fn two_guests_share_a_stream_link() {
    let dir = TempDir::new("vm-stream");
    let socket = dir.join("link.sock");
    let server_script = r#"
set -e
ip addr add 198.18.11.1/24 dev eth0
ip link set eth0 up
while [ ! -e "$TWILL_VM_SHARE/done" ]; do sleep 0.1; done
"#;
    let server_opts = VmOptions::default().nic(Nic::stream(&socket, true, "52:54:00:00:11:01"));
    let mut server = Vm::start(server_script, &server_opts);
    // The client connects at its start: the server must be listening.
    server.wait_for_listener(&socket, Duration::from_secs(10));
    let client_script = r#"
set -e
ip addr add 198.18.11.2/24 dev eth0
ip link set eth0 up
ping -c 1 -w 20 198.18.11.1
"#;
    let client_opts = VmOptions::default().nic(Nic::stream(&socket, false, "52:54:00:00:11:02"));
    let client = Vm::run(client_script, &client_opts);
    server.create_file("done");
    client.assert_success();
    assert!(
        client.stdout.contains("bytes from 198.18.11.1"),
        "{}",
        client.stdout
    );
    let server = server.wait();
    server.assert_success();
    eprintln!(
        "client boot {:?} total {:?}; server total {:?}",
        client.boot, client.total, server.total
    );
}
