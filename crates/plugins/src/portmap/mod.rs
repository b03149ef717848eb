//! `portmap`: a chained plugin forwarding host ports to the container, on nftables.
//!
//! * ADD: make sure the per-family skeleton is in place (one request when it is), write
//!   this attachment's record, add its elements in one batch, flush stale UDP and SCTP
//!   conntrack entries of its host ports, and pass `prevResult` on.
//! * DEL: remove the recorded elements, the UDP and SCTP conntrack entries translated
//!   through them, and the record. Needs neither the netns nor `portMappings` (the runtime
//!   often sends neither).
//! * CHECK: the container's DNAT entries are in the maps. GC: records (and their elements)
//!   of attachments not in `cni.dev/valid-attachments` are removed. STATUS: nf_tables is
//!   reachable.
//!
//! ADD and DEL never touch a rule and never exec. `docs/plugins/portmap.md` has the
//! skeleton, the element lifecycle and the decisions per iptables-only key.

pub mod config;
pub mod elements;
mod ops;
pub mod skeleton;
pub use crate::common::record as state;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::json::Obj;
use twill_cni::result::CniResult;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Code, Version};
use twill_kernel::nft::Nftables;
use twill_kernel::IpFamily;

use crate::common::error::all_done;
use crate::common::error::{internal, kernel};
use config::PortmapConf;
use elements::Record;

/// What the binary says about itself when run by hand.
const ABOUT: &str = concat!("twill portmap v", env!("CARGO_PKG_VERSION"));

/// The `portmap` plugin.
#[derive(Debug)]
pub struct Portmap;

/// Runs `portmap` as a whole process.
pub fn main() -> ExitCode {
    skel::run(&Portmap, ABOUT, &Version::ALL)
}

fn open() -> Result<Nftables, CniError> {
    Nftables::open().map_err(kernel)
}

fn io_error(what: &str, file: &std::path::Path, e: std::io::Error) -> CniError {
    CniError::io(format!("{what} {}: {e}", file.display()))
}

/// Removes a recorded attachment's elements, the conntrack entries still translated
/// through them, then its record.
fn forget(nft: &mut Nftables, file: &std::path::Path, rec: &Record) -> Result<(), CniError> {
    ops::remove(nft, rec)?;
    flush_conntrack(rec, "removed");
    state::remove(file)
        .map(drop)
        .map_err(|e| io_error("removing the record", file, e))
}

impl Plugin for Portmap {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = PortmapConf::parse(args)?;
        let prev = args.config.get("prevResult").cloned().unwrap_or_default();
        let prev = CniResult::from_value_at(&prev, "prevResult", args.version)?;
        let file = state::path(
            &conf.data_dir,
            &conf.network,
            &args.container_id,
            &args.ifname,
        );
        let rec = Record::plan(&conf, &args.container_id, &args.ifname);
        if !conf.mappings.is_empty() && rec.dnat.is_empty() {
            return Err(internal(format!(
                "runtimeConfig.portMappings: no container address to forward to: prevResult \
                 has no IP on an interface inside a sandbox (CNI_IFNAME {:?})",
                args.ifname
            )));
        }
        let mut nft = open()?;
        // A repeated ADD of the same attachment replaces what the previous one added.
        if let Ok(Some(old)) = state::load::<Record>(&file) {
            forget(&mut nft, &file, &old)?;
        }
        if rec.dnat.is_empty() {
            return Ok(prev.convert(args.version)?.to_json());
        }
        ops::ensure(&mut nft, &rec.families())?;
        if conf.snat && conf.v4.is_some() {
            route_localnet(&conf.host_ifaces)?;
        }
        // The record is on disk before the elements exist, so no crash can leave elements
        // that DEL or GC would not find.
        state::store(&file, &rec).map_err(|e| io_error("writing the record", &file, e))?;
        if let Err(e) = ops::add(&mut nft, &rec) {
            let _ = state::remove(&file);
            return Err(e);
        }
        flush_conntrack(&rec, "new");
        Ok(prev.convert(args.version)?.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only dataDir matters: a DEL must not fail on keys an ADD would refuse.
        let data_dir = config::data_dir(&Obj::root(&args.config)?)?;
        let file = state::path(&data_dir, &args.name, &args.container_id, &args.ifname);
        let discard = |f: &std::path::Path| state::remove(f).map(drop);
        match state::load_for_del::<Record>(&file, "portmap", discard) {
            Ok(Some(rec)) => forget(&mut open()?, &file, &rec),
            Ok(None) => Ok(()),
            Err(e) => Err(io_error("reading the record", &file, e)),
        }
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = PortmapConf::parse(args)?;
        let rec = Record::plan(&conf, &args.container_id, &args.ifname);
        ops::check(&mut open()?, &rec)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = NetConf::from_value(&args.config)?;
        let data_dir = config::data_dir(&Obj::root(&args.config)?)?;
        // No list (or `null`) means no attachment is valid.
        let valid = net.valid_attachments.unwrap_or_default();
        let records = state::readable::<Record>(&data_dir, &net.name, |f| {
            let _ = state::remove(f);
        })
        .map_err(|e| io_error("listing records in", &data_dir, e))?;
        let mut nft = open()?;
        let mut failures = Vec::new();
        for (file, rec) in &records {
            if !state::is_valid(&valid, &rec.container_id, &rec.ifname) {
                if let Err(e) = forget(&mut nft, file, rec) {
                    failures.push(e.msg);
                }
            }
        }
        all_done(failures)
    }

    fn status(&self, _args: &CmdArgs) -> Result<(), CniError> {
        open()
            .map(drop)
            .map_err(|e| CniError::new(Code::PLUGIN_NOT_AVAILABLE, format!("nf_tables: {}", e.msg)))
    }
}

/// Lets 127.0.0.1-sourced connections DNAT'd to a pod leave through the host-side
/// interfaces (the kernel drops a loopback source on any other interface otherwise), as
/// the reference does. An interface that is not in this namespace is skipped.
fn route_localnet(ifaces: &[String]) -> Result<(), CniError> {
    for name in ifaces {
        let key = format!("net/ipv4/conf/{name}/route_localnet");
        match twill_kernel::sysctl::write(&key, "1") {
            Err(e) if e.is_not_found() => {}
            other => other.map_err(kernel)?,
        }
    }
    Ok(())
}

/// Deletes the conntrack entries of UDP and SCTP flows to `rec`'s host ports (`which`:
/// "new" or "removed", for the log). A flow keeps following its entry, not the ruleset:
/// one that started before a mapping existed was never DNAT'd and would never be; one
/// DNAT'd through a mapping now removed would keep reaching the old address, and whoever
/// owns it next. UDP and SCTP flows live on (a client resending from the same port); a
/// TCP connection ends, its peer answering a reset. A failure is reported on stderr only:
/// the elements are in place (or gone) either way.
fn flush_conntrack(rec: &Record, which: &str) {
    use twill_kernel::conntrack::{self, Destination, IPPROTO_SCTP, IPPROTO_UDP};
    let mut dests: Vec<Destination> = Vec::new();
    for d in &rec.dnat {
        let proto = elements::protocol_number(&d.protocol);
        if proto != IPPROTO_UDP && proto != IPPROTO_SCTP {
            continue;
        }
        let dest = Destination {
            family: IpFamily::of(&d.container_ip),
            proto,
            port: d.host_port,
        };
        if !dests.contains(&dest) {
            dests.push(dest);
        }
    }
    if let Err(e) = conntrack::delete_by_destination(&dests) {
        eprintln!("portmap: flushing conntrack entries of the {which} host ports: {e}");
    }
}
