//! `sbr`: a chained plugin for source-based routing. Each address of the interface gets a
//! routing table of its own and a rule sending traffic from that address to it, so replies
//! leave through the interface the address belongs to.
//!
//! * ADD: see [`routes`]; the previous result is passed on in the configuration's version.
//! * DEL: removes the rules of the interface's addresses and what is left of their tables.
//!   A gone namespace or interface is success.
//! * CHECK: the rules (and, with sbr's numbering, the tables' default routes) are there.
//!
//! `docs/plugins/sbr.md` describes keys, behaviour and where this departs from the
//! reference plugin.

pub mod config;
pub mod routes;

use std::os::fd::AsRawFd;
use std::process::ExitCode;

use serde_json::Value;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::NetNs;

use crate::common::netns;

/// What the binary says about itself when run by hand.
const ABOUT: &str = concat!("twill sbr v", env!("CARGO_PKG_VERSION"));

/// The `sbr` plugin.
#[derive(Debug)]
pub struct Sbr;

/// Runs `sbr` as a whole process.
pub fn main() -> ExitCode {
    skel::run(&Sbr, ABOUT, &Version::ALL)
}

/// Holds an exclusive lock on the namespace file while it lives: two sbr runs for
/// interfaces of one container (a runtime may attach several networks at once) would
/// otherwise pick the same free table. The reference locks the same file.
struct NsLock<'a>(&'a NetNs);

impl<'a> NsLock<'a> {
    fn take(ns: &'a NetNs) -> Result<NsLock<'a>, CniError> {
        // SAFETY: flock(2) on a descriptor `ns` owns and keeps open for the guard's life.
        let rc = unsafe { libc::flock(std::os::fd::AsFd::as_fd(ns).as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(CniError::io(format!("locking CNI_NETNS: {e}")));
        }
        Ok(NsLock(ns))
    }
}

impl Drop for NsLock<'_> {
    fn drop(&mut self) {
        // SAFETY: as in `take`; closing the descriptor would release the lock too.
        unsafe { libc::flock(std::os::fd::AsFd::as_fd(self.0).as_raw_fd(), libc::LOCK_UN) };
    }
}

impl Plugin for Sbr {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = config::SbrConf::parse(&args.config)?;
        let prev = config::prev_result(args)?;
        let ips = config::source_ips(&prev.to_latest(), &args.ifname)?;
        let ns = netns::open(args)?;
        let (mut nl, ()) = netns::enter(&ns, netns::path(args)?, || ())?;
        let _lock = NsLock::take(&ns)?;
        routes::add(&mut nl, &args.ifname, &ips, &conf)?;
        Ok(prev.convert(args.version)?.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only `table` matters; a DEL must clean up after any ADD.
        let fixed = config::del_table(&args.config);
        let Some(path) = args.netns.as_deref() else {
            return Ok(());
        };
        let Some((ns, mut nl)) = netns::open_for_del(path)? else {
            return Ok(());
        };
        let _lock = NsLock::take(&ns)?;
        routes::del(&mut nl, &args.ifname, fixed)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::SbrConf::parse(&args.config)?;
        let prev = config::prev_result(args)?;
        let ips = config::source_ips(&prev.to_latest(), &args.ifname)?;
        let ns = netns::open(args)?;
        let (mut nl, ()) = netns::enter(&ns, netns::path(args)?, || ())?;
        routes::check(&mut nl, &ips, &conf)
    }
}
