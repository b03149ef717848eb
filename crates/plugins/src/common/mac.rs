//! MAC addresses from configuration: parsed and checked the same way by every plugin that
//! takes one, so the messages naming the source are the same everywhere.

use twill_cni::config::NetConf;
use twill_cni::json::FieldError;
use twill_cni::CniError;
use twill_kernel::net::MacError;
use twill_kernel::MacAddr;

/// Parses `text` as an Ethernet address that must be unicast and non-zero; refused with
/// code 7 naming `path` otherwise.
pub fn parse(path: &str, text: &str) -> Result<MacAddr, CniError> {
    let mac: MacAddr = text
        .parse()
        .map_err(|e: MacError| FieldError::invalid(path, e.to_string()))?;
    unicast(path, mac)
}

/// `mac` itself when it is a non-zero unicast address, else code 7 naming `path`.
pub fn unicast(path: &str, mac: MacAddr) -> Result<MacAddr, CniError> {
    match not_unicast(mac) {
        Some(why) => Err(FieldError::invalid(path, why).into()),
        None => Ok(mac),
    }
}

/// Why `mac` cannot be an interface's own address (multicast, broadcast or all zeros), or
/// `None` when it can.
pub fn not_unicast(mac: MacAddr) -> Option<String> {
    (mac.0[0] & 0x01 != 0 || mac.0 == [0; 6])
        .then(|| format!("MAC {mac}: must be a non-zero unicast address"))
}

/// `runtimeConfig.mac`, when set and not empty.
pub fn runtime_config(net: &NetConf) -> Option<String> {
    net.plugin
        .runtime_config
        .as_ref()
        .and_then(|r| r.mac.clone())
        .filter(|m| !m.is_empty())
}

/// `args.cni.mac`, when set and not empty.
pub fn args_cni(net: &NetConf) -> Option<String> {
    net.plugin
        .args
        .as_ref()
        .and_then(|a| a.cni.as_ref())
        .and_then(|c| c.mac.clone())
        .filter(|m| !m.is_empty())
}
