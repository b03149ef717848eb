//! `host-device`: moves an existing host interface into the container, renamed to
//! `CNI_IFNAME`, and gives it back on DEL under its original name — also after the
//! container's namespace is gone, when the kernel has handed the device back to the initial
//! namespace. Keys, behaviour and deviations: docs/plugins/host-device.md.

mod add;
mod check;
pub mod config;
mod find;
mod moving;
mod saved;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::{LinkId, Netlink};

use self::config::HostDeviceConf;
use self::saved::Saved;
use crate::common::error::{all_done, internal, kernel};
use crate::common::{ipam, netns, record};

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &HostDevice,
        "twill host-device: moves a host interface into the container's network namespace",
        &Version::ALL,
    )
}

struct HostDevice;

impl Plugin for HostDevice {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        add::add(args)
    }

    /// The reservation first (it needs no namespace), then the device back to the host.
    /// Succeeds when the namespace, the device or the record are gone, and on repeats.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = HostDeviceConf::parse(args)?;
        let released = match &conf.ipam {
            Some(t) => ipam::del(t, args),
            None => Ok(()),
        };
        let file = saved::file(&conf.data_dir, args);
        let rec = saved::load(&file)?;
        let mut host = Netlink::open().map_err(kernel)?;
        let settled = give_back(args, &mut host, rec.as_ref())?;
        if settled {
            saved::remove(&file)?;
        }
        released
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        check::check(args)
    }

    /// Records of attachments not in the valid list: their namespaces may be assumed gone,
    /// so a device the kernel handed back is renamed to its host name and the record
    /// removed. Then the IPAM's state.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = HostDeviceConf::parse(args)?;
        let valid = conf.net.valid_attachments.clone().unwrap_or_default();
        let records = record::readable::<Saved>(&conf.data_dir, &conf.net.name, |f| {
            let _ = record::remove(f);
        })
        .map_err(|e| {
            internal(format!(
                "listing records in {}: {e}",
                conf.data_dir.display()
            ))
        })?;
        let mut host = Netlink::open().map_err(kernel)?;
        let mut failures = Vec::new();
        for (file, rec) in &records {
            if record::is_valid(&valid, &rec.container_id, &rec.ifname) {
                continue;
            }
            let done = moving::recover_returned(&mut host, rec).and_then(|_| saved::remove(file));
            if let Err(e) = done {
                failures.push(e.msg);
            }
        }
        if let Some(t) = &conf.ipam {
            if let Err(e) = ipam::gc(t, args) {
                failures.push(e.msg);
            }
        }
        all_done(failures)
    }

    /// Ready when the IPAM is (no IPAM: always).
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = HostDeviceConf::parse(args)?;
        match &conf.ipam {
            Some(t) => ipam::status(t, args),
            None => Ok(()),
        }
    }
}

/// Gives the device back: from the container when it is still there, else (namespace gone,
/// or no `CNI_NETNS`) the one the kernel returned to this namespace, as the record says.
/// Returns whether the attachment is settled: false only when there was no `CNI_NETNS` and
/// no device came back, so the record stays for a DEL that can reach the container (or for
/// GC).
fn give_back(args: &CmdArgs, host: &mut Netlink, rec: Option<&Saved>) -> Result<bool, CniError> {
    if let Some(path) = args.netns.as_deref() {
        if let Some((_ns, mut cnl)) = netns::open_for_del(path)? {
            match cnl.link_get(LinkId::Name(&args.ifname)) {
                Ok(link) => {
                    let original = match rec {
                        Some(r) => r.original.clone(),
                        None => cnl
                            .link_alias(LinkId::Index(link.index))
                            .map_err(kernel)?
                            .ok_or_else(|| {
                                internal(format!(
                                    "{}: no record and no alias: its host name is unknown",
                                    args.ifname
                                ))
                            })?,
                    };
                    moving::move_out(&mut cnl, link.index, &original)?;
                    if let Some(r) = rec {
                        moving::restore_on_host(host, r);
                    }
                    return Ok(true);
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(kernel(e)),
            }
        }
    }
    match rec {
        Some(r) => {
            let found = moving::recover_returned(host, r)?;
            Ok(found || args.netns.is_some())
        }
        None => Ok(true),
    }
}
