//! Every class of bad configuration: the right CNI code and a message naming the field.

// Helpers here are test code too: they may unwrap and panic.
#![cfg(test)]

use twill_cni::config::{ConfigError, NetConf, NetConfList};
use twill_cni::{CniError, Code};

/// Parses `input` both ways a configuration arrives and checks code and message.
fn refused_as_list(input: &str, code: Code, path: &str, message_part: &str) {
    let e = NetConfList::from_bytes(input.as_bytes()).unwrap_err();
    check(&e, code, path, message_part, input);
}

fn refused_as_stdin(input: &str, code: Code, path: &str, message_part: &str) {
    let e = NetConf::from_bytes(input.as_bytes()).unwrap_err();
    check(&e, code, path, message_part, input);
}

fn check(e: &ConfigError, code: Code, path: &str, message_part: &str, input: &str) {
    assert_eq!(e.code(), code, "{input}: {e}");
    assert_eq!(e.path(), path, "{input}: {e}");
    let cni = CniError::from(e.clone());
    assert_eq!(cni.code, code);
    assert!(
        cni.msg.starts_with(&format!("{path}: ")),
        "{input}: {}",
        cni.msg
    );
    assert!(cni.msg.contains(message_part), "{input}: {}", cni.msg);
}

#[test]
fn not_json_is_a_decoding_failure() {
    for input in [
        "",
        "{",
        "cniVersion: 1.0.0",
        "{\"name\": \"a\",}",
        "\u{feff}{}",
    ] {
        refused_as_list(
            input,
            Code::DECODING_FAILURE,
            "configuration",
            "not valid JSON",
        );
        refused_as_stdin(
            input,
            Code::DECODING_FAILURE,
            "configuration",
            "not valid JSON",
        );
    }
    for input in ["[]", "\"name\"", "3", "null"] {
        refused_as_list(
            input,
            Code::DECODING_FAILURE,
            "configuration",
            "expected object",
        );
        refused_as_stdin(
            input,
            Code::DECODING_FAILURE,
            "configuration",
            "expected object",
        );
    }
}

