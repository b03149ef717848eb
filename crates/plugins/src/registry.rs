//! The plugins this binary holds: name → entry point (each calls `twill_cni::skel::run`).

use std::process::ExitCode;

/// A plugin's `main`.
pub type Entry = fn() -> ExitCode;

/// Every plugin, by the name runtimes exec it as.
const PLUGINS: &[(&str, Entry)] = &[
    ("bridge", crate::bridge::main),
    ("loopback", crate::loopback::main),
];

/// The entry point of plugin `name`.
pub fn find(name: &str) -> Option<Entry> {
    PLUGINS.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}

/// The names of all plugins, for the usage message.
pub fn names() -> Vec<&'static str> {
    PLUGINS.iter().map(|(n, _)| *n).collect()
}
