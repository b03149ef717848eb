//! `ipMasq` for bridge and ptp, on nftables: traffic from a pod's address leaving its
//! subnets (multicast aside) is masqueraded. Per pod, ADD and DEL change one verdict-map
//! element per address and never a rule: the network's table, chains and maps are a
//! [`skeleton`] installed once and verified with one request. DEL works from the
//! per-attachment [`state`] record alone (no netns, no `prevResult`). No exec anywhere.
//! Design and decisions: docs/plugins/bridge.md, "IP masquerade".

pub mod skeleton;
pub mod state;

use std::net::IpAddr;
use std::path::Path;

use twill_cni::config::NetConf;
use twill_cni::json::Obj;
use twill_cni::result::IpConfig;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::nft::{Batch, Element, Nftables, Value, Verdict};
use twill_kernel::IpPrefix;

use super::error::{internal, kernel};
use super::lingering::Lingering;
use super::record;
use crate::common::error::all_done;
use state::Record;

/// Element comments are capped by the kernel (`NFT_USERDATA_MAXLEN`); the container ID is
/// shown for operators, never read back.
const MAX_COMMENT: usize = 120;

/// `ipMasq`, with `ipMasqBackend` validated: `nftables` (or unset) is what twill does;
/// `iptables` is refused (code 2) rather than silently given nftables rules an operator
/// would look for in iptables; anything else is an invalid configuration (code 7).
pub fn enabled(o: &Obj<'_>) -> Result<bool, CniError> {
    match o.get("ipMasqBackend") {
        None => {}
        Some(serde_json::Value::String(s)) if s.is_empty() || s == "nftables" => {}
        Some(serde_json::Value::String(s)) if s == "iptables" => {
            return Err(CniError::unsupported_field(
                "ipMasqBackend",
                "\"iptables\" (twill masquerades with nftables only; use \"nftables\" or \
                 leave it unset)",
            ))
        }
        Some(v) => {
            return Err(CniError::invalid_config(format!(
                "ipMasqBackend: {v}: must be \"nftables\" or \"iptables\""
            )))
        }
    }
    Ok(o.bool("ipMasq")?.unwrap_or(false))
}

fn io_error(what: &str, file: &Path, e: std::io::Error) -> CniError {
    CniError::io(format!("ipMasq: {what} {}: {e}", file.display()))
}

fn open() -> Result<Nftables, CniError> {
    Nftables::open().map_err(kernel)
}

fn element(addr: IpAddr) -> Element {
    Element::new(&[Value::ip(addr)])
}

/// One `(map, element)` per recorded address.
fn elements(rec: &Record) -> Vec<(twill_kernel::nft::SetRef, Element)> {
    let comment: String = rec.container_id.chars().take(MAX_COMMENT).collect();
    rec.addresses
        .iter()
        .map(|&a| {
            let el = element(a)
                .to_verdict(Verdict::Jump(skeleton::MASQ_CHAIN.to_owned()))
                .comment(&comment);
            (skeleton::map_of(&rec.table, a), el)
        })
        .collect()
}

/// Removes `rec`'s elements (one batch; one by one when some are gone, a missing element
/// or table being no error), then the record.
fn forget(nft: &mut Nftables, file: &Path, rec: &Record) -> Result<(), CniError> {
    let els = elements(rec);
    let mut batch = Batch::new();
    for (set, el) in &els {
        batch.delete_elements(set, std::slice::from_ref(el));
    }
    match nft.apply(&batch) {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {
            for (set, el) in &els {
                let mut one = Batch::new();
                one.delete_elements(set, std::slice::from_ref(el));
                match nft.apply(&one) {
                    Err(e) if !e.is_not_found() => return Err(kernel(e)),
                    _ => {}
                }
            }
        }
        Err(e) => return Err(kernel(e)),
    }
    state::remove(file).map_err(|e| io_error("removing the record", file, e))
}

