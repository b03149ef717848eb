//! The plugin entry point end to end: the input is split into environment variables and stdin;
//! dispatch must never panic, must exit 0 or 1, and on 1 must print exactly one error object.
#![no_main]

use std::ffi::OsString;

use libfuzzer_sys::fuzz_target;
use twill_cni::skel::{dispatch, CmdArgs, Plugin, PluginInfo};
use twill_cni::{CniError, Version};

/// A plugin that succeeds at everything, so the fuzzer explores the entry point, not a plugin.
struct Accept;

impl Plugin for Accept {
    fn add(&self, args: &CmdArgs) -> Result<serde_json::Value, CniError> {
        Ok(serde_json::json!({ "cniVersion": args.version.as_str() }))
    }
    fn del(&self, _: &CmdArgs) -> Result<(), CniError> {
        Ok(())
    }
    fn check(&self, _: &CmdArgs) -> Result<(), CniError> {
        Ok(())
    }
}

const VARS: [&str; 7] = [
    "CNI_COMMAND",
    "CNI_CONTAINERID",
    "CNI_NETNS",
    "CNI_IFNAME",
    "CNI_ARGS",
    "CNI_PATH",
    "CNI_NETNS_OVERRIDE",
];

fuzz_target!(|data: &[u8]| {
    // Layout: up to seven NUL-terminated variable values (an empty one is unset), then stdin.
    let mut rest = data;
    let mut values: Vec<Option<OsString>> = Vec::new();
    for _ in VARS {
        let Some(end) = rest.iter().position(|b| *b == 0) else {
            break;
        };
        let (value, tail) = rest.split_at(end);
        rest = tail.get(1..).unwrap_or_default();
        values.push((!value.is_empty()).then(|| {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::OsStr::from_bytes(value).to_owned()
        }));
    }
    let env = |name: &str| {
        let i = VARS.iter().position(|v| *v == name)?;
        values.get(i).cloned().flatten()
    };
    let info = PluginInfo {
        about: "fuzz",
        supported: &Version::ALL,
    };
    let mut stdin = rest;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let code = dispatch(&Accept, &info, &env, &mut stdin, &mut stdout, &mut stderr);
    match code {
        0 => {}
        1 => {
            let value: serde_json::Value = match serde_json::from_slice(&stdout) {
                Ok(v) => v,
                Err(e) => panic!("error output is not JSON: {e}"),
            };
            assert!(CniError::from_json(&value).is_some(), "not an error object");
        }
        other => panic!("exit code {other}"),
    }
});
