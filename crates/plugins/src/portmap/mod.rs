//! `portmap`: a chained plugin forwarding host ports to the container, on nftables.
//!
//! * ADD: make sure the per-family skeleton is in place (one request when it is), write
//!   this attachment's record, add its elements in one batch, flush stale UDP conntrack
//!   entries of its host ports, and pass `prevResult` on.
//! * DEL: remove the recorded elements and the record. Needs neither the netns nor
//!   `portMappings` (the runtime often sends neither).
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

/// Removes a recorded attachment's elements, then its record.
fn forget(nft: &mut Nftables, file: &std::path::Path, rec: &Record) -> Result<(), CniError> {
    ops::remove(nft, rec)?;
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
        flush_udp_conntrack(&rec);
        Ok(prev.convert(args.version)?.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only dataDir matters: a DEL must not fail on keys an ADD would refuse.
        let data_dir = config::data_dir(&Obj::root(&args.config)?)?;
        let file = state::path(&data_dir, &args.name, &args.container_id, &args.ifname);
        let rec: Record = match state::load(&file) {
            Ok(Some(rec)) => rec,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                // Records are written atomically, so this is not ours to interpret.
                eprintln!(
                    "portmap: discarding unreadable record {}: {e}",
                    file.display()
                );
                return state::remove(&file)
                    .map(drop)
                    .map_err(|e| io_error("removing", &file, e));
            }
            Err(e) => return Err(io_error("reading the record", &file, e)),
        };
        forget(&mut open()?, &file, &rec)
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
        let files = state::list(&data_dir, &net.name)
            .map_err(|e| io_error("listing records in", &data_dir, e))?;
        let mut nft = open()?;
        let mut failures = Vec::new();
        for file in files {
            let rec: Record = match state::load(&file) {
                Ok(Some(rec)) => rec,
                // A leftover temporary or torn file describes nothing that was added.
                Ok(None) | Err(_) => {
                    let _ = state::remove(&file);
                    continue;
                }
            };
            let keep = valid
                .iter()
                .any(|a| a.container_id == rec.container_id && a.ifname == rec.ifname);
            if !keep {
                if let Err(e) = forget(&mut nft, &file, &rec) {
                    failures.push(e.msg);
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(internal(failures.join("; ")))
        }
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

/// Deletes conntrack entries of UDP flows to the new host ports: a datagram sent before the
/// mapping existed created an entry that was never DNAT'd, and every later datagram of that
/// flow would follow it instead of the mapping. A failure is reported on stderr only, as
/// the mapping itself is in place (the reference does the same).
fn flush_udp_conntrack(rec: &Record) {
    for v4 in [true, false] {
        let udp_of_family = rec
            .dnat
            .iter()
            .filter(|d| d.protocol == "udp" && d.container_ip.is_ipv4() == v4);
        let Some(family_of) = udp_of_family.clone().next().map(|d| d.container_ip) else {
            continue;
        };
        let ports: Vec<u16> = udp_of_family.map(|d| d.host_port).collect();
        let udp = twill_kernel::conntrack::IPPROTO_UDP;
        if let Err(e) = twill_kernel::conntrack::delete_by_port(family_of, udp, &ports) {
            eprintln!("portmap: flushing stale UDP conntrack entries: {e}");
        }
    }
}
