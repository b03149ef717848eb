//! Unit-test support: a scripted [`Exec`] that records every call, and temporary cache dirs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};
use twill_cni::exec::{EnvVars, Exec, ExecFailure, ExecOutput, ExitState};
use twill_cni::CniError;

/// One recorded run.
#[derive(Debug, Clone)]
pub struct Call {
    pub plugin: String,
    pub env: EnvVars,
    pub stdin: Value,
}

impl Call {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn command(&self) -> &str {
        self.var("CNI_COMMAND").unwrap_or_default()
    }
}

type Responder = dyn Fn(&Call) -> ExecOutput + Send + Sync;

/// Plugins that all "exist" at `/fake/<type>`. By default each ADD answers with the previous
/// result's interfaces plus one named after its own type, in the request's version; every
/// other command succeeds silently.
pub struct FakeExec {
    calls: Mutex<Vec<Call>>,
    respond: Box<Responder>,
}

impl FakeExec {
    pub fn new(respond: impl Fn(&Call) -> ExecOutput + Send + Sync + 'static) -> FakeExec {
        FakeExec {
            calls: Mutex::new(Vec::new()),
            respond: Box::new(respond),
        }
    }

    pub fn threading() -> FakeExec {
        FakeExec::new(threading_answer)
    }

    /// Like `threading`, but `plugin` fails `command` with `code`.
    pub fn failing(plugin: &'static str, command: &'static str, code: u32) -> FakeExec {
        FakeExec::new(move |c| {
            if c.plugin == plugin && c.command() == command {
                let err = json!({"code": code, "msg": format!("{plugin} says no")});
                out(1, &err.to_string())
            } else {
                threading_answer(c)
            }
        })
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// (plugin, command) of every call, in order.
    pub fn trace(&self) -> Vec<(String, String)> {
        self.calls()
            .iter()
            .map(|c| (c.plugin.clone(), c.command().to_owned()))
            .collect()
    }

    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }
}

impl std::fmt::Debug for FakeExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeExec")
    }
}

pub fn out(code: i32, stdout: &str) -> ExecOutput {
    ExecOutput {
        exit: ExitState::Code(code),
        stdout: stdout.as_bytes().to_vec(),
        stderr: Some(Vec::new()),
    }
}

/// ADD: the prevResult's interfaces plus `{name: <type>}`, in the request's version.
pub fn threading_answer(c: &Call) -> ExecOutput {
    match c.command() {
        "ADD" => {
            let mut ifaces = c.stdin["prevResult"]["interfaces"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            ifaces.push(json!({"name": c.plugin}));
            let result = json!({
                "cniVersion": c.stdin["cniVersion"],
                "interfaces": ifaces,
                "ips": [{"address": "10.1.2.3/24", "gateway": "10.1.2.1", "interface": 0}],
            });
            out(0, &result.to_string())
        }
        "VERSION" => out(
            0,
            r#"{"cniVersion":"1.1.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}"#,
        ),
        _ => out(0, ""),
    }
}

impl Exec for FakeExec {
    fn run(&self, program: &Path, env: &EnvVars, stdin: &[u8]) -> Result<ExecOutput, ExecFailure> {
        let call = Call {
            plugin: program
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            env: env.clone(),
            stdin: serde_json::from_slice(stdin).unwrap_or(Value::Null),
        };
        let answer = (self.respond)(&call);
        self.calls.lock().unwrap().push(call);
        Ok(answer)
    }

    fn find(&self, plugin_type: &str, _: &[PathBuf]) -> Result<PathBuf, CniError> {
        Ok(Path::new("/fake").join(plugin_type))
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("twill-rt-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
