//! Driving the entry point in memory: map environments, byte-slice stdin, vector stdout.

use std::cell::RefCell;

// What every in-memory test uses, so a test file needs one glob import.
pub use std::ffi::OsString;
pub use std::io::{self, Read, Write};
pub use std::path::PathBuf;

pub use serde_json::{json, Value};
pub use twill_cni::skel::{dispatch, CmdArgs, Command, Plugin, PluginInfo, MAX_STDIN};
pub use twill_cni::{CniError, Code, Version};

/// Records every call and answers as configured.
#[derive(Default)]
pub struct Recorder {
    pub calls: RefCell<Vec<CmdArgs>>,
    pub result: Option<Value>,
    pub fail: Option<CniError>,
}

impl Recorder {
    fn answer(&self, args: &CmdArgs) -> Result<(), CniError> {
        self.calls.borrow_mut().push(args.clone());
        match &self.fail {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub fn only_call(&self) -> CmdArgs {
        let calls = self.calls.borrow();
        assert_eq!(calls.len(), 1, "expected exactly one call");
        calls[0].clone()
    }
}

impl Plugin for Recorder {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        self.answer(args)?;
        Ok(self.result.clone().unwrap_or_else(|| json!({"ips": []})))
    }
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        self.answer(args)
    }
    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        self.answer(args)
    }
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        self.answer(args)
    }
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        self.answer(args)
    }
}

/// A plugin that keeps the trait's defaults for GC and STATUS.
pub struct Minimal;

impl Plugin for Minimal {
    fn add(&self, _: &CmdArgs) -> Result<Value, CniError> {
        Ok(json!({}))
    }
    fn del(&self, _: &CmdArgs) -> Result<(), CniError> {
        Ok(())
    }
    fn check(&self, _: &CmdArgs) -> Result<(), CniError> {
        Ok(())
    }
}

/// A reader that fails the test if anything reads it.
pub struct MustNotRead;

impl Read for MustNotRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        panic!("stdin was read");
    }
}

pub struct Outcome {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).expect("stdout is one JSON document")
    }

    pub fn error(&self) -> CniError {
        assert_eq!(self.code, 1, "expected failure, stdout {:?}", self.text());
        CniError::from_json(&self.json()).expect("an error object")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

pub fn run(
    plugin: &dyn Plugin,
    supported: &[Version],
    env: &[(&str, &str)],
    input: &mut dyn Read,
) -> Outcome {
    let env: Vec<(String, OsString)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), OsString::from(*v)))
        .collect();
    let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let info = PluginInfo {
        about: "test plugin v1",
        supported,
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = dispatch(plugin, &info, &lookup, input, &mut stdout, &mut stderr);
    Outcome {
        code,
        stdout,
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

pub const CONF: &str = r#"{"cniVersion":"1.0.0","name":"net1","type":"test"}"#;

pub fn add_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "c0ffee"),
        ("CNI_NETNS", "/var/run/netns/t"),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
    ]
}

pub fn with(
    env: &[(&'static str, &'static str)],
    key: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    let mut env: Vec<_> = env.iter().copied().filter(|(k, _)| *k != key).collect();
    if let Some(v) = value {
        env.push((key, v));
    }
    env
}

pub fn cmd_env(command: &'static str) -> Vec<(&'static str, &'static str)> {
    with(&add_env(), "CNI_COMMAND", Some(command))
}

pub fn go(plugin: &dyn Plugin, env: &[(&str, &str)], stdin: &str) -> Outcome {
    run(plugin, &Version::ALL, env, &mut stdin.as_bytes())
}
