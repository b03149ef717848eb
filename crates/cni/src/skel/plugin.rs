//! What a plugin implements, and what it is handed.

use std::path::PathBuf;

use serde_json::Value;

use crate::error::CniError;
use crate::version::Version;

use super::cni_args::CniArgs;
use super::command::Command;

/// Everything a plugin gets from the runtime, validated.
///
/// By the time a plugin sees this, the entry point has checked that the variables the command
/// requires are present, the container ID and interface name are well-formed, `CNI_ARGS`
/// parses, stdin is a JSON object of at most [`MAX_STDIN`](super::MAX_STDIN) bytes with a valid
/// `name`, and `cniVersion` is one the plugin supports and allows the command.
#[derive(Debug, Clone, PartialEq)]
pub struct CmdArgs {
    /// The command being run (never [`Command::Version`], which the entry point answers).
    pub command: Command,
    /// `CNI_CONTAINERID`; non-empty for ADD, DEL and CHECK, empty for GC and STATUS.
    pub container_id: String,
    /// `CNI_NETNS`; always set for ADD and CHECK, may be `None` for DEL, `None` for GC and
    /// STATUS.
    pub netns: Option<PathBuf>,
    /// `CNI_NETNS_OVERRIDE` is `1` or `true`: the caller passes the plugin's own namespace on
    /// purpose. The entry point does not compare namespaces itself (that needs the kernel);
    /// plugins that enter `netns` check it and honour this flag.
    pub netns_override: bool,
    /// `CNI_IFNAME`; non-empty for ADD, DEL and CHECK, empty for GC and STATUS.
    pub ifname: String,
    /// `CNI_ARGS`, parsed; empty for GC and STATUS.
    pub args: CniArgs,
    /// `CNI_PATH`, split on `:`, empty entries dropped.
    pub path: Vec<PathBuf>,
    /// stdin, exactly as received.
    pub stdin: Vec<u8>,
    /// stdin parsed; always a JSON object.
    pub config: Value,
    /// The configuration's `name`.
    pub name: String,
    /// The configuration's `cniVersion` (0.1.0 when absent).
    pub version: Version,
}

/// A CNI plugin: one method per command. The entry point ([`run`](super::run) or
/// [`dispatch`](super::dispatch())) does all validation and output; methods only do the work.
///
/// `add`, `del` and `check` have no default: every plugin must decide what they mean, and a
/// silently successful CHECK would tell a runtime that nothing is wrong when nothing was
/// checked. `gc` and `status` default to success, which is the truth for a plugin without
/// state of its own and with no dependency that can be down; plugins that keep state (IPAM
/// reservations, firewall elements) must override `gc`.
pub trait Plugin {
    /// ADD: attach, and return the result to print. When the returned object has no
    /// `cniVersion`, the configuration's version is filled in.
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError>;

    /// DEL: undo ADD, best effort; must succeed when things are already gone.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError>;

    /// CHECK: verify what ADD created. Called only for configurations at 0.4.0 or later.
    fn check(&self, args: &CmdArgs) -> Result<(), CniError>;

    /// GC: release resources of attachments not listed in `cni.dev/valid-attachments`. Called
    /// only for configurations at 1.1.0 or later. Defaults to success.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let _ = args;
        Ok(())
    }

    /// STATUS: whether ADD can succeed; fail with code 50 or 51 when not. Called only for
    /// configurations at 1.1.0 or later. Defaults to ready.
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let _ = args;
        Ok(())
    }
}
