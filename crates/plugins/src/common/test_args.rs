//! The arguments a config module's unit tests hand to its `parse`: an ADD into a named
//! namespace, with the configuration as stdin.

use serde_json::Value;
use twill_cni::skel::{CmdArgs, CniArgs, Command};
use twill_cni::Version;

/// `base` with each key of `extra` laid over it.
pub fn merged(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// An ADD of `ifname` in container "c" of network "n", `config` as stdin and `cni_args` as
/// `CNI_ARGS`.
pub fn add(config: Value, ifname: &str, cni_args: &str) -> CmdArgs {
    CmdArgs {
        command: Command::Add,
        container_id: "c".into(),
        netns: Some("/run/netns/x".into()),
        netns_override: false,
        ifname: ifname.into(),
        args: CniArgs::parse(cni_args).unwrap(),
        path: Vec::new(),
        stdin: serde_json::to_vec(&config).unwrap(),
        config,
        name: "n".into(),
        version: Version::V1_0_0,
    }
}
