//! GC of a network list, and reading the cache for a network.

use std::collections::BTreeSet;

use twill_cni::config::GcAttachment;
use twill_cni::exec::{Exec, RawResult, RequestEnv};

use crate::attachment::Attachment;
use crate::cache::{CachedAttachment, Listing};
use crate::error::RuntimeError;
use crate::network::NetworkList;
use crate::runtime::{Cached, Runtime};

impl<E: Exec> Runtime<E> {
    /// GC: releases what the network holds for attachments not in `valid`.
    ///
    /// 1. Every cached attachment of the network not in `valid` is DELeted with what its
    ///    cache recorded (namespace, `CNI_ARGS`, capability arguments, result), and its cache
    ///    file removed.
    /// 2. From spec 1.1.0 on, every plugin gets GC, in order, with `valid` as
    ///    `cni.dev/valid-attachments` (and the legacy `cni.dev/attachments`).
    ///
    /// Every step is attempted; the failures come back together. Nothing happens when the
    /// list sets `disableGC`. The network's lock is held exclusively throughout, so no ADD or
    /// DEL of this network runs beside it. An empty `valid` (cnitool's `gc`) releases every
    /// attachment of the network.
    ///
    /// Cache files that cannot be read are left alone: they do not say reliably which
    /// attachment they are (see [`crate::cache::Cache::list`]); they are listed by
    /// [`Runtime::cached_attachments`] for a caller to report or remove.
    pub fn gc(&self, net: &NetworkList, valid: &[GcAttachment]) -> Result<(), RuntimeError> {
        self.gc_with(net, |_| valid.to_vec())
    }

    /// GC with the valid list decided under the network's exclusive lock, by `decide`, from
    /// the network's cached attachments as they are then. A caller that keeps what is
    /// cached (a CLI that releases only attachments whose namespace is gone) must decide
    /// here: a valid list taken before the lock misses an ADD that completes in between,
    /// and GC would then release that new attachment.
    pub fn gc_with<F>(&self, net: &NetworkList, decide: F) -> Result<(), RuntimeError>
    where
        F: FnOnce(&[CachedAttachment]) -> Vec<GcAttachment>,
    {
        if net.conf.disable_gc {
            return Ok(());
        }
        let _held = self.locks.network_exclusive(net.name())?;
        let cached = self.cache.list(Some(net.name()))?.attachments;
        let valid = decide(&cached);
        let keep: BTreeSet<&GcAttachment> = valid.iter().collect();
        let mut errors = Vec::new();
        for stale in &cached {
            let r = &stale.record;
            let key = GcAttachment::new(&r.container_id, &r.ifname);
            if keep.contains(&key) {
                continue;
            }
            if let Err(e) = self.del_stale(net, stale) {
                errors.push(e);
            }
        }
        if net.version().supports_gc_and_status() {
            let invoker = self.invoker(net);
            let env = RequestEnv::default().with_path(self.cni_path.clone());
            for plugin in net.plugins() {
                let stdin = net
                    .conf
                    .injection()
                    .with_valid_attachments(&valid)
                    .stdin(plugin);
                if let Err(e) = invoker.gc(&plugin.plugin_type, &stdin, &env) {
                    errors.push(e.into());
                }
            }
        }
        RuntimeError::from_many(errors)
    }

    /// The synthesized DEL of one stale attachment, with its cached namespace and arguments.
    fn del_stale(&self, net: &NetworkList, stale: &CachedAttachment) -> Result<(), RuntimeError> {
        let r = &stale.record;
        let att = Attachment {
            container_id: r.container_id.clone(),
            netns: r.netns.clone(),
            ifname: r.ifname.clone(),
            args: r.cni_args.clone(),
            capability_args: r.capability_args.clone(),
        };
        // A record written by hand or by another tool could name a path-like container.
        att.validate()?;
        let cached = Cached::read(&self.cache, net, &att.container_id, &att.ifname);
        self.del_unlocked(net, &att, cached.result.as_ref())
            .map_err(|e| match e {
                RuntimeError::Cni(c) => RuntimeError::Cni(twill_cni::CniError {
                    msg: format!(
                        "failed to delete stale attachment {} {}: {}",
                        att.container_id, att.ifname, c.msg
                    ),
                    ..c
                }),
                other => other,
            })
    }

    /// The cached attachments of one network, or of all (`None`), with unreadable files.
    pub fn cached_attachments(&self, network: Option<&str>) -> Result<Listing, RuntimeError> {
        self.cache.list(network)
    }

    /// The cached result of an attachment in the list's version; `None` when there is none.
    ///
    /// # Errors
    ///
    /// A cache file that exists but cannot be read, or whose result does not convert.
    pub fn cached_result(
        &self,
        net: &NetworkList,
        att: &Attachment,
    ) -> Result<Option<RawResult>, RuntimeError> {
        att.validate()?;
        let cached = Cached::read(&self.cache, net, &att.container_id, &att.ifname);
        if let Some(problem) = cached.problem {
            return Err(cache_problem(net, att, problem));
        }
        Ok(cached.result.map(|value| RawResult {
            cni_version: net.version(),
            value,
        }))
    }

    /// The cached configuration bytes of an attachment and the attachment as cached (its
    /// namespace, `CNI_ARGS` and capability arguments); `None` when there is no record.
    pub fn cached_config(
        &self,
        net: &NetworkList,
        att: &Attachment,
    ) -> Result<Option<(Vec<u8>, Attachment)>, RuntimeError> {
        att.validate()?;
        let cached = Cached::read(&self.cache, net, &att.container_id, &att.ifname);
        match (cached.record, cached.problem) {
            (Some(r), _) => {
                let as_cached = Attachment {
                    container_id: r.container_id,
                    netns: r.netns,
                    ifname: r.ifname,
                    args: r.cni_args,
                    capability_args: r.capability_args,
                };
                Ok(Some((r.config, as_cached)))
            }
            (None, Some(problem)) => Err(cache_problem(net, att, problem)),
            (None, None) => Ok(None),
        }
    }
}

fn cache_problem(net: &NetworkList, att: &Attachment, reason: String) -> RuntimeError {
    RuntimeError::NoCachedResult {
        network: net.name().to_owned(),
        container_id: att.container_id.clone(),
        ifname: att.ifname.clone(),
        reason,
    }
}
