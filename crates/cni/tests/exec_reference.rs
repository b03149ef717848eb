//! The exec layer against the reference plugins (Debian's containernetworking-plugins in
//! /usr/lib/cni), run as real processes. host-local is the subject because it touches no
//! network namespace: only the files under its `dataDir`, here a fresh temporary directory.

mod exec_support;

use std::path::PathBuf;

use exec_support::{file_names, install_as, reference_dir, TempDir};
use serde_json::{json, Value};
use twill_cni::exec::chain::{add_list, del_list};
use twill_cni::exec::{
    delegate_add, delegate_check, delegate_del, plugin_version_info, Invoker, RealExec, RequestEnv,
};
use twill_cni::{Code, Version};

const NET: &str = "twill-exec-test";

fn ipam_config(version: &str, data_dir: &std::path::Path, subnet: &str) -> Vec<u8> {
    json!({
        "cniVersion": version,
        "name": NET,
        "type": "bridge",
        "ipam": {
            "type": "host-local",
            "dataDir": data_dir,
            "ranges": [[{"subnet": subnet}]],
        }
    })
    .to_string()
    .into_bytes()
}

/// host-local never enters the namespace, so our own is a harmless value for the required
/// variable.
fn env(container: &str) -> RequestEnv {
    RequestEnv::new(container, "/proc/self/ns/net", "eth0").with_path(vec![reference_dir()])
}

#[test]
fn host_local_add_check_del_in_every_result_family() {
    let path = [reference_dir()];
    for (version, subnet) in [
        ("0.3.1", "10.77.1.0/24"),
        ("0.4.0", "10.77.2.0/24"),
        ("1.0.0", "10.77.3.0/24"),
    ] {
        let tmp = TempDir::new("hl");
        let conf = ipam_config(version, tmp.path(), subnet);
        let env = env("ctr-family");
        let net_dir = tmp.join(NET);

        let result = delegate_add("host-local", &conf, &env, &path).unwrap();
        assert_eq!(result.cni_version.as_str(), version);
        assert_eq!(result.value["cniVersion"], version);
        let ip = &result.value["ips"][0];
        let address = ip["address"].as_str().unwrap();
        let prefix = subnet.trim_end_matches("0/24");
        assert!(address.starts_with(prefix), "{version}: {address}");
        assert_eq!(ip["gateway"], format!("{prefix}1"), "{version}");
        // 0.3.x and 0.4.0 label the family; 1.0.0 dropped the field.
        let family = if version == "1.0.0" {
            Value::Null
        } else {
            json!("4")
        };
        assert_eq!(ip["version"], family, "{version}");

        // The reservation is a file named after the address, holding the container id.
        let reserved = address.split('/').next().unwrap();
        assert!(
            file_names(&net_dir).contains(&reserved.to_owned()),
            "{version}"
        );
        let owner = std::fs::read_to_string(net_dir.join(reserved)).unwrap();
        assert!(owner.starts_with("ctr-family"), "{owner:?}");

        if Version::parse_config(version).unwrap().supports_check() {
            delegate_check("host-local", &conf, &env, &path).unwrap();
        } else {
            let err = delegate_check("host-local", &conf, &env, &path).unwrap_err();
            assert_eq!(err.code, Code::INCOMPATIBLE_VERSION, "{err:?}");
        }

        // DEL needs no namespace.
        let del_env = RequestEnv {
            netns: String::new(),
            ..env.clone()
        };
        delegate_del("host-local", &conf, &del_env, &path).unwrap();
        assert!(
            !file_names(&net_dir).contains(&reserved.to_owned()),
            "{version}"
        );
        // DEL is idempotent, and a CHECK now finds nothing to check.
        delegate_del("host-local", &conf, &del_env, &path).unwrap();
        if version != "0.3.1" {
            let err = delegate_check("host-local", &conf, &env, &path).unwrap_err();
            assert!(err
                .msg
                .starts_with("plugin type=\"host-local\" failed (check): "));
        }
    }
}

#[test]
fn every_reference_plugin_answers_version() {
    let dir = reference_dir();
    let path = [dir.clone()];
    let names = file_names(&dir);
    assert!(names.len() >= 10, "only {names:?} in {}", dir.display());
    for name in &names {
        let info = plugin_version_info(name, &path).unwrap();
        assert!(!info.cni_version.is_empty(), "{name}");
        assert!(info.supports(Version::V1_0_0), "{name}: {info:?}");
        let known = info.known_versions();
        assert_eq!(
            known.len(),
            info.supported_versions.len(),
            "{name}: {info:?}"
        );
    }
    let info = plugin_version_info("host-local", &path).unwrap();
    assert!(info.supports(Version::V0_1_0) && info.supports(Version::V0_3_1));
}