/// ADD: the network's skeleton in place (one request when it is), the record on disk,
/// then one element per pod address, in one batch. On failure nothing of this attachment
/// is left: the record goes with the elements that were refused.
pub fn add(
    network: &str,
    container_id: &str,
    ifname: &str,
    ips: &[IpConfig],
) -> Result<(), CniError> {
    let mut subnets = Vec::new();
    for ip in ips {
        let a = ip.address;
        let p = IpPrefix::new(a.addr(), a.prefix_len()).map_err(|e| {
            internal(format!(
                "ipMasq: address {}/{}: {e}",
                a.addr(),
                a.prefix_len()
            ))
        })?;
        subnets.push(p);
    }
    let table = skeleton::table_name(network, &subnets);
    let file = state::path(network, container_id, ifname);
    let mut nft = open()?;
    // A repeated ADD of the same attachment replaces what the previous one added.
    if let Ok(Some(old)) = state::load(&file) {
        forget(&mut nft, &file, &old)?;
    }
    nft.ensure(&skeleton::skeleton(&table, network, &subnets))
        .map_err(kernel)?;
    let rec = Record {
        container_id: container_id.to_owned(),
        ifname: ifname.to_owned(),
        table,
        addresses: subnets.iter().map(IpPrefix::addr).collect(),
    };
    // On disk before the elements exist, so no crash leaves elements DEL and GC miss.
    state::store(&file, &rec).map_err(|e| io_error("writing the record", &file, e))?;
    let mut batch = Batch::new();
    for (set, el) in elements(&rec) {
        batch.add_elements(&set, &[el]);
    }
    if let Err(e) = nft.apply(&batch) {
        let _ = state::remove(&file);
        return Err(kernel(e));
    }
    Ok(())
}

/// DEL: the recorded elements and the record; nothing recorded is nothing to do (and
/// costs no netlink socket).
/// The socket that deleted is handed to `lingering`, whose caller closes it.
pub fn del(args: &CmdArgs, lingering: &mut Lingering) -> Result<(), CniError> {
    let file = state::path(&args.name, &args.container_id, &args.ifname);
    match record::load_for_del::<Record>(&file, "ipMasq", state::remove) {
        Ok(Some(rec)) => {
            let mut nft = open()?;
            let forgotten = forget(&mut nft, &file, &rec);
            lingering.keep(nft);
            forgotten
        }
        Ok(None) => Ok(()),
        Err(e) => Err(io_error("reading the record", &file, e)),
    }
}

/// CHECK: the record exists, covers the addresses of `ips`, and each element is in its
/// map jumping to the masquerade chain.
pub fn check(args: &CmdArgs, ips: &[IpConfig]) -> Result<(), CniError> {
    let file = state::path(&args.name, &args.container_id, &args.ifname);
    let rec = state::load(&file)
        .map_err(|e| io_error("reading the record", &file, e))?
        .ok_or_else(|| internal(format!("ipMasq: no record {}", file.display())))?;
    if let Some(ip) = ips
        .iter()
        .find(|ip| !rec.addresses.contains(&ip.address.addr()))
    {
        return Err(internal(format!(
            "ipMasq: address {} is not masqueraded (record {})",
            ip.address.addr(),
            file.display()
        )));
    }
    let mut nft = open()?;
    for (set, el) in elements(&rec) {
        let held = nft.get_element(&set, &el).map_err(kernel)?;
        if held.map(|h| h.data) != Some(el.data) {
            let addr = rec.addresses.iter().find(|a| element(**a).key == el.key);
            return Err(internal(format!(
                "ipMasq: {} -> jump {} missing from map \"{}\"",
                addr.map_or_else(String::new, IpAddr::to_string),
                skeleton::MASQ_CHAIN,
                set.label()
            )));
        }
    }
    Ok(())
}

/// GC: records (and their elements) of attachments not in `cni.dev/valid-attachments`.
pub fn gc(args: &CmdArgs) -> Result<(), CniError> {
    let net = NetConf::from_value(&args.config)?;
    // No list (or `null`) means no attachment is valid.
    let valid = net.valid_attachments.unwrap_or_default();
    let dir = Path::new(state::DIR);
    let records = record::readable::<Record>(dir, &net.name, |f| {
        let _ = state::remove(f);
    })
    .map_err(|e| io_error("listing", dir, e))?;
    if records.is_empty() {
        return Ok(());
    }
    let mut nft = open()?;
    let mut failures = Vec::new();
    for (file, rec) in &records {
        if !record::is_valid(&valid, &rec.container_id, &rec.ifname) {
            if let Err(e) = forget(&mut nft, file, rec) {
                failures.push(e.msg);
            }
        }
    }
    all_done(failures)
}
