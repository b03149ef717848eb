//! Unit tests of the pure parts of tuning: configuration, precedence, sysctl paths, results.

use serde_json::{json, Value};
use twill_cni::result::CniResult;
use twill_cni::skel::{CmdArgs, CniArgs, Command};
use twill_cni::{Code, Version};
use twill_kernel::MacAddr;

use super::apply::{changes, restores, Change};
use super::backup::Backup;
use super::config::{parse_mac, sysctl_path, TuningConf, DEFAULT_DATA_DIR};
use super::result::{output, prev_result};

fn cmd(config: Value, cni_args: &str) -> CmdArgs {
    CmdArgs {
        command: Command::Add,
        container_id: "c1".into(),
        netns: Some("/run/netns/x".into()),
        netns_override: false,
        ifname: "eth0.5".into(),
        args: CniArgs::parse(cni_args).unwrap(),
        path: Vec::new(),
        stdin: serde_json::to_vec(&config).unwrap(),
        config,
        name: "net".into(),
        version: Version::V1_0_0,
    }
}

fn conf(extra: Value) -> Value {
    let mut base = json!({"cniVersion": "1.0.0", "name": "net", "type": "tuning"});
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    base
}

const MAC_A: &str = "02:00:00:00:00:0a";
const MAC_B: &str = "02:00:00:00:00:0b";
const MAC_C: &str = "02:00:00:00:00:0c";
const MAC_D: &str = "02:00:00:00:00:0d";

fn mac(s: &str) -> Option<MacAddr> {
    parse_mac(s)
}

#[test]
fn every_key_is_read_and_defaults_hold() {
    let c = TuningConf::parse(&cmd(
        conf(json!({
            "sysctl": {"net.core.somaxconn": "500", "net.ipv4.conf.IFNAME.arp_filter": "1"},
            "mac": MAC_A, "mtu": 1400, "promisc": true, "allmulti": false, "txQLen": 0,
            "dataDir": "/tmp/x"
        })),
        "",
    ))
    .unwrap();
    assert_eq!(c.mac, mac(MAC_A));
    assert_eq!(
        (c.mtu, c.promisc, c.allmulti, c.txqlen),
        (Some(1400), true, Some(false), Some(0))
    );
    assert_eq!(c.data_dir.to_str(), Some("/tmp/x"));
    let paths: Vec<_> = c.sysctl.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        ["net/core/somaxconn", "net/ipv4/conf/eth0.5/arp_filter"]
    );
    assert_eq!(
        changes(&c),
        [
            Change::Mac(mac(MAC_A).unwrap()),
            Change::Promisc(true),
            Change::Mtu(1400),
            Change::Allmulti(false),
            Change::TxQLen(0)
        ]
    );

    let d = TuningConf::parse(&cmd(
        conf(json!({"mtu": 0, "mac": "", "promisc": false})),
        "",
    ))
    .unwrap();
    assert_eq!(d.data_dir.to_str(), Some(DEFAULT_DATA_DIR));
    assert!(
        changes(&d).is_empty(),
        "mtu 0, empty mac and promisc false change nothing"
    );
}

#[test]
fn keys_match_case_insensitively_like_go() {
    let c = TuningConf::parse(&cmd(
        conf(json!({"MTU": 9000, "TxQlen": 5, "Promisc": true})),
        "",
    ))
    .unwrap();
    assert_eq!((c.mtu, c.txqlen, c.promisc), (Some(9000), Some(5), true));
}

#[test]
fn mac_precedence_is_the_reference_s() {
    let all = conf(json!({
        "mac": MAC_A,
        "runtimeConfig": {"mac": MAC_C},
        "args": {"cni": {"mac": MAC_D}}
    }));
    let c = TuningConf::parse(&cmd(all, &format!("IgnoreUnknown=1;MAC={MAC_B}"))).unwrap();
    assert_eq!(c.mac, mac(MAC_D), "args.cni.mac wins");
    let no_args = conf(json!({"mac": MAC_A, "runtimeConfig": {"mac": MAC_C}}));
    let c = TuningConf::parse(&cmd(no_args, &format!("MAC={MAC_B}"))).unwrap();
    assert_eq!(c.mac, mac(MAC_C), "then runtimeConfig.mac");
    let c = TuningConf::parse(&cmd(conf(json!({"mac": MAC_A})), &format!("MAC={MAC_B}"))).unwrap();
    assert_eq!(c.mac, mac(MAC_B), "then CNI_ARGS MAC");
}

