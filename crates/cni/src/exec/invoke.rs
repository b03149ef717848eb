//! Invoking plugins: find, run, and read the answer, for every command.

use std::path::PathBuf;

use crate::error::CniError;
use crate::version::Version;

use super::command::Command;
use super::env::RequestEnv;
use super::output::{attribute, failure_error, parse_result_value, AddResult};
use super::process::Exec;
use super::version_info::{decode_version_info, PluginInfo, UNKNOWN_VERSION_COMMAND};

/// Runs plugins found in a search path through an [`Exec`]. Cheap to copy; holds references
/// only.
#[derive(Clone, Copy)]
pub struct Invoker<'a> {
    exec: &'a dyn Exec,
    cni_path: &'a [PathBuf],
    network: Option<&'a str>,
}

impl std::fmt::Debug for Invoker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invoker")
            .field("cni_path", &self.cni_path)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

impl<'a> Invoker<'a> {
    /// Plugins are looked up in `cni_path` and run by `exec`.
    pub fn new(exec: &'a dyn Exec, cni_path: &'a [PathBuf]) -> Invoker<'a> {
        Invoker {
            exec,
            cni_path,
            network: None,
        }
    }

    /// Names the network in error messages (`plugin type="x" name="net" failed (add): …`), as
    /// a runtime running a network list does. A meta-plugin's delegation leaves it out.
    pub fn with_network(self, name: &'a str) -> Invoker<'a> {
        Invoker {
            network: Some(name),
            ..self
        }
    }

    /// The directories plugins are looked up in.
    pub fn cni_path(&self) -> &'a [PathBuf] {
        self.cni_path
    }

    /// ADD: the result the plugin printed. `stdin` is the full configuration.
    pub fn add(
        &self,
        plugin_type: &str,
        stdin: &[u8],
        env: &RequestEnv,
    ) -> Result<AddResult, CniError> {
        let stdout = self.run(plugin_type, Command::Add, stdin, env)?;
        parse_result_value(&stdout, stdin)
            .map_err(|e| attribute(e, plugin_type, self.network, Command::Add.label()))
    }

    /// DEL. Anything the plugin prints on success is ignored.
    pub fn del(&self, plugin_type: &str, stdin: &[u8], env: &RequestEnv) -> Result<(), CniError> {
        self.run(plugin_type, Command::Del, stdin, env).map(drop)
    }

    /// CHECK.
    pub fn check(&self, plugin_type: &str, stdin: &[u8], env: &RequestEnv) -> Result<(), CniError> {
        self.run(plugin_type, Command::Check, stdin, env).map(drop)
    }

    /// GC. Only `env.path` is used: GC is not about one attachment.
    pub fn gc(&self, plugin_type: &str, stdin: &[u8], env: &RequestEnv) -> Result<(), CniError> {
        self.run(plugin_type, Command::Gc, stdin, env).map(drop)
    }

    /// STATUS. Only `env.path` is used. Codes 50 and 51 arrive as the plugin's [`CniError`].
    pub fn status(
        &self,
        plugin_type: &str,
        stdin: &[u8],
        env: &RequestEnv,
    ) -> Result<(), CniError> {
        self.run(plugin_type, Command::Status, stdin, env).map(drop)
    }

    /// VERSION: asks in the newest version this crate speaks. A plugin that fails with
    /// "unknown CNI_COMMAND: VERSION" predates the command and is taken to support 0.1.0 only.
    pub fn version_info(&self, plugin_type: &str) -> Result<PluginInfo, CniError> {
        let stdin = serde_json::json!({ "cniVersion": Version::LATEST.as_str() }).to_string();
        let label = Command::Version.label();
        match self.run_unattributed(
            plugin_type,
            Command::Version,
            stdin.as_bytes(),
            &RequestEnv::default(),
        ) {
            Ok(stdout) => decode_version_info(&stdout)
                .map_err(|e| attribute(e, plugin_type, self.network, label)),
            Err(Failure::Plugin(e)) if e.msg == UNKNOWN_VERSION_COMMAND => Ok(PluginInfo::legacy()),
            Err(f) => Err(f.into_error(plugin_type, self.network, label)),
        }
    }

    /// Runs one command; the stdout of a successful run, or the error attributed to the plugin.
    fn run(
        &self,
        plugin_type: &str,
        command: Command,
        stdin: &[u8],
        env: &RequestEnv,
    ) -> Result<Vec<u8>, CniError> {
        self.run_unattributed(plugin_type, command, stdin, env)
            .map_err(|f| f.into_error(plugin_type, self.network, command.label()))
    }

    fn run_unattributed(
        &self,
        plugin_type: &str,
        command: Command,
        stdin: &[u8],
        env: &RequestEnv,
    ) -> Result<Vec<u8>, Failure> {
        let program = self
            .exec
            .find(plugin_type, self.cni_path)
            .map_err(Failure::Lookup)?;
        let out = self
            .exec
            .run(&program, &env.vars(command), stdin)
            .map_err(|e| Failure::Plugin(e.into()))?;
        if out.exit.success() {
            Ok(out.stdout)
        } else {
            Err(Failure::Plugin(failure_error(&out)))
        }
    }
}

