//! `tuning`: a chained plugin that sets network sysctls and link attributes (MAC, MTU,
//! promiscuous and all-multicast mode, transmit queue length) of the container's interface,
//! and passes the previous result on.
//!
//! * ADD: check everything, back up the link attributes it will change
//!   ([`backup`]), write the sysctls, change the link ([`apply`]); on any failure undo what
//!   was done. The result is `prevResult` in the configuration's version, with the
//!   interface's MAC (and MTU, when the result carries one) updated.
//! * DEL: restore the backed-up attributes and remove the backup. Sysctls are not restored
//!   (the namespace goes with the container). Gone namespace, link or backup: success.
//! * CHECK: every configured value is what the kernel reports.
//!
//! `docs/plugins/tuning.md` describes keys, behaviour and where this departs from the
//! reference plugin.

pub mod allowlist;
pub mod apply;
pub mod backup;
pub mod config;
mod result;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;
use twill_cni::json::Obj;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Code, Version};
use twill_kernel::{LinkId, NetNs, Netlink};

use apply::{changes, kernel_error};
use backup::Backup;
use config::TuningConf;

/// What the binary says about itself when run by hand.
const ABOUT: &str = concat!("twill tuning v", env!("CARGO_PKG_VERSION"));

/// The `tuning` plugin.
#[derive(Debug)]
pub struct Tuning;

/// Runs `tuning` as a whole process.
pub fn main() -> ExitCode {
    skel::run(&Tuning, ABOUT, &Version::ALL)
}

impl Plugin for Tuning {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = TuningConf::parse(args)?;
        allowlist::enforce(&conf.sysctl)?;
        let prev = result::prev_result(args)?;
        let ns = open_netns(args)?;
        let link_changes = changes(&conf);

        // The backup is on disk before the link changes, so a crash in between still
        // lets DEL put things back.
        let mut link = None;
        if !link_changes.is_empty() {
            let mut nl = netlink(&ns)?;
            let now = tunables(&mut nl, &args.ifname)?;
            let file = backup::path(&conf.data_dir, &args.container_id, &args.ifname);
            let (older, existed) = match Backup::load(&file) {
                Ok(Some(Ok(b))) => (b, true),
                Ok(Some(Err(_))) | Ok(None) | Err(_) => (Backup::default(), false),
            };
            let saved = Backup::of(&now, &conf).under(older);
            saved
                .store(&file)
                .map_err(|e| CniError::io(format!("writing the backup {}: {e}", file.display())))?;
            link = Some((nl, saved, file, existed));
        }

