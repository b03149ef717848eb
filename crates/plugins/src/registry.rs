//! The plugins this binary holds, by the name a runtime execs them under.

use std::process::ExitCode;

use crate::tuning;

/// Runs one plugin as a whole process: environment and stdin in, stdout and exit code out.
pub type PluginMain = fn() -> ExitCode;

/// Every plugin, by name.
const PLUGINS: &[(&str, PluginMain)] = &[("tuning", tuning::main)];

/// The plugin registered under `name`.
pub fn lookup(name: &str) -> Option<PluginMain> {
    PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| *run)
}

/// The names of every plugin, for usage messages.
pub fn names() -> Vec<&'static str> {
    PLUGINS.iter().map(|(n, _)| *n).collect()
}
