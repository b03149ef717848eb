//! `firewall`: a chained plugin accepting a pod's forwarded traffic (its own, and replies to
//! it) and applying `ingressPolicy` between bridges, on nftables.
//!
//! * ADD: make sure the table is in place (one request when it is), write this
//!   attachment's record, take its bridge reference (policy other than `open`), add one
//!   element per address, and pass `prevResult` on.
//! * DEL: remove the recorded elements, the bridge reference (and the bridge's elements
//!   with the last one) and the record. Needs neither the netns nor `prevResult`.
//! * CHECK: the table's skeleton, the container's elements and its bridge's elements are
//!   in place. GC: records (and their elements) of attachments not in
//!   `cni.dev/valid-attachments` are removed and the bridges reconciled. STATUS: nf_tables is
//!   reachable.
//!
//! ADD and DEL never touch a rule and never exec. `docs/plugins/firewall.md` has the table,
//! the element lifecycle and the decision per key.

pub mod bridges;
pub mod config;
pub mod elements;
pub mod skeleton;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::json::Obj;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Code, Version};
use twill_kernel::nft::{Element, Nftables, Skeleton, Value as NftValue};

use crate::common::error::all_done;
use crate::common::error::{internal, kernel};
use crate::common::record;
use config::{FirewallConf, Policy};
use elements::Record;

/// What the binary says about itself when run by hand.
const ABOUT: &str = concat!("twill firewall v", env!("CARGO_PKG_VERSION"));

/// The versions the reference firewall speaks from (it needs `prevResult` and CHECK),
/// through the newest.
const VERSIONS: [Version; 3] = [Version::V0_4_0, Version::V1_0_0, Version::V1_1_0];

/// The `firewall` plugin.
#[derive(Debug)]
pub struct Firewall;

/// Runs `firewall` as a whole process.
pub fn main() -> ExitCode {
    skel::run(&Firewall, ABOUT, &VERSIONS)
}

fn open() -> Result<Nftables, CniError> {
    Nftables::open().map_err(kernel)
}

fn io_error(what: &str, file: &Path, e: std::io::Error) -> CniError {
    CniError::io(format!("firewall: {what} {}: {e}", file.display()))
}

/// Removes a recorded attachment's elements and bridge reference, then its record.
fn forget(
    nft: &mut Nftables,
    data_dir: &Path,
    network: &str,
    file: &Path,
    rec: &Record,
) -> Result<(), CniError> {
    elements::remove(nft, &rec.elements())?;
    bridges::leave(nft, data_dir, network, rec)?;
    record::remove(file)
        .map(drop)
        .map_err(|e| io_error("removing the record", file, e))
}

/// The skeletons `rec`'s elements need, the table's first.
fn skeletons(conf: &FirewallConf, rec: &Record) -> Vec<Skeleton> {
    let mut out = vec![skeleton::inet(&conf.table, &conf.admin_chain)];
    if rec.port.is_some() && rec.policy == Policy::Isolated {
        out.push(skeleton::bridge(&conf.table));
    }
    out
}

/// The elements and bridge reference of a recorded attachment, all or nothing.
fn attach(nft: &mut Nftables, conf: &FirewallConf, rec: &Record) -> Result<(), CniError> {
    bridges::join(nft, &conf.data_dir, &conf.network, rec)?;
    elements::add(nft, &rec.elements()).inspect_err(|_| {
        let _ = bridges::leave(nft, &conf.data_dir, &conf.network, rec);
    })
}

