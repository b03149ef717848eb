//! Running a conflist as a runtime does — ADD in order with prevResult threaded, DEL in
//! reverse with the final result — while timing each whole operation and keeping the largest
//! resident set any plugin of it reached.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use twill_cni::config::{Injection, NetConfList};

use crate::spawn;

/// One chain operation's cost.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Wall time of all the plugin execs of the operation.
    pub elapsed: Duration,
    /// The largest peak RSS among them, in KiB.
    pub max_rss_kib: u64,
}

/// A chain failure, naming the plugin and the command.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The plugin could not be started.
    #[error(transparent)]
    Spawn(#[from] spawn::SpawnError),
    /// It failed; its stdout is the CNI error.
    #[error("{plugin} {command} failed: {stdout}")]
    Failed {
        /// Plugin type.
        plugin: String,
        /// ADD, DEL or VERSION.
        command: &'static str,
        /// What it printed.
        stdout: String,
    },
    /// It printed something that is not JSON.
    #[error("{plugin} printed no JSON result: {reason}")]
    BadResult {
        /// Plugin type.
        plugin: String,
        /// The parser's message.
        reason: String,
    },
}

/// A conflist bound to one plugin directory.
#[derive(Debug)]
pub struct Chain {
    list: NetConfList,
    cni_path: PathBuf,
    metrics: PathBuf,
}

/// One attachment: where and who.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    /// CNI_CONTAINERID.
    pub container_id: &'a str,
    /// CNI_NETNS.
    pub netns: &'a Path,
    /// CNI_IFNAME.
    pub ifname: &'a str,
    /// The runtime's capability arguments for this attachment (port mappings…).
    pub capability_args: &'a Map<String, Value>,
}

impl Chain {
    /// A chain of `list` run from the plugins in `cni_path`.
    /// `metrics` is a scratch file the launcher reports each exec's cost through.
    pub fn new(list: NetConfList, cni_path: PathBuf, metrics: PathBuf) -> Chain {
        Chain {
            list,
            cni_path,
            metrics,
        }
    }

    fn env(&self, command: &str, at: &Attachment<'_>) -> Vec<(&'static str, String)> {
        vec![
            ("CNI_COMMAND", command.to_owned()),
            ("CNI_CONTAINERID", at.container_id.to_owned()),
            ("CNI_NETNS", at.netns.display().to_string()),
            ("CNI_IFNAME", at.ifname.to_owned()),
            ("CNI_PATH", self.cni_path.display().to_string()),
        ]
    }

    /// ADD through every plugin; returns the final result and the cost.
    pub fn add(&self, at: &Attachment<'_>) -> Result<(Value, Cost), ChainError> {
        let mut cost = Cost {
            elapsed: Duration::ZERO,
            max_rss_kib: 0,
        };
        let mut prev: Option<Value> = None;
        for plugin in &self.list.plugins {
            let mut injection = Injection::new(&self.list.name, self.list.cni_version)
                .with_capability_args(at.capability_args);
            if let Some(p) = &prev {
                injection = injection.with_prev_result(p);
            }
            let stdin = injection.stdin(plugin);
            let program = self.cni_path.join(&plugin.plugin_type);
            let run = spawn::run(&program, &self.env("ADD", at), &stdin, &self.metrics)?;
            cost.elapsed += run.elapsed;
            cost.max_rss_kib = cost.max_rss_kib.max(run.max_rss_kib);
            if !run.status.success() {
                return Err(ChainError::Failed {
                    plugin: plugin.plugin_type.clone(),
                    command: "ADD",
                    stdout: String::from_utf8_lossy(&run.stdout).into_owned(),
                });
            }
            let value = serde_json::from_slice(&run.stdout).map_err(|e| ChainError::BadResult {
                plugin: plugin.plugin_type.clone(),
                reason: e.to_string(),
            })?;
            prev = Some(value);
        }
        Ok((prev.unwrap_or(Value::Null), cost))
    }

    /// Every plugin of the chain started once, answering VERSION: what process start alone
    /// costs under each ADD or DEL of this chain, whatever the plugins then do.
    pub fn exec_floor(&self) -> Result<Duration, ChainError> {
        let mut total = Duration::ZERO;
        let env = [("CNI_COMMAND", "VERSION".to_owned())];
        let stdin = format!("{{\"cniVersion\":\"{}\"}}", self.list.cni_version);
        for plugin in &self.list.plugins {
            let program = self.cni_path.join(&plugin.plugin_type);
            let run = spawn::run(&program, &env, stdin.as_bytes(), &self.metrics)?;
            if !run.status.success() {
                return Err(ChainError::Failed {
                    plugin: plugin.plugin_type.clone(),
                    command: "VERSION",
                    stdout: String::from_utf8_lossy(&run.stdout).into_owned(),
                });
            }
            total += run.elapsed;
        }
        Ok(total)
    }

    /// DEL through every plugin in reverse, with the final ADD result as prevResult.
    pub fn del(&self, at: &Attachment<'_>, result: &Value) -> Result<Cost, ChainError> {
        let mut cost = Cost {
            elapsed: Duration::ZERO,
            max_rss_kib: 0,
        };
        for plugin in self.list.plugins.iter().rev() {
            let mut injection = Injection::new(&self.list.name, self.list.cni_version)
                .with_capability_args(at.capability_args);
            if !result.is_null() {
                injection = injection.with_prev_result(result);
            }
            let stdin = injection.stdin(plugin);
            let program = self.cni_path.join(&plugin.plugin_type);
            let run = spawn::run(&program, &self.env("DEL", at), &stdin, &self.metrics)?;
            cost.elapsed += run.elapsed;
            cost.max_rss_kib = cost.max_rss_kib.max(run.max_rss_kib);
            if !run.status.success() {
                return Err(ChainError::Failed {
                    plugin: plugin.plugin_type.clone(),
                    command: "DEL",
                    stdout: String::from_utf8_lossy(&run.stdout).into_owned(),
                });
            }
        }
        Ok(cost)
    }
}