#[test]
fn reference_error_objects_keep_their_codes() {
    let path = [reference_dir()];
    let tmp = TempDir::new("err");
    let env = env("ctr-errors");
    let cases: [(&[u8], Code, &str); 3] = [
        (
            b"{not json",
            Code::DECODING_FAILURE,
            "error unmarshall network config",
        ),
        (
            br#"{"cniVersion":"1.0.0","type":"host-local","ipam":{"type":"host-local"}}"#,
            Code::INVALID_NETWORK_CONFIG,
            "missing network name",
        ),
        (
            br#"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local"}}"#,
            Code::INTERNAL,
            "no IP ranges specified",
        ),
    ];
    for (conf, code, msg) in cases {
        let err = delegate_add("host-local", conf, &env, &path).unwrap_err();
        assert_eq!(err.code, code, "{err:?}");
        let expected = format!("plugin type=\"host-local\" failed (add): {msg}");
        assert!(err.msg.starts_with(&expected), "{}", err.msg);
    }
    // A required variable missing is the plugin's code 4, naming it.
    let no_netns = RequestEnv::new("ctr-errors", "", "eth0");
    let conf = ipam_config("1.0.0", tmp.path(), "10.77.9.0/24");
    let err = delegate_add("host-local", &conf, &no_netns, &path).unwrap_err();
    assert_eq!(err.code, Code::INVALID_ENVIRONMENT);
    assert!(err.msg.contains("CNI_NETNS"), "{}", err.msg);
    assert!(file_names(&tmp.join(NET)).is_empty());
}

#[test]
fn missing_plugins_and_path_like_types_are_refused() {
    let dir = reference_dir();
    let path = [PathBuf::from("/nonexistent-twill"), dir.clone()];
    let env = env("ctr-lookup");
    let conf = br#"{"cniVersion":"1.0.0","name":"n"}"#;
    let err = delegate_add("twill-no-such-plugin", conf, &env, &path).unwrap_err();
    assert_eq!(err.code, Code::INVALID_NETWORK_CONFIG);
    assert_eq!(
        err.msg,
        format!(
            "failed to find plugin \"twill-no-such-plugin\" in path [/nonexistent-twill {}]",
            dir.display()
        )
    );
    // The path resolves to a real plugin, and is still refused: a type is a name, not a path.
    let sneaky = format!(
        "../{}/host-local",
        dir.file_name().unwrap().to_string_lossy()
    );
    assert!(dir.join(&sneaky).is_file());
    for bad in [sneaky.as_str(), "/usr/lib/cni/host-local", ".."] {
        let err = delegate_add(bad, conf, &env, &path).unwrap_err();
        assert_eq!(err.code, Code::INVALID_NETWORK_CONFIG, "{bad}");
        assert!(
            err.msg.starts_with(&format!("invalid plugin type {bad:?}")),
            "{}",
            err.msg
        );
    }
}

#[test]
fn a_chain_threads_the_reference_result_to_the_next_plugin() {
    let tmp = TempDir::new("chain");
    let bin = TempDir::new("chain-bin");
    // `cat` prints the configuration it is given, prevResult included: the most faithful
    // witness of what the runner passed on.
    install_as(bin.path(), "cat", "echo-config", 0o755);
    let path = [bin.path().to_owned(), reference_dir()];
    let data = tmp.join("ipam");
    let list = json!({
        "cniVersion": "1.0.0",
        "name": NET,
        "plugins": [
            {"type": "host-local", "ipam": {"type": "host-local", "dataDir": data,
                "ranges": [[{"subnet": "10.77.4.0/24"}]]}},
            {"type": "echo-config", "custom": {"kept": true}}
        ]
    });
    let exec = RealExec::default();
    let invoker = Invoker::new(&exec, &path);
    let env = env("ctr-chain").with_path(path.to_vec());

    let result = add_list(&invoker, &list, &env).unwrap();
    let echoed = &result.value;
    assert_eq!(echoed["type"], "echo-config");
    assert_eq!(echoed["name"], NET);
    assert_eq!(echoed["cniVersion"], "1.0.0");
    assert_eq!(echoed["custom"], json!({"kept": true}));
    let address = echoed["prevResult"]["ips"][0]["address"].as_str().unwrap();
    assert!(address.starts_with("10.77.4."), "{address}");
    let reserved = address.split('/').next().unwrap().to_owned();
    assert!(file_names(&data.join(NET)).contains(&reserved));

    del_list(&invoker, &list, &env, Some(&echoed["prevResult"])).unwrap();
    assert!(!file_names(&data.join(NET)).contains(&reserved));
}