impl Plugin for Firewall {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = FirewallConf::parse(args)?;
        let file = record::path(
            &conf.data_dir,
            &conf.network,
            &args.container_id,
            &args.ifname,
        );
        let rec = Record::plan(&conf, &args.container_id, &args.ifname);
        let mut nft = open()?;
        // A repeated ADD of the same attachment replaces what the previous one added.
        if let Ok(Some(old)) = record::load::<Record>(&file) {
            forget(&mut nft, &conf.data_dir, &conf.network, &file, &old)?;
        }
        for s in skeletons(&conf, &rec) {
            nft.ensure(&s).map_err(kernel)?;
        }
        // The record is on disk before the elements exist, so no crash can leave elements
        // that DEL or GC would not find.
        record::store(&file, &rec).map_err(|e| io_error("writing the record", &file, e))?;
        if let Err(e) = attach(&mut nft, &conf, &rec) {
            let _ = record::remove(&file);
            return Err(e);
        }
        Ok(conf.prev.clone().convert(args.version)?.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only dataDir matters: a DEL must not fail on keys an ADD would refuse.
        let data_dir = config::data_dir(&Obj::root(&args.config)?)?;
        let file = record::path(&data_dir, &args.name, &args.container_id, &args.ifname);
        let discard = |f: &Path| record::remove(f).map(drop);
        match record::load_for_del::<Record>(&file, "firewall", discard) {
            Ok(Some(rec)) => forget(&mut open()?, &data_dir, &args.name, &file, &rec),
            Ok(None) => Ok(()),
            Err(e) => Err(io_error("reading the record", &file, e)),
        }
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = FirewallConf::parse(args)?;
        let file = record::path(
            &conf.data_dir,
            &conf.network,
            &args.container_id,
            &args.ifname,
        );
        let rec: Record = record::load(&file)
            .map_err(|e| io_error("reading the record", &file, e))?
            .ok_or_else(|| internal(format!("firewall: no record {}", file.display())))?;
        let want = Record::plan(&conf, &args.container_id, &args.ifname);
        let (had, asks) = (
            (&rec.table, rec.policy, &rec.bridge, &rec.port),
            (&want.table, want.policy, &want.bridge, &want.port),
        );
        if had != asks {
            return Err(internal(format!(
                "firewall: the attachment was added with ingressPolicy {:?} on bridge {:?} in \
                 table {:?}; the configuration now asks for {:?} on {:?} in {:?}",
                rec.policy.as_str(),
                rec.bridge.as_deref().unwrap_or_default(),
                rec.table,
                want.policy.as_str(),
                want.bridge.as_deref().unwrap_or_default(),
                want.table
            )));
        }
        if let Some(a) = want.addresses.iter().find(|a| !rec.addresses.contains(a)) {
            return Err(internal(format!(
                "firewall: address {a} is not recorded ({})",
                file.display()
            )));
        }
        let mut nft = open()?;
        for s in skeletons(&conf, &rec) {
            let version = Element::new(&[NftValue::U32(s.version())]);
            let what = format!(
                "skeleton version {:08x} of {}",
                s.version(),
                s.table.label()
            );
            elements::expect(&mut nft, &s.marker_set(), &version, &what)?;
        }
        for (set, el) in want.elements() {
            elements::expect(&mut nft, &set, &el, &want.describe(&set, &el))?;
        }
        bridges::check(&mut nft, &conf.data_dir, &conf.network, &rec)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = NetConf::from_value(&args.config)?;
        let data_dir = config::data_dir(&Obj::root(&args.config)?)?;
        // No list (or `null`) means no attachment is valid.
        let valid = net.valid_attachments.unwrap_or_default();
        let records = record::readable::<Record>(&data_dir, &net.name, |f| {
            let _ = record::remove(f);
        })
        .map_err(|e| io_error("listing records in", &data_dir, e))?;
        if records.is_empty() {
            return Ok(());
        }
        let mut nft = open()?;
        let mut failures = Vec::new();
        for (file, rec) in &records {
            if !record::is_valid(&valid, &rec.container_id, &rec.ifname) {
                if let Err(e) = forget(&mut nft, &data_dir, &net.name, file, rec) {
                    failures.push(e.msg);
                }
            }
        }
        let tables: BTreeSet<&String> = records.iter().map(|(_, rec)| &rec.table).collect();
        for table in tables {
            if let Err(e) = bridges::reconcile(&mut nft, &data_dir, table) {
                failures.push(e.msg);
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
