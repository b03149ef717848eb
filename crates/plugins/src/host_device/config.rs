//! host-device's configuration: which device (`device`, `hwaddr`, `kernelpath`, `pciBusID`,
//! `runtimeConfig.deviceID`), `ipam` (optional), `dns`, and `dataDir` (where the record of
//! each attachment goes; ours, the reference keeps nothing on disk).

use std::path::PathBuf;

use twill_cni::config::NetConf;
use twill_cni::json::{FieldError, Obj};
use twill_cni::result::Dns;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::link::check_name;
use twill_kernel::MacAddr;

use crate::common::netconf;

/// Where records go when `dataDir` is not set.
pub const DEFAULT_DATA_DIR: &str = "/run/cni/host-device";

/// How the device to move is named; the first key present in this order wins, as in the
/// reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `device`: by interface name.
    Device(String),
    /// `hwaddr`: by MAC address.
    HwAddr(MacAddr),
    /// `kernelpath`: the first network interface under a `/sys/devices/…` path.
    KernelPath(PathBuf),
    /// `pciBusID` (or `runtimeConfig.deviceID`): the interface of a PCI device.
    PciBusId(String),
}

impl Selector {
    /// The key and value, for messages.
    pub fn describe(&self) -> String {
        match self {
            Selector::Device(d) => format!("device {d:?}"),
            Selector::HwAddr(m) => format!("hwaddr {m}"),
            Selector::KernelPath(p) => format!("kernelpath {:?}", p.display().to_string()),
            Selector::PciBusId(p) => format!("pciBusID {p:?}"),
        }
    }
}

/// A host-device configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDeviceConf {
    /// The whole configuration.
    pub net: NetConf,
    /// `ipam.type`, when there is an IPAM.
    pub ipam: Option<String>,
    /// `dns`, when any of its fields is set.
    pub dns: Option<Dns>,
    /// `dataDir`.
    pub data_dir: PathBuf,
}

impl HostDeviceConf {
    /// What every command reads: IPAM, DNS and the records' directory. DEL and GC need no
    /// device selector (the record and the alias say which device), so this does not read it.
    pub fn parse(args: &CmdArgs) -> Result<HostDeviceConf, CniError> {
        let net = NetConf::from_value(&args.config)?;
        let o = net.obj();
        let data_dir = data_dir(&o)?;
        Ok(HostDeviceConf {
            ipam: net.plugin.ipam.as_ref().map(|i| i.ipam_type.clone()),
            dns: netconf::dns(&net),
            data_dir,
            net,
        })
    }
}

/// The device selector of ADD. Refused with code 7 naming the key: none given, a malformed
/// name or MAC, a kernel path outside `/sys/devices/`, a PCI address that is not one path
/// component.
pub fn selector(args: &CmdArgs) -> Result<Selector, CniError> {
    let o = Obj::root(&args.config)?;
    let nonempty = |key: &str| -> Result<Option<String>, FieldError> {
        Ok(o.str(key)?.filter(|s| !s.is_empty()).map(str::to_owned))
    };
    let device_id = match o.object("runtimeConfig")? {
        Some(rc) => Obj::new(rc, "runtimeConfig")
            .str("deviceID")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        None => None,
    };
    let pci_key = if device_id.is_some() {
        "runtimeConfig.deviceID"
    } else {
        "pciBusID"
    };
    if let Some(d) = nonempty("device")? {
        check_name(&d).map_err(|why| FieldError::invalid(o.field_path("device"), why))?;
        return Ok(Selector::Device(d));
    }
    if let Some(h) = nonempty("hwaddr")? {
        let mac = h.parse::<MacAddr>().map_err(|_| {
            FieldError::invalid(
                o.field_path("hwaddr"),
                format!("{h:?} is not a MAC address"),
            )
        })?;
        return Ok(Selector::HwAddr(mac));
    }
    if let Some(k) = nonempty("kernelpath")? {
        let p = PathBuf::from(&k);
        let under_devices = p.is_absolute()
            && p.starts_with("/sys/devices/")
            && !p.components().any(|c| c == std::path::Component::ParentDir);
        if !under_devices {
            return Err(FieldError::invalid(
                o.field_path("kernelpath"),
                format!("kernel device path {k:?} must be absolute and begin with /sys/devices/"),
            )
            .into());
        }
        return Ok(Selector::KernelPath(p));
    }
    if let Some(p) = device_id.or(nonempty("pciBusID")?) {
        if p.contains('/') || p == "." || p == ".." || p.contains('\0') {
            return Err(FieldError::invalid(
                pci_key,
                format!("{p:?} is not a PCI address (domain:bus:device.function)"),
            )
            .into());
        }
        return Ok(Selector::PciBusId(p));
    }
    Err(CniError::invalid_config(
        "specify either \"device\", \"hwaddr\", \"kernelpath\" or \"pciBusID\"",
    ))
}

