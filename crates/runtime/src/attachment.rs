//! One attachment of a container to a network: what libcni calls a `RuntimeConf`.

use std::path::PathBuf;

use serde_json::{Map, Value};
use twill_cni::config::GcAttachment;
use twill_cni::exec::RequestEnv;
use twill_cni::skel::env::{validate_container_id, validate_ifname};

use crate::error::RuntimeError;

/// Everything about one attachment except the network configuration: the container, its
/// network namespace, the interface, `CNI_ARGS` and the capability arguments.
///
/// ```
/// use serde_json::json;
/// use twill_runtime::Attachment;
///
/// let caps = json!({"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]});
/// let att = Attachment::new("c0ffee", "/run/netns/pod1", "eth0")
///     .with_args(vec![("IgnoreUnknown".into(), "1".into())])
///     .with_capability_args(caps.as_object().cloned().unwrap_or_default());
/// assert_eq!(att.cni_args(), "IgnoreUnknown=1");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attachment {
    /// `CNI_CONTAINERID`: must match `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$` (it names the cache file).
    pub container_id: String,
    /// `CNI_NETNS`: the namespace's path; may be empty on DEL.
    pub netns: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// `CNI_ARGS` as key/value pairs, in order.
    pub args: Vec<(String, String)>,
    /// The runtime's capability arguments (`portMappings`, `bandwidth`, …); each plugin gets
    /// those it declares in `capabilities` as its `runtimeConfig`.
    pub capability_args: Map<String, Value>,
}

impl Attachment {
    /// An attachment without `CNI_ARGS` or capability arguments.
    pub fn new(
        container_id: impl Into<String>,
        netns: impl Into<String>,
        ifname: impl Into<String>,
    ) -> Attachment {
        Attachment {
            container_id: container_id.into(),
            netns: netns.into(),
            ifname: ifname.into(),
            ..Attachment::default()
        }
    }

    /// With `CNI_ARGS` pairs.
    pub fn with_args(mut self, args: Vec<(String, String)>) -> Attachment {
        self.args = args;
        self
    }

    /// With capability arguments.
    pub fn with_capability_args(mut self, args: Map<String, Value>) -> Attachment {
        self.capability_args = args;
        self
    }

    /// `CNI_ARGS` as sent: `K=V;K2=V2`.
    pub fn cni_args(&self) -> String {
        self.args
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The key GC compares against its valid attachments.
    pub fn gc_key(&self) -> GcAttachment {
        GcAttachment::new(&self.container_id, &self.ifname)
    }

    /// Checks the container ID and interface name. Both become part of the cache file's name,
    /// so this runs before every operation, not only ADD as in libcni: a DEL with
    /// `../../etc` as its container ID must not reach the file system.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        validate_container_id(&self.container_id)?;
        validate_ifname(&self.ifname)?;
        Ok(())
    }

    /// The request environment for this attachment, with plugins' search path.
    pub(crate) fn request_env(&self, cni_path: &[PathBuf]) -> RequestEnv {
        RequestEnv::new(&self.container_id, &self.netns, &self.ifname)
            .with_args(self.cni_args())
            .with_path(cni_path.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twill_cni::Code;

    #[test]
    fn path_like_ids_and_names_are_refused() {
        let bad_id = Attachment::new("../x", "", "eth0").validate().unwrap_err();
        assert_eq!(bad_id.code(), Code::INVALID_ENVIRONMENT);
        let empty = Attachment::new("", "", "eth0").validate().unwrap_err();
        assert_eq!(empty.code(), Code::UNKNOWN_CONTAINER);
        let bad_if = Attachment::new("c1", "", "a/b").validate().unwrap_err();
        assert_eq!(bad_if.code(), Code::INVALID_ENVIRONMENT);
        assert!(Attachment::new("c1", "", "eth0").validate().is_ok());
    }

    #[test]
    fn request_env_carries_everything() {
        let att = Attachment::new("c1", "/run/netns/x", "eth0")
            .with_args(vec![("A".into(), "1".into()), ("B".into(), "2".into())]);
        let env = att.request_env(&["/opt/cni/bin".into()]);
        assert_eq!(env.args, "A=1;B=2");
        assert_eq!(env.netns, "/run/netns/x");
        assert_eq!(env.path, vec![PathBuf::from("/opt/cni/bin")]);
    }
}
