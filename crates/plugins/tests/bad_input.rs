//! Bad input through the real binary: the right code, the field named, nothing reserved.

#[path = "ipam_support/mod.rs"]
mod support;

use serde_json::{json, Value};
use support::{add, check, del, env, gc, host_local, ours, reservations, TempDir};
use twill_cni::exec::{Invoker, RealExec, RequestEnv, StderrMode};
use twill_cni::Code;

#[test]
fn host_local_refusals_name_the_field() {
    let tmp = TempDir::new("bad");
    let cases: Vec<(Value, &str, u32, &str)> = vec![
        (
            json!({"ranges": [[{"subnet": "10.60.0.3/24"}]]}),
            "",
            7,
            "ipam.ranges[0][0].subnet",
        ),
        (
            json!({"ranges": [[{"subnet": "10.60.0.0/31"}]]}),
            "",
            7,
            "ipam.ranges[0][0].subnet",
        ),
        (
            json!({"ranges": [[{"subnet": 10}]]}),
            "",
            6,
            "ipam.ranges[0][0].subnet",
        ),
        (
            json!({"ranges": [[{"subnet": "10.60.0.0/24", "rangeEnd": "10.61.0.1"}]]}),
            "",
            7,
            "ipam.ranges[0][0].rangeEnd",
        ),
        (
            json!({"ranges": [[{"subnet": "10.60.0.0/24"}], [{"subnet": "10.60.0.0/25"}]]}),
            "",
            7,
            "ipam.ranges[1]",
        ),
        (
            json!({"ranges": [[{"subnet": "10.60.0.0/24"}]], "routes": [{"dst": "10.0.0.0"}]}),
            "",
            7,
            "ipam.routes[0].dst",
        ),
        (
            json!({"ranges": [[{"subnet": "10.60.0.0/24"}]], "resolvConf": "/nonexistent/resolv.conf"}),
            "",
            7,
            "ipam.resolvConf",
        ),
        (
            json!({"ranges": [[{"subnet": "10.60.0.0/24"}], [{"subnet": "fd00:60::/64"}]]}),
            "IP=10.60.0.9,10.99.0.1",
            7,
            "requested IPs",
        ),
        (json!({}), "", 7, "ipam.ranges"),
    ];
    for (ipam, cni_args, code, field) in cases {
        let conf = host_local("1.0.0", tmp.path(), ipam.clone());
        let e = add(
            &ours(),
            "host-local",
            &conf,
            &env("c", "eth0", &ours()).with_args(cni_args),
        )
        .unwrap_err();
        assert_eq!(e.code, Code(code), "{ipam}: {}", e.msg);
        assert!(
            e.msg.contains(field),
            "{ipam}: {:?} does not name {field}",
            e.msg
        );
        assert!(
            reservations(&tmp.path().join("net")).is_empty(),
            "{ipam} left a reservation"
        );
    }
    let no_ipam = json!({"cniVersion": "1.0.0", "name": "net", "type": "bridge"});
    let e = add(&ours(), "host-local", &no_ipam, &env("c", "eth0", &ours())).unwrap_err();
    assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
    assert!(e.msg.contains("ipam"), "{}", e.msg);
}

#[test]
fn del_succeeds_without_a_store_and_with_a_broken_configuration() {
    let tmp = TempDir::new("del");
    let conf = host_local(
        "1.0.0",
        &tmp.path().join("never"),
        json!({"subnet": "10.61.0.0/24"}),
    );
    del(&ours(), "host-local", &conf, &env("c", "eth0", &ours())).unwrap();
    assert!(!tmp.path().join("never").exists());
    let no_ipam = json!({"cniVersion": "1.0.0", "name": "net", "type": "bridge"});
    del(&ours(), "host-local", &no_ipam, &env("c", "eth0", &ours())).unwrap();
    // CHECK of an attachment that holds nothing is an error.
    let mut c = conf.clone();
    c["cniVersion"] = json!("0.4.0");
    assert!(check(&ours(), "host-local", &c, &env("c", "eth0", &ours())).is_err());
}

