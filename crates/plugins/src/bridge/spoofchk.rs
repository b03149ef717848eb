//! `macspoofchk`: frames entering the bridge from a pod's port must carry the pod's MAC.
//!
//! One table shared by every bridge network on the host, whose rules never mention a pod:
//!
//! ```text
//! table bridge twill_macspoof {
//!   set ports { type ifname }                    # host ends of checked pods
//!   set allowed { type ifname . ether_addr }     # port . the pod's MAC
//!   chain prerouting { type filter hook prerouting priority -300; policy accept;
//!     iifname @ports iifname . ether saddr != @allowed drop }
//! }
//! ```
//!
//! The bridge family's prerouting hook sees every frame a port receives before the bridge
//! decides between forwarding it and delivering it to the host, so both pod-to-pod and
//! pod-to-host traffic are covered, as with the reference's `bridge nat PREROUTING` chain
//! at the same priority. A pod adds one element to each set and DEL removes them: no rule
//! is ever added per pod and nothing is executed. What ADD added is recorded in
//! `<dataDir>/<network>/<containerID>-<ifname>` (see `common::record`), so DEL and GC
//! need neither the netns nor `prevResult`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use twill_cni::config::NetConf;
use twill_cni::json::Obj;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::nft::{
    Batch, Chain, ChainType, DataType, Element, Family, Field, Hook, Nftables, Rule, Set, SetRef,
    Skeleton, Table, Value, Verdict,
};
use twill_kernel::MacAddr;

use super::config::BridgeConf;
use crate::common::error::all_done;
use crate::common::error::{internal, kernel};
use crate::common::lingering::Lingering;
use crate::common::record;

/// The table, in the `bridge` family.
pub const TABLE: &str = "twill_macspoof";
/// Ports whose source MACs are checked.
pub const PORTS: &str = "ports";
/// The `port . MAC` pairs allowed in.
pub const ALLOWED: &str = "allowed";
/// Where records live when the configuration names no `dataDir`. Under /run because the
/// elements they describe do not survive a reboot either.
pub const DEFAULT_DATA_DIR: &str = "/run/cni/twill-macspoofchk";
/// The reference's priority: before anything else at the bridge's prerouting hook.
const PRIORITY: i32 = -300;
/// Element comments are capped by the kernel (`NFT_USERDATA_MAXLEN`).
const MAX_COMMENT: usize = 120;

/// What one attachment added: the record file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// The host end of the pod's veth pair.
    pub port: String,
    /// The container interface's MAC.
    #[serde(with = "mac_text")]
    pub mac: MacAddr,
}

/// A MAC in a record as the text `ip link` shows (the kernel crate's type has no serde).
mod mac_text {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use twill_kernel::MacAddr;

    pub fn serialize<S: Serializer>(mac: &MacAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(mac)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MacAddr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| D::Error::custom(format!("bad MAC {text:?}")))
    }
}

impl Record {
    /// The two elements, each with its set.
    fn elements(&self) -> [(SetRef, Element); 2] {
        let comment: String = self.container_id.chars().take(MAX_COMMENT).collect();
        let port = Value::IfName(self.port.clone());
        [
            (
                set_ref(PORTS),
                Element::new(std::slice::from_ref(&port)).comment(&comment),
            ),
            (
                set_ref(ALLOWED),
                Element::new(&[port, Value::Mac(self.mac)]).comment(&comment),
            ),
        ]
    }
}

fn set_ref(name: &str) -> SetRef {
    SetRef::new(Family::Bridge, TABLE, name)
}

/// The skeleton, installed (or verified with one request) by every checked ADD.
pub fn skeleton() -> Skeleton {
    let f = Family::Bridge;
    let chain = Chain::base(
        f,
        TABLE,
        "prerouting",
        ChainType::Filter,
        Hook::Prerouting,
        PRIORITY,
    );
    let drop = Rule::new(f, TABLE, "prerouting")
        .match_set(&[Field::IifName], PORTS, false)
        .match_set(&[Field::IifName, Field::EtherSaddr], ALLOWED, true)
        .verdict(Verdict::Drop);
    Skeleton::new(Table::new(f, TABLE).comment("twill bridge: macspoofchk"))
        .set(Set::new(f, TABLE, PORTS, &[DataType::IfName]).comment("checked bridge ports"))
        .set(
            Set::new(f, TABLE, ALLOWED, &[DataType::IfName, DataType::EtherAddr])
                .comment("port . the only source MAC it may send"),
        )
        .chain(chain, vec![drop])
}

/// `macspoofchk`, read as Go reads a bool (a wrong type is refused naming the key).
pub fn enabled(conf: &BridgeConf) -> Result<bool, CniError> {
    Ok(conf.net.obj().bool("macspoofchk")?.unwrap_or(false))
}

/// `dataDir`, the one key DEL and GC read (they must not fail on keys ADD would refuse).
fn data_dir(config: &serde_json::Value) -> Result<PathBuf, CniError> {
    match Obj::root(config)?.str("dataDir")? {
        None | Some("") => Ok(PathBuf::from(DEFAULT_DATA_DIR)),
        Some(d) => Ok(PathBuf::from(d)),
    }
}

fn file_of(args: &CmdArgs) -> Result<PathBuf, CniError> {
    let dir = data_dir(&args.config)?;
    Ok(record::path(
        &dir,
        &args.name,
        &args.container_id,
        &args.ifname,
    ))
}

