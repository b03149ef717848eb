//! A scripted [`Exec`] for unit tests: records every call and answers from a closure.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::error::CniError;

use super::env::EnvVars;
use super::find::validate_type;
use super::process::{Exec, ExecFailure, ExecOutput, ExitState};

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub program: PathBuf,
    pub env: EnvVars,
    pub stdin: Vec<u8>,
}

impl Call {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn stdin_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdin).unwrap()
    }
}

type Responder = dyn Fn(&Call) -> Result<ExecOutput, ExecFailure>;

/// Every plugin type "exists" at `/fake/<type>`, except those named `missing*`.
pub struct FakeExec {
    pub calls: RefCell<Vec<Call>>,
    respond: Box<Responder>,
}

impl FakeExec {
    pub fn new(respond: impl Fn(&Call) -> Result<ExecOutput, ExecFailure> + 'static) -> FakeExec {
        FakeExec {
            calls: RefCell::new(Vec::new()),
            respond: Box::new(respond),
        }
    }

    /// Every run exits with `code` after printing `stdout`.
    pub fn answering(code: i32, stdout: &'static str) -> FakeExec {
        FakeExec::new(move |_| Ok(output(code, stdout)))
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }
}

pub fn output(code: i32, stdout: &str) -> ExecOutput {
    ExecOutput {
        exit: ExitState::Code(code),
        stdout: stdout.as_bytes().to_vec(),
        stderr: Some(Vec::new()),
    }
}

impl Exec for FakeExec {
    fn run(&self, program: &Path, env: &EnvVars, stdin: &[u8]) -> Result<ExecOutput, ExecFailure> {
        let call = Call {
            program: program.to_owned(),
            env: env.clone(),
            stdin: stdin.to_vec(),
        };
        let answer = (self.respond)(&call);
        self.calls.borrow_mut().push(call);
        answer
    }

    fn find(&self, plugin_type: &str, cni_path: &[PathBuf]) -> Result<PathBuf, CniError> {
        validate_type(plugin_type)?;
        if plugin_type.starts_with("missing") {
            return super::find::find_plugin(plugin_type, cni_path);
        }
        Ok(Path::new("/fake").join(plugin_type))
    }
}
