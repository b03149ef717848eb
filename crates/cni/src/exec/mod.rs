//! The runtime side of the protocol: finding plugins, executing them, reading their answers,
//! and delegating, as runtimes and meta-plugins do.
//!
//! * [`find`]: a plugin `type` is a bare file name, looked up in the CNI_PATH directories.
//! * [`env`](mod@env): the `CNI_*` variables of a request, only those the command needs.
//! * [`process`]: the [`Exec`] seam (run a binary with env + stdin, get stdout and exit);
//!   [`real`]: its implementation with child processes, no shell.
//! * [`output`]: a result on success, the plugin's error object (or a wrapped failure) on
//!   failure.
//! * [`invoke`]: [`Invoker`] puts them together per command; [`delegate`]: the one-call
//!   forms for meta-plugins.
//! * [`version_info`]: the VERSION answer, legacy plugins included.
//! * [`chain`]: a minimal network-list runner built on the above.
//!
//! Results stay `serde_json::Value`s here ([`AddResult`]); typed results are layered on in
//! [`output::parse_result_value`] alone. The decisions (codes, environment, retries, limits)
//! are recorded in `docs/protocol/exec.md`.

pub mod chain;
pub use crate::command;
pub mod delegate;
pub mod env;
pub mod find;
pub mod invoke;
pub mod output;
pub mod process;
pub mod real;
pub mod version_info;

#[cfg(test)]
mod fake;

pub use command::Command;
pub use delegate::{
    delegate_add, delegate_check, delegate_del, delegate_gc, delegate_status, plugin_version_info,
};
pub use env::{split_cni_path, EnvVars, RequestEnv};
pub use find::{find_plugin, validate_type};
pub use invoke::Invoker;
pub use output::{parse_result_value, AddResult, RawResult};
pub use process::{Exec, ExecFailure, ExecOutput, ExitState};
pub use real::{RealExec, StderrMode};
pub use version_info::PluginInfo;