#[test]
fn wrong_types_are_decoding_failures() {
    let d = Code::DECODING_FAILURE;
    refused_as_list(r#"{"name": 7}"#, d, "name", "expected string, found number");
    refused_as_list(
        r#"{"name": "n", "cniVersion": 1}"#,
        d,
        "cniVersion",
        "expected string",
    );
    refused_as_list(
        r#"{"name": "n", "cniVersions": "1.0.0"}"#,
        d,
        "cniVersions",
        "expected array",
    );
    refused_as_list(
        r#"{"name": "n", "cniVersions": [1]}"#,
        d,
        "cniVersions[0]",
        "expected string",
    );
    refused_as_list(
        r#"{"name": "n", "disableCheck": 0}"#,
        d,
        "disableCheck",
        "expected boolean",
    );
    refused_as_list(
        r#"{"name": "n", "plugins": {}}"#,
        d,
        "plugins",
        "expected array",
    );
    refused_as_list(
        r#"{"name": "n", "plugins": ["bridge"]}"#,
        d,
        "plugins[0]",
        "expected object",
    );
    refused_as_list(
        r#"{"name": "n", "plugins": [{"type": "bridge"}, {"type": "portmap", "capabilities": {"portMappings": 1}}]}"#,
        d,
        "plugins[1].capabilities.portMappings",
        "expected boolean",
    );
    refused_as_list(
        r#"{"name": "n", "plugins": [{"type": "bridge", "ipam": {"type": ["host-local"]}}]}"#,
        d,
        "plugins[0].ipam.type",
        "expected string, found array",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": true}"#,
        d,
        "type",
        "expected string",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": "portmap", "runtimeConfig": {"portMappings": [{"hostPort": "80", "containerPort": 80}]}}"#,
        d,
        "runtimeConfig.portMappings[0].hostPort",
        "expected integer, found string",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": "bandwidth", "runtimeConfig": {"bandwidth": []}}"#,
        d,
        "runtimeConfig.bandwidth",
        "expected object",
    );
}

#[test]
fn missing_and_invalid_names() {
    let c = Code::INVALID_NETWORK_CONFIG;
    refused_as_list(r#"{"plugins": [{"type": "bridge"}]}"#, c, "name", "missing");
    refused_as_list(
        r#"{"name": "", "plugins": [{"type": "bridge"}]}"#,
        c,
        "name",
        "missing",
    );
    refused_as_list(
        r#"{"name": null, "plugins": [{"type": "bridge"}]}"#,
        c,
        "name",
        "missing",
    );
    refused_as_stdin(r#"{"type": "bridge"}"#, c, "name", "missing");
    for bad in ["-net", ".hidden", "a/b", "..", "with space", "tab\t", "ünï"] {
        let input = serde_json::json!({"name": bad, "plugins": [{"type": "bridge"}]}).to_string();
        refused_as_list(&input, c, "name", "invalid network name");
        let input = serde_json::json!({"name": bad, "type": "bridge"}).to_string();
        refused_as_stdin(&input, c, "name", "invalid network name");
    }
}

#[test]
fn unknown_versions_are_incompatible() {
    let v = Code::INCOMPATIBLE_VERSION;
    refused_as_list(
        r#"{"name": "n", "cniVersion": "0.5.0", "plugins": [{"type": "a"}]}"#,
        v,
        "cniVersion",
        "\"0.5.0\"",
    );
    refused_as_list(
        r#"{"name": "n", "cniVersion": "latest", "plugins": [{"type": "a"}]}"#,
        v,
        "cniVersion",
        "\"latest\"",
    );
    refused_as_list(
        r#"{"name": "n", "cniVersions": ["2.0.0", "x"], "plugins": [{"type": "a"}]}"#,
        v,
        "cniVersions",
        "[\"2.0.0\", \"x\"]",
    );
    refused_as_stdin(
        r#"{"cniVersion": "1.2.0", "name": "n", "type": "a"}"#,
        v,
        "cniVersion",
        "\"1.2.0\"",
    );
    refused_as_stdin(
        r#"{"cniVersion": "v1.0.0", "name": "n", "type": "a"}"#,
        v,
        "cniVersion",
        "\"v1.0.0\"",
    );
}

#[test]
fn types_with_path_separators_and_missing_types() {
    let c = Code::INVALID_NETWORK_CONFIG;
    for bad in ["/bin/sh", "../../bin/sh", "sub/bridge", "C:\\\\bridge"] {
        let input =
            format!(r#"{{"name": "n", "plugins": [{{"type": "ok"}}, {{"type": "{bad}"}}]}}"#);
        refused_as_list(&input, c, "plugins[1].type", "path separator");
        let input = format!(r#"{{"name": "n", "type": "{bad}"}}"#);
        refused_as_stdin(&input, c, "type", "path separator");
        let input = format!(r#"{{"name": "n", "type": "bridge", "ipam": {{"type": "{bad}"}}}}"#);
        refused_as_stdin(&input, c, "ipam.type", "path separator");
    }
    refused_as_list(
        r#"{"name": "n", "plugins": [{"bridge": "br0"}]}"#,
        c,
        "plugins[0].type",
        "missing",
    );
    refused_as_stdin(r#"{"name": "n", "type": ""}"#, c, "type", "missing");
    refused_as_stdin(
        r#"{"name": "n", "type": "bridge", "ipam": {"subnet": "10.0.0.0/24"}}"#,
        c,
        "ipam.type",
        "missing",
    );
}

#[test]
fn empty_plugin_lists() {
    let c = Code::INVALID_NETWORK_CONFIG;
    refused_as_list(
        r#"{"name": "n", "plugins": []}"#,
        c,
        "plugins",
        "at least one plugin",
    );
    refused_as_list(
        r#"{"name": "n", "loadOnlyInlinedPlugins": "true"}"#,
        c,
        "plugins",
        "loadOnlyInlinedPlugins",
    );
}

#[test]
fn invalid_values() {
    let c = Code::INVALID_NETWORK_CONFIG;
    refused_as_list(
        r#"{"name": "n", "disableGC": "sometimes"}"#,
        c,
        "disableGC",
        "not a boolean",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": "portmap", "runtimeConfig": {"portMappings": [{"hostPort": 70000, "containerPort": 80}]}}"#,
        c,
        "runtimeConfig.portMappings[0].hostPort",
        "1-65535",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": "portmap", "runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": -1}]}}"#,
        c,
        "runtimeConfig.portMappings[0].containerPort",
        "1-65535",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": "host-local", "runtimeConfig": {"ipRanges": [[{"subnet": "10.0.0.0/24"}, {"subnet": "10.0.1.0/24", "gateway": "10.0.1"}]]}}"#,
        c,
        "runtimeConfig.ipRanges[0][1].gateway",
        "not an IP address",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": "static", "args": {"cni": {"ips": ["10.0.0.1/40"]}}}"#,
        c,
        "args.cni.ips[0]",
        "not an IP address or CIDR",
    );
    refused_as_stdin(
        r#"{"name": "n", "type": "bandwidth", "runtimeConfig": {"bandwidth": {"ingressRate": 1.5}}}"#,
        c,
        "runtimeConfig.bandwidth.ingressRate",
        "not a non-negative integer",
    );
}

#[test]
fn nothing_panics_on_odd_but_valid_json() {
    let odd = [
        r#"{"name": "n", "plugins": [{"type": "a", "ipam": null, "dns": null, "args": null, "runtimeConfig": null, "prevResult": null}]}"#,
        r#"{"name": "n", "plugins": [{"type": "a", "capabilities": {}}], "cniVersions": []}"#,
        r#"{"name": "n", "name": "m", "plugins": [{"type": "a", "type": "b"}]}"#,
    ];
    for input in odd {
        assert!(NetConfList::from_bytes(input.as_bytes()).is_ok(), "{input}");
    }
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let e = NetConfList::from_bytes(deep.as_bytes()).unwrap_err();
    assert_eq!(e.code(), Code::DECODING_FAILURE);
}
