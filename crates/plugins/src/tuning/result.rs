//! The previous result tuning requires, and the result it passes on.

use serde_json::Value;
use twill_cni::json::Obj;
use twill_cni::result::CniResult;
use twill_cni::skel::CmdArgs;
use twill_cni::{CniError, Version};

use super::config::TuningConf;

/// `prevResult`, which tuning requires for ADD and CHECK, read in its own version (the
/// configuration's when it has none).
///
/// # Errors
///
/// Code 7 when it is missing; the result parser's codes (6, 1) when it is malformed.
pub fn prev_result(args: &CmdArgs) -> Result<CniResult, CniError> {
    let o = Obj::root(&args.config)?;
    let Some(prev) = o.get("prevResult") else {
        return Err(CniError::invalid_config(
            "prevResult: required: tuning is a chained plugin and must follow a plugin that creates the interface",
        ));
    };
    CniResult::from_value_at(prev, &o.field_path("prevResult"), args.version)
}

/// `prev` in the configuration's version, with the MAC (and MTU, where the result already
/// carries one) of the interface named `ifname` set to what tuning configured.
pub fn output(
    prev: CniResult,
    conf: &TuningConf,
    ifname: &str,
    version: Version,
) -> Result<Value, CniError> {
    let touches_result = conf.mac.is_some() || conf.mtu.is_some();
    let out = if touches_result {
        let mut latest = prev.into_latest();
        for iface in latest.interfaces.iter_mut().filter(|i| i.name == ifname) {
            if let Some(mac) = conf.mac {
                iface.mac = mac.to_string();
            }
            if let Some(mtu) = conf.mtu.filter(|_| iface.mtu != 0) {
                iface.mtu = mtu;
            }
        }
        CniResult::from_latest(latest, version)?
    } else {
        prev.convert(version)?
    };
    Ok(out.to_json())
}
