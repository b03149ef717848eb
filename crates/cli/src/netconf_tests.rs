//! Unit tests of the configurations `net create` writes.

use clap::Parser;
use twill_cni::Version;
use twill_runtime::NetworkList;

use crate::args::{Cli, Command, NetCommand, NetCreateArgs};
use crate::netconf::{build, check, Taken};

fn create_args(line: &[&str]) -> NetCreateArgs {
    let mut argv = vec!["twill", "net", "create"];
    argv.extend_from_slice(line);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Net(NetCommand::Create(a)) => a,
        other => panic!("{other:?}"),
    }
}

fn taken_by(conf: &str) -> Taken {
    Taken::of(&[NetworkList::from_bytes(conf.as_bytes()).unwrap()])
}

#[test]
fn defaults_pick_a_free_subnet_and_bridge() {
    let used = taken_by(
        r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"bridge","bridge":"twill1",
            "ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.0.0/24"}]]}}]}"#,
    );
    let a = create_args(&["web"]);
    let (subnets, bridge) = check(&a, &used).unwrap();
    assert_eq!(subnets[0].0.to_string(), "10.89.1.0/24");
    assert_eq!(bridge, "twill2");
    let conf = build(&a, &subnets, &bridge, Version::V1_1_0, None);
    let net = NetworkList::from_bytes(conf.to_string().as_bytes()).unwrap();
    assert_eq!(net.version(), Version::V1_1_0);
    assert_eq!(conf["plugins"][0]["isGateway"], true);
    assert_eq!(conf["plugins"][0]["ipam"]["routes"][0]["dst"], "0.0.0.0/0");
}

#[test]
fn explicit_dual_stack_with_gateway_mtu_and_isolation() {
    let a = create_args(&[
        "dual",
        "--subnet",
        "10.9.0.0/24",
        "--gateway",
        "10.9.0.254",
        "--ipv6",
        "fd00:9::/64",
        "--mtu",
        "1400",
        "--isolate",
    ]);
    let (subnets, bridge) = check(&a, &Taken::default()).unwrap();
    let conf = build(&a, &subnets, &bridge, Version::V1_0_0, None);
    let p = &conf["plugins"][0];
    assert_eq!(p["ipam"]["ranges"][0][0]["gateway"], "10.9.0.254");
    assert_eq!(p["ipam"]["ranges"][1][0]["subnet"], "fd00:9::/64");
    assert_eq!(p["ipam"]["routes"][1]["dst"], "::/0");
    assert_eq!(
        (p["mtu"].as_u64(), p["portIsolation"].as_bool()),
        (Some(1400), Some(true))
    );
}

#[test]
fn refusals_say_why() {
    let cases: [(&[&str], &str); 14] = [
        (&["n", "--masq", "--driver", "macvlan"], "bridge and ptp"),
        (
            &["n", "--driver", "ptp", "--isolate"],
            "isolated at layer 2",
        ),
        (
            &["n", "--subnet", "10.9.0.5/24"],
            "did you mean 10.9.0.0/24",
        ),
        (
            &["n", "--subnet", "10.9.0.0/24", "--gateway", "10.8.0.1"],
            "inside 10.9.0.0/24",
        ),
        (&["n", "--ipv6", "10.7.0.0/24"], "not an IPv6 subnet"),
        (
            &["n", "--subnet", "10.88.3.0/24"],
            "overlaps a subnet of network \"twill\"",
        ),
        (
            &["n", "--master", "eth0"],
            "macvlan and ipvlan drivers only",
        ),
        (
            &["n", "--parent", "eth0"],
            "macvlan and ipvlan drivers only",
        ),
        (&["n", "--mtu", "20"], "68 to 65535"),
        (&["n", "--mode", "l2"], "macvlan and ipvlan drivers only"),
        (
            &["n", "--driver", "ipvlan", "--mode", "bridge"],
            "l2, l3, l3s",
        ),
        (
            &["n", "--driver", "macvlan", "--mode", "l3"],
            "bridge, private, vepa, passthru",
        ),
        (&["n", "--driver", "ipvlan", "--isolate"], "no private mode"),
        (
            &["n", "--driver", "macvlan", "--isolate", "--mode", "vepa"],
            "contradicts --mode vepa",
        ),
    ];
    let taken = Taken::of(&[]);
    for (line, want) in cases {
        let err = format!("{:#}", check(&create_args(line), &taken).unwrap_err());
        assert!(err.contains(want), "{line:?}: {err}");
    }
}

