//! The kernel side of ADD, DEL and CHECK: element batches, the error a held host port
//! gives, tolerant removal, and the per-element CHECK.

use twill_cni::{CniError, Code};
use twill_kernel::nft::{Batch, Data, Family, Nftables, SetRef};

use super::elements::Record;
use super::skeleton::skeleton;
use crate::common::error::kernel;

/// Installs (or verifies, one request each) the skeleton of every family in `families`.
pub fn ensure(nft: &mut Nftables, families: &[Family]) -> Result<(), CniError> {
    for &family in families {
        nft.ensure(&skeleton(family)).map_err(kernel)?;
    }
    Ok(())
}

/// Adds `rec`'s elements in one batch. A host port someone holds refuses the whole batch
/// (nothing of it is added); the error names the port, protocol and holder.
pub fn add(nft: &mut Nftables, rec: &Record) -> Result<(), CniError> {
    match nft.apply(&rec.add_batch()) {
        Ok(()) => Ok(()),
        Err(e) if e.is_exists() => Err(conflict(nft, rec).unwrap_or_else(|| kernel(e))),
        Err(e) => Err(kernel(e)),
    }
}

/// Finds which of `rec`'s host ports is held, and by whom (the element's comment).
fn conflict(nft: &mut Nftables, rec: &Record) -> Option<CniError> {
    let dnats = rec.dnat.iter();
    for (d, (set, el)) in dnats.zip(rec.elements()) {
        let Ok(Some(held)) = nft.get_element(&set, &el) else {
            continue;
        };
        if held.comment.as_deref() == Some(rec.container_id.as_str()) && held.data == el.data {
            continue;
        }
        let by = held
            .comment
            .map(|c| format!(" by container {c}"))
            .unwrap_or_default();
        return Some(CniError::new(
            Code::INTERNAL,
            format!(
                "{} is already mapped{by}: refusing the port mappings of container {} \
                 (nothing was added)",
                Record::describe(d),
                rec.container_id
            ),
        ));
    }
    None
}

/// Removes `rec`'s elements: one batch when all are present, else one by one, a missing
/// element (or table) being no error.
pub fn remove(nft: &mut Nftables, rec: &Record) -> Result<(), CniError> {
    let elements = rec.elements();
    let mut batch = Batch::new();
    for (set, el) in &elements {
        batch.delete_elements(set, std::slice::from_ref(el));
    }
    match nft.apply(&batch) {
        Ok(()) => return Ok(()),
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(kernel(e)),
    }
    for (set, el) in &elements {
        let mut one = Batch::new();
        one.delete_elements(set, std::slice::from_ref(el));
        match nft.apply(&one) {
            Err(e) if !e.is_not_found() => return Err(kernel(e)),
            _ => {}
        }
    }
    Ok(())
}

/// CHECK: every DNAT entry of `rec` is in its map with the same target.
pub fn check(nft: &mut Nftables, rec: &Record) -> Result<(), CniError> {
    for (d, (set, el)) in rec.dnat.iter().zip(rec.elements()) {
        let held = nft.get_element(&set, &el).map_err(kernel)?;
        let target = |data: &Option<Data>| match data {
            Some(Data::Value(v)) => v.clone(),
            _ => Vec::new(),
        };
        match held {
            Some(h) if target(&h.data) == target(&el.data) => {}
            Some(_) => return Err(missing(&set, d, "points elsewhere")),
            None => return Err(missing(&set, d, "is missing")),
        }
    }
    Ok(())
}

fn missing(set: &SetRef, d: &super::elements::Dnat, what: &str) -> CniError {
    CniError::new(
        Code::INTERNAL,
        format!(
            "{} -> {}:{} {what} in map \"{}\"",
            Record::describe(d),
            d.container_ip,
            d.container_port,
            set.label()
        ),
    )
}
