//! One module per group of subcommands.

pub mod cnitool;
pub mod gc;
pub mod ls;
pub mod net;
pub mod overlay;
pub mod plugins;
