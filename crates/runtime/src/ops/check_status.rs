//! CHECK, STATUS, validation and VERSION.

use std::collections::BTreeSet;

use twill_cni::exec::{Command, Exec, PluginInfo, RequestEnv};
use twill_cni::Version;

use crate::attachment::Attachment;
use crate::error::RuntimeError;
use crate::network::NetworkList;
use crate::ops::add_del::with_cached_args;
use crate::runtime::{Cached, Runtime};

impl<E: Exec> Runtime<E> {
    /// CHECK: every plugin in order with the cached result as `prevResult`.
    ///
    /// # Errors
    ///
    /// Code 1 for a list older than 0.4.0 (checked before `disableCheck`, as libcni does);
    /// nothing runs and `Ok` when the list sets `disableCheck`; code 3 when there is no
    /// readable cached result (CHECK without the ADD's result cannot check anything); the
    /// first plugin's error otherwise.
    pub fn check(&self, net: &NetworkList, att: &Attachment) -> Result<(), RuntimeError> {
        let version = net.version();
        if !version.supports_check() {
            return Err(RuntimeError::UnsupportedCommand {
                version,
                command: Command::Check,
            });
        }
        if net.conf.disable_check {
            return Ok(());
        }
        att.validate()?;
        let _held = self
            .locks
            .attachment(net.name(), &att.container_id, &att.ifname)?;
        let cached = Cached::read(&self.cache, net, &att.container_id, &att.ifname);
        let Some(prev) = cached.result.as_ref() else {
            return Err(RuntimeError::NoCachedResult {
                network: net.name().to_owned(),
                container_id: att.container_id.clone(),
                ifname: att.ifname.clone(),
                reason: cached.problem.unwrap_or_else(|| "no cache file".to_owned()),
            });
        };
        let att = with_cached_args(att, cached.record.as_ref());
        let invoker = self.invoker(net);
        let env = att.request_env(&self.cni_path);
        for plugin in net.plugins() {
            let inj = net
                .conf
                .injection()
                .with_capability_args(&att.capability_args)
                .with_prev_result(prev);
            invoker.check(&plugin.plugin_type, &inj.stdin(plugin), &env)?;
        }
        Ok(())
    }

    /// STATUS: every plugin in order; the first that is not ready answers (codes 50 and 51
    /// arrive as the plugin's error). Lists older than 1.1.0 are code 1.
    pub fn status(&self, net: &NetworkList) -> Result<(), RuntimeError> {
        let version = net.version();
        if !version.supports_gc_and_status() {
            return Err(RuntimeError::UnsupportedCommand {
                version,
                command: Command::Status,
            });
        }
        let invoker = self.invoker(net);
        let env = RequestEnv::default().with_path(self.cni_path.clone());
        for plugin in net.plugins() {
            let stdin = net.conf.injection().stdin(plugin);
            invoker.status(&plugin.plugin_type, &stdin, &env)?;
        }
        Ok(())
    }

    /// Validates a list: asks every plugin for its versions (VERSION), requires each to
    /// support the list's version, and returns the union of the capabilities the plugins
    /// declare, sorted. Every plugin is asked; all failures are reported together.
    pub fn validate(&self, net: &NetworkList) -> Result<Vec<String>, RuntimeError> {
        let version = net.version();
        let mut errors = Vec::new();
        let mut caps = BTreeSet::new();
        for plugin in net.plugins() {
            if let Err(e) = self.check_plugin_version(&plugin.plugin_type, version) {
                errors.push(e);
            }
            caps.extend(
                plugin
                    .capabilities
                    .iter()
                    .filter(|(_, on)| **on)
                    .map(|(c, _)| c.clone()),
            );
        }
        RuntimeError::from_many(errors)?;
        Ok(caps.into_iter().collect())
    }

    /// The versions plugin `plugin_type` speaks (VERSION).
    pub fn version_info(&self, plugin_type: &str) -> Result<PluginInfo, RuntimeError> {
        Ok(twill_cni::exec::Invoker::new(&self.exec, &self.cni_path).version_info(plugin_type)?)
    }

    fn check_plugin_version(
        &self,
        plugin_type: &str,
        version: Version,
    ) -> Result<(), RuntimeError> {
        if self.version_info(plugin_type)?.supports(version) {
            Ok(())
        } else {
            Err(RuntimeError::VersionUnsupported {
                plugin_type: plugin_type.to_owned(),
                version,
            })
        }
    }
}
