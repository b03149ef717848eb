//! Finding the device a configuration names, in the plugin's own namespace (the host).
//!
//! `kernelpath` and `pciBusID` go through sysfs, which shows the interfaces of the namespace
//! that mounted it: on a real host that is the plugin's; a plugin run in another namespace
//! without its own sysfs mount sees the initial namespace's names there, and a name found
//! that way must still be a link here (checked), as in the reference.

use std::fs;
use std::path::{Path, PathBuf};

use twill_cni::CniError;
use twill_kernel::{Link, LinkId, Netlink};

use super::config::Selector;
use crate::common::error::{internal, kernel};

/// Where sysfs lists PCI devices.
const SYS_BUS_PCI: &str = "/sys/bus/pci/devices";

/// The host link `sel` names. Not found is code 999 (as the reference), naming the key.
pub fn host_link(host: &mut Netlink, sel: &Selector) -> Result<Link, CniError> {
    let what = sel.describe();
    let fail = |why: String| internal(format!("failed to find host device ({what}): {why}"));
    match sel {
        Selector::Device(name) => host
            .link_get(LinkId::Name(name))
            .map_err(|e| fail(e.to_string())),
        Selector::HwAddr(mac) => host
            .link_list()
            .map_err(kernel)?
            .into_iter()
            .find(|l| l.mac == Some(*mac))
            .ok_or_else(|| fail("no link has this address".into())),
        Selector::KernelPath(path) => {
            let dir = path.join("net");
            let names = sorted_names(&dir)
                .map_err(|e| fail(format!("failed to find network devices at {dir:?}: {e}")))?;
            let links = host.link_list().map_err(kernel)?;
            names
                .iter()
                .find_map(|n| links.iter().find(|l| &l.name == n).cloned())
                .ok_or_else(|| fail(format!("no interface of this namespace under {dir:?}")))
        }
        Selector::PciBusId(addr) => {
            let dir = pci_net_dir(addr).map_err(fail)?;
            let names = sorted_names(&dir)
                .map_err(|e| fail(format!("failed to read net directory {dir:?}: {e}")))?;
            let first = names
                .first()
                .ok_or_else(|| fail(format!("no device name under {dir:?}")))?;
            host.link_get(LinkId::Name(first))
                .map_err(|e| fail(e.to_string()))
        }
    }
}

/// The `net` directory of PCI device `addr`: directly under it, or under its virtio device.
fn pci_net_dir(addr: &str) -> Result<PathBuf, String> {
    let dev = Path::new(SYS_BUS_PCI).join(addr);
    if let Err(e) = fs::symlink_metadata(&dev) {
        return Err(format!("no PCI device {dev:?}: {e}"));
    }
    let direct = dev.join("net");
    if direct.is_dir() {
        return Ok(direct);
    }
    let virtio = sorted_names(&dev)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with("virtio"))
        .map(|n| dev.join(n).join("net"))
        .find(|p| p.is_dir());
    virtio.ok_or_else(|| format!("no net directory under pci device {addr}"))
}

/// The entries of `dir`, by name.
fn sorted_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}