#[test]
fn args_cni_overrides_every_key_and_merges_sysctls() {
    let c = TuningConf::parse(&cmd(
        conf(json!({
            "sysctl": {"net.core.somaxconn": "500", "net.ipv4.ip_forward": "0"},
            "mtu": 1400, "promisc": true, "allmulti": true,
            "args": {"cni": {"sysctl": {"net.ipv4.ip_forward": "1", "net.core.netdev_max_backlog": "9"},
                             "mtu": 1300, "promisc": false, "allmulti": false, "txQLen": 7}}
        })),
        "",
    ))
    .unwrap();
    let kv: Vec<_> = c
        .sysctl
        .iter()
        .map(|s| (s.key.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        kv,
        [
            ("net.core.somaxconn", "500"),
            ("net.ipv4.ip_forward", "1"),
            ("net.core.netdev_max_backlog", "9")
        ]
    );
    assert_eq!(
        (c.mtu, c.promisc, c.allmulti, c.txqlen),
        (Some(1300), false, Some(false), Some(7))
    );
    // Sysctls only in args work too (the reference crashes on a nil map there).
    let c = TuningConf::parse(&cmd(
        conf(json!({"args": {"cni": {"sysctl": {"net.core.somaxconn": "1"}}}})),
        "",
    ))
    .unwrap();
    assert_eq!(c.sysctl.len(), 1);
}

#[test]
fn bad_values_name_their_field_with_the_right_code() {
    let cases = [
        (json!({"mac": "zz:zz"}), Code::INVALID_NETWORK_CONFIG, "mac"),
        (
            json!({"mac": "02:00:00:00:00:01:02:03"}),
            Code::INVALID_NETWORK_CONFIG,
            "mac",
        ),
        (json!({"mac": 5}), Code::DECODING_FAILURE, "mac"),
        (json!({"mtu": -1}), Code::INVALID_NETWORK_CONFIG, "mtu"),
        (json!({"mtu": 1.5}), Code::INVALID_NETWORK_CONFIG, "mtu"),
        (json!({"mtu": "1500"}), Code::DECODING_FAILURE, "mtu"),
        (
            json!({"mtu": 5_000_000_000u64}),
            Code::INVALID_NETWORK_CONFIG,
            "mtu",
        ),
        (
            json!({"txQLen": -1}),
            Code::INVALID_NETWORK_CONFIG,
            "txQLen",
        ),
        (json!({"promisc": "yes"}), Code::DECODING_FAILURE, "promisc"),
        (json!({"allmulti": 1}), Code::DECODING_FAILURE, "allmulti"),
        (json!({"sysctl": ["x"]}), Code::DECODING_FAILURE, "sysctl"),
        (
            json!({"sysctl": {"net.core.somaxconn": 5}}),
            Code::DECODING_FAILURE,
            "net.core.somaxconn",
        ),
        (
            json!({"sysctl": {"kernel.hostname": "x"}}),
            Code::INVALID_NETWORK_CONFIG,
            "kernel.hostname",
        ),
        (
            json!({"sysctl": {"net/../kernel/x": "1"}}),
            Code::INVALID_NETWORK_CONFIG,
            "net/../kernel/x",
        ),
        (
            json!({"dataDir": "relative/dir"}),
            Code::INVALID_NETWORK_CONFIG,
            "dataDir",
        ),
        (
            json!({"runtimeConfig": {"mac": "nope"}}),
            Code::INVALID_NETWORK_CONFIG,
            "runtimeConfig.mac",
        ),
        (
            json!({"args": {"cni": {"mtu": "x"}}}),
            Code::DECODING_FAILURE,
            "args.cni.mtu",
        ),
        (
            json!({"args": {"cni": {"sysctl": {"vm.swappiness": "1"}}}}),
            Code::INVALID_NETWORK_CONFIG,
            "vm.swappiness",
        ),
    ];
    for (extra, code, field) in cases {
        let e = TuningConf::parse(&cmd(conf(extra.clone()), "")).unwrap_err();
        assert_eq!(e.code, code, "{extra}: {}", e.msg);
        assert!(
            e.msg.contains(field),
            "{extra}: {:?} does not name {field}",
            e.msg
        );
    }
    let e = TuningConf::parse(&cmd(conf(json!({})), "MAC=nope")).unwrap_err();
    assert!(e.msg.contains("MAC"), "{}", e.msg);
}

#[test]
fn sysctl_keys_map_to_paths_under_net_only() {
    let ok = [
        ("net.core.somaxconn", "net/core/somaxconn"),
        ("net/core/somaxconn", "net/core/somaxconn"),
        (
            "net.ipv4.conf.IFNAME.arp_filter",
            "net/ipv4/conf/eth0.5/arp_filter",
        ),
        (
            "net/ipv4/conf/IFNAME/arp_filter",
            "net/ipv4/conf/eth0.5/arp_filter",
        ),
        (
            "net.ipv4.conf.eth0/100.rp_filter",
            "net/ipv4/conf/eth0.100/rp_filter",
        ),
        (
            "net/ipv4/conf/eth0.100/rp_filter",
            "net/ipv4/conf/eth0.100/rp_filter",
        ),
        ("net.IFNAME.IFNAME", "net/eth0.5/IFNAME"),
    ];
    for (key, path) in ok {
        assert_eq!(sysctl_path(key, "eth0.5").as_deref(), Ok(path), "{key}");
    }
    for bad in [
        "",
        "net",
        "net.",
        "net..x",
        "kernel.hostname",
        "/proc/sys/net/x",
        "net/../kernel/x",
        "net/ipv4/../../kernel/x",
        "net/./x",
        "net.ipv4/..",
        "netx.y",
        "net/a\0b",
    ] {
        assert!(sysctl_path(bad, "eth0").is_err(), "{bad:?}");
    }
}

#[test]
fn macs_parse_in_go_s_48_bit_forms() {
    let want = Some(MacAddr([0xc2, 0xb0, 0x57, 0x49, 0x47, 0xf1]));
    for s in [
        "c2:b0:57:49:47:f1",
        "C2:B0:57:49:47:F1",
        "c2-b0-57-49-47-f1",
        "c2b0.5749.47f1",
    ] {
        assert_eq!(parse_mac(s), want, "{s}");
    }
    for s in [
        "",
        "c2:b0:57:49:47",
        "c2:b0-57:49:47:f1",
        "c2b0.5749.47g1",
        "c2:b0:57:49:47:f1:00",
        "+2:b0:57:49:47:f1",
    ] {
        assert_eq!(parse_mac(s), None, "{s}");
    }
}

#[test]
fn restores_come_mtu_first_and_only_for_what_was_saved() {
    let b = Backup {
        mac: mac(MAC_A),
        mtu: Some(1500),
        txqlen: Some(1000),
        ..Backup::default()
    };
    assert_eq!(
        restores(&b),
        [
            Change::Mtu(1500),
            Change::Mac(mac(MAC_A).unwrap()),
            Change::TxQLen(1000)
        ]
    );
}

fn prev(version: &str) -> Value {
    json!({
        "cniVersion": version,
        "interfaces": [{"name": "veth1", "mac": MAC_A}, {"name": "eth0.5", "mac": MAC_B, "mtu": 1500, "sandbox": "/run/netns/x"}],
        "ips": [{"address": "10.1.0.2/24", "interface": 1}]
    })
}

#[test]
fn prev_result_is_required_and_passed_on_with_the_new_mac_and_mtu() {
    let e = prev_result(&cmd(conf(json!({})), "")).unwrap_err();
    assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
    assert!(e.msg.contains("prevResult"));
    let e = prev_result(&cmd(
        conf(json!({"prevResult": {"ips": [{"address": "x"}]}})),
        "",
    ))
    .unwrap_err();
    assert!(e.msg.contains("prevResult.ips[0].address"), "{}", e.msg);

    let args = cmd(
        conf(json!({"prevResult": prev("1.1.0"), "mac": "C2-B0-57-49-47-F1", "mtu": 1400})),
        "",
    );
    let c = TuningConf::parse(&args).unwrap();
    let out = output(prev_result(&args).unwrap(), &c, "eth0.5", Version::V1_0_0).unwrap();
    assert_eq!(out["cniVersion"], "1.0.0");
    assert_eq!(
        out["interfaces"][0]["mac"], MAC_A,
        "other interfaces are untouched"
    );
    assert_eq!(out["interfaces"][1]["mac"], "c2:b0:57:49:47:f1");
    assert_eq!(out["interfaces"][1]["mtu"], 1400);

    // Without changes to report, the result is the previous one, converted.
    let args = cmd(conf(json!({"prevResult": prev("0.3.1")})), "");
    let c = TuningConf::parse(&args).unwrap();
    let out = output(prev_result(&args).unwrap(), &c, "eth0.5", Version::V0_4_0).unwrap();
    let want = CniResult::from_value(&prev("0.3.1"), Version::V0_3_1)
        .unwrap()
        .convert(Version::V0_4_0)
        .unwrap();
    assert_eq!(out, want.to_json());
    let out = output(prev_result(&args).unwrap(), &c, "eth0.5", Version::V0_2_0).unwrap();
    assert_eq!(out["ip4"]["ip"], "10.1.0.2/24");
}
