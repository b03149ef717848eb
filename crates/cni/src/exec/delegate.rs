//! One-call delegation for meta-plugins (and simple runtimes): find the delegate in a search
//! path and run it with the real executor. The delegate gets the request environment it is
//! given — normally the meta-plugin's own, from [`RequestEnv::from_process_env`] — and the
//! full configuration, and its stderr passes through to ours. For a substitute executor, use
//! [`Invoker`] directly.

use std::path::PathBuf;

use crate::error::CniError;

use super::env::RequestEnv;
use super::invoke::Invoker;
use super::output::AddResult;
use super::real::RealExec;
use super::version_info::PluginInfo;

/// ADD to a delegate, as a meta-plugin or runtime does: `plugin_type` is found in `cni_path`
/// and run with `env` and the full configuration `stdin`, stderr passing through.
pub fn delegate_add(
    plugin_type: &str,
    stdin: &[u8],
    env: &RequestEnv,
    cni_path: &[PathBuf],
) -> Result<AddResult, CniError> {
    Invoker::new(&RealExec::default(), cni_path).add(plugin_type, stdin, env)
}

/// DEL to a delegate; see [`delegate_add`].
pub fn delegate_del(
    plugin_type: &str,
    stdin: &[u8],
    env: &RequestEnv,
    cni_path: &[PathBuf],
) -> Result<(), CniError> {
    Invoker::new(&RealExec::default(), cni_path).del(plugin_type, stdin, env)
}

/// CHECK to a delegate; see [`delegate_add`].
pub fn delegate_check(
    plugin_type: &str,
    stdin: &[u8],
    env: &RequestEnv,
    cni_path: &[PathBuf],
) -> Result<(), CniError> {
    Invoker::new(&RealExec::default(), cni_path).check(plugin_type, stdin, env)
}

/// GC to a delegate; see [`delegate_add`]. Only `env.path` is passed on.
pub fn delegate_gc(
    plugin_type: &str,
    stdin: &[u8],
    env: &RequestEnv,
    cni_path: &[PathBuf],
) -> Result<(), CniError> {
    Invoker::new(&RealExec::default(), cni_path).gc(plugin_type, stdin, env)
}

/// STATUS to a delegate; see [`delegate_add`]. Only `env.path` is passed on.
pub fn delegate_status(
    plugin_type: &str,
    stdin: &[u8],
    env: &RequestEnv,
    cni_path: &[PathBuf],
) -> Result<(), CniError> {
    Invoker::new(&RealExec::default(), cni_path).status(plugin_type, stdin, env)
}

/// VERSION to the plugin `plugin_type` found in `cni_path`.
pub fn plugin_version_info(
    plugin_type: &str,
    cni_path: &[PathBuf],
) -> Result<PluginInfo, CniError> {
    Invoker::new(&RealExec::default(), cni_path).version_info(plugin_type)
}
