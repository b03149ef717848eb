//! GC and STATUS: the commands about the network rather than one attachment. Both build
//! the delegate's configuration from the current `subnet.env`, as ADD would now.

use serde_json::Value;
use twill_cni::config::{GcAttachment, NetConf, LEGACY_ATTACHMENTS_KEY, VALID_ATTACHMENTS_KEY};
use twill_cni::exec::{self, RequestEnv};
use twill_cni::json::{remove_key, Obj};
use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Code};

use super::config::FlannelConf;
use super::subnet_env::{self, SubnetEnv};
use super::{delegate, saved};
use crate::common::error::{all_done, internal};

/// The delegate's configuration as ADD would build it now, with `extra` keys of the
/// request copied in.
fn delegate_bytes(
    conf: &FlannelConf,
    env: &SubnetEnv,
    args: &CmdArgs,
    extra: &[&str],
) -> Result<Vec<u8>, CniError> {
    let mut d = delegate::build(conf, env);
    let o = Obj::root(&args.config)?;
    for key in extra {
        if let Some(v) = o.get(key) {
            d.insert((*key).to_owned(), v.clone());
        }
    }
    serde_json::to_vec(&Value::Object(d))
        .map_err(|e| internal(format!("encoding the delegate configuration: {e}")))
}

/// `cni.dev/valid-attachments` (or its legacy name); none means none is valid.
fn valid_attachments(args: &CmdArgs) -> Result<Vec<GcAttachment>, CniError> {
    // flannel's `ipam` is a fragment merged into the delegate's, which needs no `type`;
    // the shared reader would take it for an IPAM plugin's and want one.
    let mut config = args.config.clone();
    if let Value::Object(map) = &mut config {
        remove_key(map, "ipam");
    }
    Ok(NetConf::from_value(&config)?
        .valid_attachments
        .unwrap_or_default())
}

/// Whether a saved configuration belongs to network `name`. The directory may be shared by
/// several flannel networks (the reference names files by container ID alone), and one
/// network's GC must not take another's files; an unreadable file is nobody's for sure,
/// and is left to the DEL of its container.
fn belongs_to(conf_bytes: &[u8], name: &str) -> bool {
    serde_json::from_slice::<Value>(conf_bytes)
        .ok()
        .and_then(|v| Obj::root(&v).ok()?.str("name").ok()?.map(|n| n == name))
        .unwrap_or(false)
}

/// GC: the delegate collects with the valid attachments (its IPAM releases the addresses
/// of the others), then the saved configurations of this network's containers that are not
/// valid are removed. They go only after the delegate succeeded: until then they are what
/// a DEL of those containers would need.
pub fn gc(args: &CmdArgs) -> Result<(), CniError> {
    let conf = FlannelConf::parse(args)?;
    let valid = valid_attachments(args)?;
    let env = subnet_env::load(&conf.subnet_file)?;
    let conf_bytes = delegate_bytes(
        &conf,
        &env,
        args,
        &[VALID_ATTACHMENTS_KEY, LEGACY_ATTACHMENTS_KEY],
    )?;
    let req = RequestEnv::from_process_env()?;
    exec::delegate_gc(&conf.delegate_type, &conf_bytes, &req, &args.path)?;
    let listed = saved::list(&conf.data_dir)
        .map_err(|e| CniError::io(format!("listing dataDir {}: {e}", conf.data_dir.display())))?;
    let mut failures = Vec::new();
    for (container_id, file) in listed {
        // Saved files are per container: one valid interface keeps the file.
        if valid.iter().any(|a| a.container_id == container_id) {
            continue;
        }
        let ours = matches!(saved::load(&file), Ok(Some(b)) if belongs_to(&b, &conf.name));
        if ours {
            if let Err(e) = saved::remove(&file) {
                failures.push(format!("removing {}: {e}", file.display()));
            }
        }
    }
    all_done(failures)
}

/// STATUS: not available (50) while `subnet.env` cannot be read — no ADD can succeed
/// then — else whatever the delegate says.
pub fn status(args: &CmdArgs) -> Result<(), CniError> {
    let conf = FlannelConf::parse(args)?;
    let env = subnet_env::load(&conf.subnet_file)
        .map_err(|e| CniError::new(Code::PLUGIN_NOT_AVAILABLE, e.msg))?;
    let conf_bytes = delegate_bytes(&conf, &env, args, &[])?;
    exec::delegate_status(
        &conf.delegate_type,
        &conf_bytes,
        &RequestEnv::from_process_env()?,
        &args.path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_belong_to_the_network_they_name() {
        assert!(belongs_to(br#"{"name":"cbr0","type":"bridge"}"#, "cbr0"));
        assert!(!belongs_to(br#"{"name":"other","type":"bridge"}"#, "cbr0"));
        assert!(!belongs_to(br#"{"type":"bridge"}"#, "cbr0"));
        assert!(!belongs_to(b"{torn", "cbr0"));
    }
}