/// Why a run failed, before attribution.
enum Failure {
    /// The plugin was not found or its type is refused; the message already names it.
    Lookup(CniError),
    /// Starting or talking to it failed, or it reported an error.
    Plugin(CniError),
}

impl Failure {
    fn into_error(self, plugin_type: &str, network: Option<&str>, label: &str) -> CniError {
        match self {
            Failure::Lookup(e) => e,
            Failure::Plugin(e) => attribute(e, plugin_type, network, label),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use crate::exec::fake::{output, FakeExec};
    use crate::exec::{ExecFailure, ExecOutput, ExitState};
    use serde_json::json;

    const CONF: &[u8] = br#"{"cniVersion":"1.0.0","name":"net","type":"bridge"}"#;

    fn env() -> RequestEnv {
        RequestEnv::new("c1", "/run/netns/a", "eth0").with_path(vec!["/opt/cni/bin".into()])
    }

    #[test]
    fn add_passes_config_and_env_and_returns_the_result() {
        let fake = FakeExec::answering(0, r#"{"cniVersion":"1.0.0","ips":[]}"#);
        let path = [PathBuf::from("/opt/cni/bin")];
        let r = Invoker::new(&fake, &path)
            .add("bridge", CONF, &env())
            .unwrap();
        assert_eq!(r.cni_version, Version::V1_0_0);
        assert_eq!(r.value, json!({"cniVersion":"1.0.0","ips":[]}));
        let calls = fake.calls();
        let [call] = calls.as_slice() else {
            panic!("{calls:?}")
        };
        assert_eq!(call.program, PathBuf::from("/fake/bridge"));
        assert_eq!(call.stdin, CONF);
        assert_eq!(call.var("CNI_COMMAND"), Some("ADD"));
        assert_eq!(call.var("CNI_CONTAINERID"), Some("c1"));
        assert_eq!(call.var("CNI_NETNS"), Some("/run/netns/a"));
        assert_eq!(call.var("CNI_IFNAME"), Some("eth0"));
        assert_eq!(call.var("CNI_PATH"), Some("/opt/cni/bin"));
    }

    #[test]
    fn add_without_output_is_an_attributed_decoding_error() {
        let fake = FakeExec::answering(0, "");
        let err = Invoker::new(&fake, &[])
            .add("bridge", CONF, &env())
            .unwrap_err();
        assert_eq!(err.code, Code::DECODING_FAILURE);
        assert_eq!(
            err.msg,
            "plugin type=\"bridge\" failed (add): plugin printed no result"
        );
    }

    #[test]
    fn other_commands_ignore_stdout_on_success() {
        let fake = FakeExec::answering(0, "whatever, not JSON");
        let inv = Invoker::new(&fake, &[]);
        inv.del("bridge", CONF, &env()).unwrap();
        inv.check("bridge", CONF, &env()).unwrap();
        inv.gc("bridge", CONF, &env()).unwrap();
        inv.status("bridge", CONF, &env()).unwrap();
        let commands: Vec<_> = fake
            .calls()
            .iter()
            .map(|c| c.var("CNI_COMMAND").unwrap().to_owned())
            .collect();
        assert_eq!(commands, ["DEL", "CHECK", "GC", "STATUS"]);
        // GC and STATUS are about no attachment.
        for call in fake.calls().get(2..).unwrap() {
            assert_eq!(call.var("CNI_CONTAINERID"), None);
            assert_eq!(call.var("CNI_NETNS"), None);
            assert_eq!(call.var("CNI_PATH"), Some("/opt/cni/bin"));
        }
    }

    #[test]
    fn a_plugins_error_keeps_its_code_and_gains_the_plugin_and_network() {
        let fake = FakeExec::answering(1, r#"{"code":51,"msg":"degraded","details":"d"}"#);
        let inv = Invoker::new(&fake, &[]).with_network("net");
        let err = inv.status("bridge", CONF, &env()).unwrap_err();
        assert_eq!(err.code, Code::PLUGIN_NOT_AVAILABLE_LIMITED);
        assert_eq!(
            err.msg,
            "plugin type=\"bridge\" name=\"net\" failed (status): degraded"
        );
        assert_eq!(err.details, "d");
    }

    #[test]
    fn a_signal_or_a_start_failure_is_reported() {
        let fake = FakeExec::new(|_| {
            Ok(ExecOutput {
                exit: ExitState::Signal(9),
                stdout: Vec::new(),
                stderr: None,
            })
        });
        let err = Invoker::new(&fake, &[])
            .del("bridge", CONF, &env())
            .unwrap_err();
        assert_eq!(err.code, Code::UNKNOWN);
        assert!(err
            .msg
            .ends_with("failed (del): killed by signal 9 with no error message"));

        let fake = FakeExec::new(|c| {
            Err(ExecFailure::Spawn {
                program: c.program.clone(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            })
        });
        let err = Invoker::new(&fake, &[])
            .del("bridge", CONF, &env())
            .unwrap_err();
        assert_eq!(err.code, Code::IO_FAILURE);
        assert!(
            err.msg
                .contains("failed (del): cannot execute /fake/bridge"),
            "{}",
            err.msg
        );
    }

    #[test]
    fn lookup_errors_are_not_attributed_twice_and_nothing_runs() {
        let fake = FakeExec::answering(0, "{}");
        let path = [PathBuf::from("/nonexistent")];
        let err = Invoker::new(&fake, &path)
            .add("missing-x", CONF, &env())
            .unwrap_err();
        assert_eq!(
            err.msg,
            "failed to find plugin \"missing-x\" in path [/nonexistent]"
        );
        let err = Invoker::new(&fake, &path)
            .del("../sh", CONF, &env())
            .unwrap_err();
        assert_eq!(err.code, Code::INVALID_NETWORK_CONFIG);
        assert!(fake.calls().is_empty());
    }

    #[test]
    fn version_probe_sends_latest_and_placeholders() {
        let fake =
            FakeExec::answering(0, r#"{"cniVersion":"1.1.0","supportedVersions":["1.1.0"]}"#);
        let info = Invoker::new(&fake, &[]).version_info("bridge").unwrap();
        assert_eq!(info.known_versions(), [Version::V1_1_0]);
        let call = fake.calls().pop().unwrap();
        assert_eq!(call.stdin_json(), json!({"cniVersion":"1.1.0"}));
        assert_eq!(call.var("CNI_COMMAND"), Some("VERSION"));
        assert_eq!(call.var("CNI_NETNS"), Some("dummy"));
        assert_eq!(call.var("CNI_CONTAINERID"), None);
    }

    #[test]
    fn a_plugin_older_than_version_supports_0_1_0() {
        let fake = FakeExec::answering(1, r#"{"code":100,"msg":"unknown CNI_COMMAND: VERSION"}"#);
        let info = Invoker::new(&fake, &[]).version_info("old").unwrap();
        assert_eq!(info, PluginInfo::legacy());
        // Any other failure is an error.
        let fake = FakeExec::answering(1, r#"{"code":100,"msg":"unknown CNI_COMMAND: VERSIONS"}"#);
        let err = Invoker::new(&fake, &[]).version_info("old").unwrap_err();
        assert_eq!(
            err.msg,
            "plugin type=\"old\" failed (version): unknown CNI_COMMAND: VERSIONS"
        );
        // A garbled answer is attributed.
        let fake = FakeExec::new(|_| Ok(output(0, r#"{"cniVersion":"0.3.1"}"#)));
        let err = Invoker::new(&fake, &[]).version_info("p").unwrap_err();
        assert_eq!(err.code, Code::DECODING_FAILURE);
        assert!(
            err.msg.starts_with("plugin type=\"p\" failed (version): "),
            "{}",
            err.msg
        );
    }
}