#[test]
fn gc_and_status_need_1_1_0_and_gc_needs_cni_path() {
    let tmp = TempDir::new("gc");
    let old = host_local("1.0.0", tmp.path(), json!({"subnet": "10.62.0.0/24"}));
    let e = gc(&ours(), "host-local", &old, &env("", "", &ours())).unwrap_err();
    assert_eq!(e.code, Code::INCOMPATIBLE_VERSION);
    let new = host_local("1.1.0", tmp.path(), json!({"subnet": "10.62.0.0/24"}));
    let exec = RealExec {
        stderr: StderrMode::Capture,
        ..RealExec::default()
    };
    let path = [ours()];
    Invoker::new(&exec, &path)
        .status(
            "host-local",
            new.to_string().as_bytes(),
            &RequestEnv::default(),
        )
        .unwrap();
    let e = Invoker::new(&exec, &path)
        .gc(
            "host-local",
            new.to_string().as_bytes(),
            &RequestEnv::default(),
        )
        .unwrap_err();
    assert_eq!(e.code, Code::INVALID_ENVIRONMENT, "{}", e.msg);
}

#[test]
fn static_refusals_name_the_field() {
    let cases: Vec<(Value, &str, u32, &str)> = vec![
        (
            json!({"addresses": [{"address": "10.63.0.5"}]}),
            "",
            7,
            "ipam.addresses[0].address",
        ),
        (
            json!({"addresses": [{"address": "10.63.0.5/24", "gateway": "x"}]}),
            "",
            7,
            "ipam.addresses[0].gateway",
        ),
        (
            json!({"addresses": [{}]}),
            "",
            7,
            "ipam.addresses[0].address",
        ),
        (
            json!({"addresses": "10.63.0.5/24"}),
            "",
            6,
            "ipam.addresses",
        ),
        (
            json!({"dns": {"nameservers": "10.0.0.53"}}),
            "",
            6,
            "ipam.dns.nameservers",
        ),
        (
            json!({"routes": [{"dst": "0.0.0.0/0", "gw": "nope"}]}),
            "",
            7,
            "ipam.routes[0].gw",
        ),
        (json!({}), "IP=10.63.0.5", 7, "CNI_ARGS IP"),
        (
            json!({}),
            "IP=10.63.0.5/24;GATEWAY=nope",
            7,
            "CNI_ARGS GATEWAY",
        ),
    ];
    for (ipam, cni_args, code, field) in cases {
        let mut obj = json!({"type": "static"});
        for (k, v) in ipam.as_object().unwrap() {
            obj[k] = v.clone();
        }
        let conf = json!({"cniVersion": "1.0.0", "name": "net", "type": "bridge", "ipam": obj});
        let e = add(
            &ours(),
            "static",
            &conf,
            &env("c", "eth0", &ours()).with_args(cni_args),
        )
        .unwrap_err();
        assert_eq!(e.code, Code(code), "{ipam}: {}", e.msg);
        assert!(
            e.msg.contains(field),
            "{ipam}: {:?} does not name {field}",
            e.msg
        );
    }
    let two = json!({"cniVersion": "0.2.0", "name": "net", "type": "bridge",
        "ipam": {"type": "static", "addresses": [{"address": "10.63.0.5/24"}, {"address": "10.63.0.6/24"}]}});
    let e = add(&ours(), "static", &two, &env("c", "eth0", &ours())).unwrap_err();
    assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
    assert!(e.msg.contains("0.2.0"), "{}", e.msg);
}

#[test]
fn an_unknown_plugin_name_is_refused_naming_the_known_ones() {
    let tmp = TempDir::new("name");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_twill-cni"), tmp.path().join("nosuch")).unwrap();
    let conf = host_local("1.0.0", tmp.path(), json!({"subnet": "10.64.0.0/24"}));
    let e = add(tmp.path(), "nosuch", &conf, &env("c", "eth0", tmp.path())).unwrap_err();
    assert!(
        e.msg.contains("unknown plugin \"nosuch\"")
            && e.msg
                .contains("host-local, ipvlan, loopback, macvlan, portmap, ptp, sbr, static"),
        "{}",
        e.msg
    );
}