fn io_error(what: &str, file: &Path, e: std::io::Error) -> CniError {
    CniError::io(format!("macspoofchk: {what} {}: {e}", file.display()))
}

/// ADD: the skeleton, the record, then both elements in one batch. On failure nothing of
/// this attachment is left (the caller's undo then removes the veth pair).
pub fn add(args: &CmdArgs, port: &str, mac: MacAddr) -> Result<(), CniError> {
    let file = file_of(args)?;
    let mut nft = Nftables::open().map_err(kernel)?;
    // A stale record of the same attachment (a pod that died without DEL) is replaced.
    if let Ok(Some(old)) = record::load::<Record>(&file) {
        forget(&mut nft, &file, &old)?;
    }
    nft.ensure(&skeleton()).map_err(kernel)?;
    let rec = Record {
        container_id: args.container_id.clone(),
        ifname: args.ifname.clone(),
        port: port.to_owned(),
        mac,
    };
    // On disk before the elements exist, so no crash leaves elements DEL or GC cannot find.
    record::store(&file, &rec).map_err(|e| io_error("writing the record", &file, e))?;
    let mut batch = Batch::new();
    for (set, el) in rec.elements() {
        batch.add_elements(&set, &[el]);
    }
    nft.apply(&batch).map_err(kernel).inspect_err(|_| {
        let _ = record::remove(&file);
    })
}

/// Undoes [`add`] after a later step of ADD failed; best effort, as the ADD's own error is
/// what the runtime must see.
pub fn undo(args: &CmdArgs) {
    if let Err(e) = del(args, &mut Lingering::new()) {
        eprintln!("bridge: removing the macspoofchk elements after a failed ADD: {e}");
    }
}

/// Removes `rec`'s elements, a missing element (or table) being no error, then its record.
fn forget(nft: &mut Nftables, file: &Path, rec: &Record) -> Result<(), CniError> {
    for (set, el) in rec.elements() {
        let mut one = Batch::new();
        one.delete_elements(&set, &[el]);
        match nft.apply(&one) {
            Err(e) if !e.is_not_found() => return Err(kernel(e)),
            _ => {}
        }
    }
    record::remove(file)
        .map(drop)
        .map_err(|e| io_error("removing the record", file, e))
}

/// DEL: whatever the record says was added, whether or not the configuration still asks
/// for the check. Nothing recorded is nothing to do. The socket that deleted is handed to
/// `lingering`, whose caller closes it.
pub fn del(args: &CmdArgs, lingering: &mut Lingering) -> Result<(), CniError> {
    let file = file_of(args)?;
    let discard = |f: &Path| record::remove(f).map(drop);
    let rec = match record::load_for_del::<Record>(&file, "bridge", discard) {
        Ok(Some(rec)) => rec,
        Ok(None) => return Ok(()),
        Err(e) => return Err(io_error("reading the record", &file, e)),
    };
    let mut nft = Nftables::open().map_err(kernel)?;
    let forgotten = forget(&mut nft, &file, &rec);
    lingering.keep(nft);
    forgotten
}

/// CHECK: the attachment's record exists, names `mac`, and both elements are present.
pub fn check(args: &CmdArgs, mac: Option<MacAddr>) -> Result<(), CniError> {
    let file = file_of(args)?;
    let rec = record::load::<Record>(&file)
        .map_err(|e| io_error("reading the record", &file, e))?
        .ok_or_else(|| internal(format!("macspoofchk: no record {}", file.display())))?;
    if let Some(mac) = mac.filter(|m| *m != rec.mac) {
        return Err(internal(format!(
            "macspoofchk: {} allows {} but the container interface has {mac}",
            rec.port, rec.mac
        )));
    }
    let mut nft = Nftables::open().map_err(kernel)?;
    for (set, el) in rec.elements() {
        if nft.get_element(&set, &el).map_err(kernel)?.is_none() {
            return Err(internal(format!(
                "macspoofchk: {} . {} is missing from set \"{}\"",
                rec.port,
                rec.mac,
                set.label()
            )));
        }
    }
    Ok(())
}

/// GC: records (and their elements) of attachments not in `cni.dev/valid-attachments`.
pub fn gc(args: &CmdArgs) -> Result<(), CniError> {
    let net = NetConf::from_value(&args.config)?;
    let dir = data_dir(&args.config)?;
    let valid = net.valid_attachments.unwrap_or_default();
    let records = record::readable::<Record>(&dir, &net.name, |f| {
        let _ = record::remove(f);
    })
    .map_err(|e| io_error("listing records in", &dir, e))?;
    if records.is_empty() {
        return Ok(());
    }
    let mut nft = Nftables::open().map_err(kernel)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn skeleton_is_stable_and_records_round_trip() {
        assert_eq!(skeleton().version(), skeleton().version());
        assert_eq!(skeleton().sets.len(), 2);
        let rec = Record {
            container_id: "c".into(),
            ifname: "eth0".into(),
            port: "veth1".into(),
            mac: "02:00:00:00:00:01".parse().unwrap(),
        };
        let text = serde_json::to_string(&rec).unwrap();
        assert!(text.contains("\"containerId\":\"c\""), "{text}");
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), rec);
        let els = rec.elements();
        assert_eq!(els[0].0.name, PORTS);
        assert_eq!(els[1].1.key.len(), 16 + 8);
    }
}