        let undo_backup = |link: &Option<(Netlink, Backup, std::path::PathBuf, bool)>| {
            if let Some((_, _, file, false)) = link {
                let _ = backup::remove(file);
            }
        };
        let previous = apply::write_sysctls(&ns, &conf.sysctl).inspect_err(|_| {
            undo_backup(&link);
        })?;
        if let Some((nl, saved, _, _)) = &mut link {
            if let Err(e) = apply::change_link(nl, &args.ifname, &link_changes, saved) {
                apply::restore_sysctls(&ns, &previous);
                undo_backup(&link);
                return Err(e);
            }
        }
        result::output(prev, &conf, &args.ifname, args.version)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only dataDir matters here: a DEL must not fail on keys an ADD would refuse.
        let data_dir = config::data_dir(&Obj::root(&args.config)?)?;
        let file = backup::path(&data_dir, &args.container_id, &args.ifname);
        let saved = match Backup::load(&file) {
            Ok(None) => return Ok(()),
            Ok(Some(Ok(b))) => b,
            Ok(Some(Err(why))) => {
                eprintln!(
                    "tuning: discarding unreadable backup {}: {why}",
                    file.display()
                );
                return remove_backup(&file);
            }
            Err(e) => {
                return Err(CniError::io(format!(
                    "reading the backup {}: {e}",
                    file.display()
                )))
            }
        };
        let Some(mut nl) = netlink_if_present(args)? else {
            return remove_backup(&file);
        };
        match nl.link_tunables(LinkId::Name(&args.ifname)) {
            Err(e) if e.is_not_found() => return remove_backup(&file),
            Err(e) => return Err(kernel_error(None, &e)),
            Ok(_) => {}
        }
        let failed = apply::restore_link(&mut nl, &args.ifname, &apply::restores(&saved));
        if !failed.is_empty() {
            // The backup stays, so a repeated DEL tries again.
            return Err(CniError::new(Code::INTERNAL, failed.join("; ")));
        }
        remove_backup(&file)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = TuningConf::parse(args)?;
        result::prev_result(args)?;
        let ns = open_netns(args)?;
        apply::check_sysctls(&ns, &conf.sysctl)?;
        let mut nl = netlink(&ns)?;
        let now = tunables(&mut nl, &args.ifname)?;
        let differs = |key: &str, want: String, have: String| {
            CniError::new(
                Code::INTERNAL,
                format!(
                    "{key}: configured value for {:?} is {want}, current value is {have}",
                    args.ifname
                ),
            )
        };
        let show_mac = |m: Option<twill_kernel::MacAddr>| m.map(|m| m.to_string());
        if conf.mac.is_some() && conf.mac != now.mac {
            let (want, have) = (show_mac(conf.mac), show_mac(now.mac));
            return Err(differs(
                "mac",
                want.unwrap_or_default(),
                have.unwrap_or_default(),
            ));
        }
        if conf.promisc && !now.promisc {
            return Err(differs("promisc", "true".into(), "false".into()));
        }
        if let Some(mtu) = conf.mtu.filter(|&m| m != now.mtu) {
            return Err(differs("mtu", mtu.to_string(), now.mtu.to_string()));
        }
        if let Some(a) = conf.allmulti.filter(|&a| a != now.allmulti) {
            return Err(differs("allmulti", a.to_string(), now.allmulti.to_string()));
        }
        if let Some(t) = conf.txqlen.filter(|&t| t != now.txqlen) {
            return Err(differs("txQLen", t.to_string(), now.txqlen.to_string()));
        }
        Ok(())
    }
}

/// Opens `CNI_NETNS` (always set for ADD and CHECK); failure is code 8.
fn open_netns(args: &CmdArgs) -> Result<NetNs, CniError> {
    let path = args.netns.as_deref().unwrap_or(Path::new(""));
    NetNs::open(path).map_err(|e| {
        CniError::new(
            Code::INVALID_NETNS,
            format!("CNI_NETNS {}: {e}", path.display()),
        )
    })
}

fn netlink(ns: &NetNs) -> Result<Netlink, CniError> {
    ns.netlink()
        .map_err(|e| CniError::new(Code::INVALID_NETNS, format!("CNI_NETNS: {e}")))
}

fn tunables(nl: &mut Netlink, ifname: &str) -> Result<twill_kernel::link::LinkTunables, CniError> {
    nl.link_tunables(LinkId::Name(ifname)).map_err(|e| {
        if e.is_not_found() {
            CniError::new(
                Code::INTERNAL,
                format!("CNI_IFNAME {ifname:?}: no such interface in CNI_NETNS"),
            )
        } else {
            kernel_error(None, &e)
        }
    })
}

/// For DEL: a socket in `CNI_NETNS`, or `None` when there is no namespace any more (unset,
/// deleted, or a leftover file that is no longer a namespace).
fn netlink_if_present(args: &CmdArgs) -> Result<Option<Netlink>, CniError> {
    let Some(path) = args.netns.as_deref().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    let gone = |e: &twill_kernel::Error| {
        e.is_not_found() || e.errno().map(|n| n.raw()) == Some(libc::EINVAL)
    };
    let ns = match NetNs::open(path) {
        Ok(ns) => ns,
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(kernel_error(None, &e)),
    };
    match ns.netlink() {
        Ok(nl) => Ok(Some(nl)),
        Err(e) if gone(&e) => Ok(None),
        Err(e) => Err(kernel_error(None, &e)),
    }
}

fn remove_backup(file: &Path) -> Result<(), CniError> {
    backup::remove(file)
        .map_err(|e| CniError::io(format!("removing the backup {}: {e}", file.display())))
}