/// Reads `dataDir`: an absolute path; empty or absent is the default.
fn data_dir(o: &Obj<'_>) -> Result<PathBuf, FieldError> {
    match o.str("dataDir")? {
        None | Some("") => Ok(PathBuf::from(DEFAULT_DATA_DIR)),
        Some(d) if d.starts_with('/') && !d.contains('\0') => Ok(PathBuf::from(d)),
        Some(d) => Err(FieldError::invalid(
            o.field_path("dataDir"),
            format!("{d:?} is not an absolute path"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::test_args;
    use serde_json::{json, Value};
    use twill_cni::Code;

    fn args(extra: Value) -> CmdArgs {
        let c = test_args::merged(
            json!({"cniVersion": "1.0.0", "name": "n", "type": "host-device"}),
            extra,
        );
        test_args::add(c, "eth0", "")
    }

    #[test]
    fn first_key_wins_in_the_references_order() {
        let all = json!({"device": "hd0", "hwaddr": "02:00:00:00:00:01",
                         "kernelpath": "/sys/devices/virtual", "pciBusID": "0000:00:03.0"});
        assert_eq!(
            selector(&args(all)).unwrap(),
            Selector::Device("hd0".into())
        );
        let s = selector(&args(
            json!({"HWAddr": "02:00:00:00:00:01", "pciBusID": "x"}),
        ))
        .unwrap();
        assert_eq!(s, Selector::HwAddr("02:00:00:00:00:01".parse().unwrap()));
        let s = selector(&args(json!({"kernelpath": "/sys/devices/virtual"}))).unwrap();
        assert_eq!(s, Selector::KernelPath("/sys/devices/virtual".into()));
        let s = selector(&args(json!({"pciBusID": "0000:00:03.0",
                                      "runtimeConfig": {"deviceID": "0000:00:04.0"}})))
        .unwrap();
        assert_eq!(s, Selector::PciBusId("0000:00:04.0".into()));
        let s = selector(&args(json!({"device": "", "pciBusID": "0000:00:03.0"}))).unwrap();
        assert_eq!(s, Selector::PciBusId("0000:00:03.0".into()));
    }

    #[test]
    fn refusals_carry_code_and_key() {
        for (extra, code, key) in [
            (json!({}), Code::INVALID_NETWORK_CONFIG, "\"device\""),
            (
                json!({"device": "a/b"}),
                Code::INVALID_NETWORK_CONFIG,
                "device",
            ),
            (json!({"device": 7}), Code::DECODING_FAILURE, "device"),
            (
                json!({"hwaddr": "zz"}),
                Code::INVALID_NETWORK_CONFIG,
                "hwaddr",
            ),
            (
                json!({"kernelpath": "devices/virtual"}),
                Code::INVALID_NETWORK_CONFIG,
                "kernelpath",
            ),
            (
                json!({"kernelpath": "/sys/devices/../class"}),
                Code::INVALID_NETWORK_CONFIG,
                "kernelpath",
            ),
            (
                json!({"pciBusID": "../../x"}),
                Code::INVALID_NETWORK_CONFIG,
                "pciBusID",
            ),
            (
                json!({"runtimeConfig": {"deviceID": ".."}}),
                Code::INVALID_NETWORK_CONFIG,
                "runtimeConfig.deviceID",
            ),
        ] {
            let e = selector(&args(extra.clone())).unwrap_err();
            assert_eq!(e.code, code, "{extra}: {e}");
            assert!(e.msg.contains(key), "{extra}: {e}");
        }
        let e = HostDeviceConf::parse(&args(json!({"dataDir": "rel"}))).unwrap_err();
        assert!(e.msg.contains("dataDir"), "{e}");
    }
}