#[test]
fn masq_asks_bridge_and_ptp_to_masquerade() {
    for driver in ["bridge", "ptp"] {
        let a = create_args(&["n", "--driver", driver, "--masq"]);
        let (subnets, bridge) = check(&a, &Taken::default()).unwrap();
        let conf = build(&a, &subnets, &bridge, Version::V1_0_0, None);
        assert_eq!(conf["plugins"][0]["ipMasq"], true, "{driver}");
    }
    let a = create_args(&["n"]);
    let (subnets, bridge) = check(&a, &Taken::default()).unwrap();
    let conf = build(&a, &subnets, &bridge, Version::V1_0_0, None);
    assert!(conf["plugins"][0].get("ipMasq").is_none());
}

#[test]
fn parent_device_drivers_write_master_and_mode() {
    for (line, kind, mode, caps) in [
        (
            &[
                "lan", "--driver", "ipvlan", "--parent", "up0", "--mode", "l3s",
            ][..],
            "ipvlan",
            "l3s",
            serde_json::json!({"ips": true}),
        ),
        (
            &["lan", "--driver", "ipvlan"][..],
            "ipvlan",
            "l2",
            serde_json::json!({"ips": true}),
        ),
        (
            &[
                "lan", "--driver", "macvlan", "--parent", "up0", "--mode", "vepa",
            ][..],
            "macvlan",
            "vepa",
            serde_json::json!({"ips": true, "mac": true}),
        ),
    ] {
        let a = create_args(line);
        let (subnets, bridge) = check(&a, &Taken::default()).unwrap();
        let conf = build(&a, &subnets, &bridge, Version::V1_0_0, None);
        let p = &conf["plugins"][0];
        assert_eq!(
            (&p["type"], &p["mode"]),
            (&kind.into(), &mode.into()),
            "{line:?}"
        );
        assert_eq!(p["capabilities"], caps, "{line:?}");
        if line.contains(&"up0") {
            assert_eq!(p["master"], "up0");
        } else {
            assert!(
                p.get("master").is_none(),
                "the default route's interface: {p}"
            );
        }
    }
}

#[test]
fn internal_networks_have_no_way_out() {
    for driver in ["bridge", "ptp", "macvlan", "ipvlan"] {
        let a = create_args(&[
            "n",
            "--driver",
            driver,
            "--internal",
            "--ipv6",
            "fd00:9::/64",
        ]);
        let (subnets, bridge) = check(&a, &Taken::default()).unwrap();
        let conf = build(&a, &subnets, &bridge, Version::V1_0_0, None);
        let p = &conf["plugins"][0];
        assert!(p.get("ipMasq").is_none(), "{driver}: {p}");
        assert_eq!(p["ipam"]["routes"], serde_json::json!([]), "{driver}: {p}");
    }
    let e = Cli::try_parse_from(["twill", "net", "create", "n", "--internal", "--masq"]);
    assert!(e.is_err(), "--internal with --masq");
}

#[test]
fn macvlan_isolation_is_private_mode() {
    let a = create_args(&[
        "lan",
        "--driver",
        "macvlan",
        "--master",
        "eth0",
        "--isolate",
    ]);
    let (subnets, bridge) = check(&a, &Taken::default()).unwrap();
    let conf = build(&a, &subnets, &bridge, Version::V1_0_0, None);
    assert_eq!(conf["plugins"][0]["mode"], "private");
    assert_eq!(conf["plugins"][0]["master"], "eth0");
    assert!(conf["plugins"][0].get("bridge").is_none());
}

#[test]
fn help_renders_for_every_subcommand() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
    for sub in [
        "add", "check", "del", "status", "gc", "run", "ls", "plugins",
    ] {
        let err = Cli::try_parse_from(["twill", sub, "--help"]).unwrap_err();
        assert!(err.to_string().contains("Examples:"), "{sub}");
    }
}
