//! The plugin entry point: environment and stdin in, one command run, stdout and an exit code
//! out.
//!
//! A plugin implements [`Plugin`] and calls [`run`] from `main`. Everything between the
//! process and the plugin's methods happens here and is the same for every plugin:
//!
//! * [`command`]: the `CNI_COMMAND` values and which variables each requires (shared with
//!   the exec side).
//! * [`mod@env`]: reading and validating the `CNI_*` variables.
//! * [`cni_args`]: `CNI_ARGS` pairs (unknown keys never fail).
//! * [`stdin`]: the size-capped read and the `name`/`cniVersion` checks.
//! * [`mod@dispatch`]: the order of checks and the call; testable without a process.
//! * [`output`]: error objects, the VERSION answer, the about text.
//!
//! The behaviour, code by code, and where it departs from the Go library, is written down in
//! `docs/protocol/entry-point.md`.

pub mod cni_args;
pub use crate::command;
pub mod dispatch;
pub mod env;
pub mod output;
pub mod plugin;
pub mod stdin;

use std::process::ExitCode;

pub use cni_args::{CniArgs, IpArg};
pub use command::Command;
pub use dispatch::{dispatch, PluginInfo};
pub use env::EnvLookup;
pub use plugin::{CmdArgs, Plugin};
pub use stdin::MAX_STDIN;

use crate::version::Version;

/// The `main` of a plugin: reads the real environment, stdin, stdout and stderr, runs the
/// command and returns the exit code (0, or 1 after printing an error object).
///
/// The environment is only read, never changed.
pub fn run(plugin: &dyn Plugin, about: &str, supported: &[Version]) -> ExitCode {
    let env = |name: &str| std::env::var_os(name);
    let info = PluginInfo { about, supported };
    let code = dispatch(
        plugin,
        &info,
        &env,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
