//! ADD and DEL of a network list.

use serde_json::Value;
use twill_cni::exec::{Exec, RawResult};
use twill_cni::Version;

use crate::attachment::Attachment;
use crate::cache::CacheRecord;
use crate::error::RuntimeError;
use crate::network::NetworkList;
use crate::runtime::{convert_result, AddOptions, Cached, Runtime};

impl<E: Exec> Runtime<E> {
    /// ADD: runs every plugin in order, each given the previous plugin's result (converted to
    /// the list's version) as `prevResult` and the capability arguments it declares as
    /// `runtimeConfig`; stops at the first error. On success the final result (in the list's
    /// version) is cached and returned.
    ///
    /// ```no_run
    /// use twill_runtime::{Attachment, ConfDir, Runtime};
    ///
    /// let net = ConfDir::new("/etc/cni/net.d").find("mynet")?.network;
    /// let runtime = Runtime::with_path(vec!["/opt/cni/bin".into()]);
    /// let att = Attachment::new("c0ffee", "/run/netns/pod1", "eth0");
    /// let result = runtime.add(&net, &att)?;
    /// println!("{}", result.value);
    /// runtime.del(&net, &att)?;
    /// # Ok::<(), twill_runtime::RuntimeError>(())
    /// ```
    pub fn add(&self, net: &NetworkList, att: &Attachment) -> Result<RawResult, RuntimeError> {
        self.add_with(net, att, AddOptions::default())
    }

    /// ADD with options; see [`Runtime::add`] and [`AddOptions`].
    pub fn add_with(
        &self,
        net: &NetworkList,
        att: &Attachment,
        options: AddOptions,
    ) -> Result<RawResult, RuntimeError> {
        att.validate()?;
        let _held = self
            .locks
            .attachment(net.name(), &att.container_id, &att.ifname)?;
        let added = self.add_unlocked(net, att);
        match added {
            Err(add) if options.rollback => match self.del_unlocked(net, att, None) {
                Ok(()) => Err(add),
                Err(del) => Err(RuntimeError::RollbackFailed {
                    add: Box::new(add),
                    del: Box::new(del),
                }),
            },
            other => other,
        }
    }

    fn add_unlocked(&self, net: &NetworkList, att: &Attachment) -> Result<RawResult, RuntimeError> {
        let invoker = self.invoker(net);
        let env = att.request_env(&self.cni_path);
        let version = net.version();
        let mut prev: Option<Value> = None;
        for plugin in net.plugins() {
            let mut inj = net
                .conf
                .injection()
                .with_capability_args(&att.capability_args);
            if let Some(p) = &prev {
                inj = inj.with_prev_result(p);
            }
            let out = invoker.add(&plugin.plugin_type, &inj.stdin(plugin), &env)?;
            // The next plugin reads prevResult in the list's version whatever this one
            // printed; libcni passes it on as printed.
            prev = Some(convert_result(&out.value, version).map_err(|e| {
                let what = format!("plugin type={:?} name={:?}", plugin.plugin_type, net.name());
                annotate(e, &what)
            })?);
        }
        let value = prev.ok_or_else(|| RuntimeError::NoPlugins {
            name: net.name().to_owned(),
            dir: Default::default(),
        })?;
        self.cache.write(&CacheRecord {
            container_id: att.container_id.clone(),
            config: net.bytes.clone(),
            ifname: att.ifname.clone(),
            network_name: net.name().to_owned(),
            netns: att.netns.clone(),
            cni_args: att.args.clone(),
            capability_args: att.capability_args.clone(),
            result: Some(value.clone()),
        })?;
        Ok(RawResult {
            cni_version: version,
            value,
        })
    }

    /// DEL: runs every plugin in reverse order, from spec 0.4.0 on with the cached result as
    /// `prevResult`; stops at the first error (the cache file stays, so DEL can be retried);
    /// removes the cache file on success.
    ///
    /// When `att` carries no capability arguments (or no `CNI_ARGS`), the cached ones are
    /// used, so portmap and friends can undo what they set up (libcni sends none and leaks).
    /// A cache file that cannot be read never blocks the DEL: it runs without `prevResult`
    /// and the file is removed.
    pub fn del(&self, net: &NetworkList, att: &Attachment) -> Result<(), RuntimeError> {
        att.validate()?;
        let _held = self
            .locks
            .attachment(net.name(), &att.container_id, &att.ifname)?;
        let cached = Cached::read(&self.cache, net, &att.container_id, &att.ifname);
        let att = with_cached_args(att, cached.record.as_ref());
        self.del_unlocked(net, &att, cached.result.as_ref())
    }

    /// DEL without taking locks; the caller holds them (ADD's rollback, GC).
    pub(crate) fn del_unlocked(
        &self,
        net: &NetworkList,
        att: &Attachment,
        cached_result: Option<&Value>,
    ) -> Result<(), RuntimeError> {
        let invoker = self.invoker(net);
        let env = att.request_env(&self.cni_path);
        // DEL has taken a prevResult since 0.4.0; older plugins would not expect one.
        let prev = cached_result.filter(|_| net.version() >= Version::V0_4_0);
        for plugin in net.plugins().iter().rev() {
            let mut inj = net
                .conf
                .injection()
                .with_capability_args(&att.capability_args);
            if let Some(p) = prev {
                inj = inj.with_prev_result(p);
            }
            invoker.del(&plugin.plugin_type, &inj.stdin(plugin), &env)?;
        }
        self.cache
            .remove(net.name(), &att.container_id, &att.ifname)
    }
}

/// The attachment with the cached `CNI_ARGS` and capability arguments filling in what the
/// caller left empty.
pub(crate) fn with_cached_args(att: &Attachment, record: Option<&CacheRecord>) -> Attachment {
    let mut att = att.clone();
    if let Some(r) = record {
        if att.capability_args.is_empty() {
            att.capability_args = r.capability_args.clone();
        }
        if att.args.is_empty() {
            att.args = r.cni_args.clone();
        }
    }
    att
}

/// Names the plugin in a conversion error.
fn annotate(e: RuntimeError, what: &str) -> RuntimeError {
    match e {
        RuntimeError::Cni(c) => RuntimeError::Cni(twill_cni::CniError {
            msg: format!("{what} failed (add): result: {}", c.msg),
            ..c
        }),
        other => other,
    }
}
