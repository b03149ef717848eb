//! Configuration keys several plugins share, read the same way everywhere: `mtu`, `dns` and
//! a required `ipam`.

use twill_cni::config::NetConf;
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::Dns;
use twill_cni::CniError;

/// `mtu`: `None` (absent or 0) for the kernel's default, else 68..=65535 (the range a veth
/// accepts), refused with code 7 naming the key otherwise.
pub fn mtu(o: &Obj<'_>) -> Result<Option<u32>, CniError> {
    match o.i64("mtu")? {
        None | Some(0) => Ok(None),
        Some(m) if (68..=65535).contains(&m) => Ok(u32::try_from(m).ok()),
        Some(m) => {
            Err(FieldError::invalid("mtu", format!("{m} is not between 68 and 65535")).into())
        }
    }
}

/// `dns`, when any of its fields is set: it then replaces the IPAM's in the result, as the
/// reference plugins do, so an IPAM plugin can supply DNS when the plugin's config has none.
pub fn dns(net: &NetConf) -> Option<Dns> {
    let d = net.plugin.dns.as_ref()?;
    let dns = Dns {
        nameservers: d.nameservers.clone(),
        domain: d.domain.clone().unwrap_or_default(),
        search: d.search.clone(),
        options: d.options.clone(),
    };
    (!dns.is_empty()).then_some(dns)
}

/// `ipam.type` for a plugin whose interface is of no use without addresses: refused with
/// code 7 naming `plugin` when the configuration has no IPAM.
pub fn required_ipam(net: &NetConf, plugin: &str) -> Result<String, CniError> {
    net.plugin
        .ipam
        .as_ref()
        .map(|i| i.ipam_type.clone())
        .ok_or_else(|| {
            CniError::invalid_config(format!(
                "ipam: required: {plugin} needs addresses from an IPAM plugin (\"ipam\": {{\"type\": …}})"
            ))
        })
}
