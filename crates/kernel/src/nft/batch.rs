//! Batches: nf_tables changes sent as one transaction.
//!
//! A batch is `NFNL_MSG_BATCH_BEGIN`, the change messages, `NFNL_MSG_BATCH_END`, all in one
//! datagram. The kernel applies all of it or none of it. Every change message asks for an
//! acknowledgement, so each one is answered by its own sequence number: the first error is
//! reported with the operation and object of the message that caused it
//! (`add element to set "ip cni_hostport hostports": File exists`).

use super::chain::Chain;
use super::consts::*;
use super::element::{element_header, element_messages, Element};
use super::rule::Rule;
use super::set::{set_label, Set};
use super::table::{Family, Table};
use super::wire::{put_be64, request};
use crate::nl::consts::{NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use crate::nl::{MessageBuilder, WireError};

/// A set named by family, table and name: what element operations need.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetRef {
    /// The table's family.
    pub family: Family,
    /// The table.
    pub table: String,
    /// The set.
    pub name: String,
}

impl SetRef {
    /// Names a set.
    pub fn new(family: Family, table: &str, name: &str) -> SetRef {
        SetRef {
            family,
            table: table.to_owned(),
            name: name.to_owned(),
        }
    }

    /// How errors name the set.
    pub fn label(&self) -> String {
        set_label(self.family, &self.table, &self.name)
    }
}

impl From<&Set> for SetRef {
    fn from(set: &Set) -> SetRef {
        SetRef::new(set.family, &set.table, &set.name)
    }
}

/// One change of a batch and how an error about it names it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) msg: MessageBuilder,
    pub(crate) op: &'static str,
    pub(crate) object: String,
}

/// A list of changes applied atomically by [`crate::nft::Nftables::apply`].
///
/// `add_*` methods are idempotent (`NLM_F_CREATE` without `NLM_F_EXCL`: an existing table,
/// chain, set or identical element is left as it is); `create_*` fail on an existing object.
/// Rules are the exception: `add_rule` appends another copy every time.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub(crate) entries: Vec<Entry>,
    next_set_id: u32,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// How many messages the batch holds (between its begin and end markers).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch holds no change.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push(&mut self, msg: MessageBuilder, op: &'static str, object: String) -> &mut Batch {
        self.entries.push(Entry { msg, op, object });
        self
    }

    /// Adds a table unless it exists.
    pub fn add_table(&mut self, table: &Table) -> &mut Batch {
        self.push(table.emit(NLM_F_CREATE), "add table", table.label())
    }

    /// Creates a table; fails if it exists.
    pub fn create_table(&mut self, table: &Table) -> &mut Batch {
        let flags = NLM_F_CREATE | NLM_F_EXCL;
        self.push(table.emit(flags), "create table", table.label())
    }

    /// Deletes a table and everything in it.
    pub fn delete_table(&mut self, family: Family, name: &str) -> &mut Batch {
        let mut b = request(NFT_MSG_DELTABLE, 0, family);
        b.attr_str(NFTA_TABLE_NAME, name);
        self.push(b, "delete table", format!("\"{family} {name}\""))
    }

    /// Adds a chain unless it exists.
    pub fn add_chain(&mut self, chain: &Chain) -> &mut Batch {
        self.push(chain.emit(NLM_F_CREATE), "add chain", chain.label())
    }

    /// Deletes an empty chain that nothing jumps to.
    pub fn delete_chain(&mut self, family: Family, table: &str, name: &str) -> &mut Batch {
        let mut b = request(NFT_MSG_DELCHAIN, 0, family);
        b.attr_str(NFTA_CHAIN_TABLE, table);
        b.attr_str(NFTA_CHAIN_NAME, name);
        let label = format!("\"{family} {table} {name}\"");
        self.push(b, "delete chain", label)
    }

    /// Deletes every rule of a chain.
    pub fn flush_chain(&mut self, family: Family, table: &str, chain: &str) -> &mut Batch {
        let mut b = request(NFT_MSG_DELRULE, 0, family);
        b.attr_str(NFTA_RULE_TABLE, table);
        b.attr_str(NFTA_RULE_CHAIN, chain);
        let label = format!("\"{family} {table} {chain}\"");
        self.push(b, "flush chain", label)
    }

    /// Adds a set or map unless it exists (an existing one must have the same types).
    pub fn add_set(&mut self, set: &Set) -> &mut Batch {
        self.next_set_id += 1;
        let msg = set.emit(NLM_F_CREATE, self.next_set_id);
        self.push(msg, "add set", set.label())
    }

    /// Deletes a set that no rule references.
    pub fn delete_set(&mut self, set: &SetRef) -> &mut Batch {
        let mut b = request(NFT_MSG_DELSET, 0, set.family);
        b.attr_str(NFTA_SET_TABLE, &set.table);
        b.attr_str(NFTA_SET_NAME, &set.name);
        self.push(b, "delete set", set.label())
    }

    /// Deletes every element of a set.
    pub fn flush_set(&mut self, set: &SetRef) -> &mut Batch {
        let b = element_header(NFT_MSG_DELSETELEM, 0, set.family, &set.table, &set.name);
        self.push(b, "flush set", set.label())
    }

    /// Adds elements; an element that exists with the same data is left alone.
    pub fn add_elements(&mut self, set: &SetRef, elements: &[Element]) -> &mut Batch {
        self.elements(
            NFT_MSG_NEWSETELEM,
            NLM_F_CREATE,
            "add element to set",
            set,
            elements,
        )
    }

    /// Adds elements; fails if any key is already present (a host port someone holds).
    pub fn create_elements(&mut self, set: &SetRef, elements: &[Element]) -> &mut Batch {
        let flags = NLM_F_CREATE | NLM_F_EXCL;
        self.elements(
            NFT_MSG_NEWSETELEM,
            flags,
            "create element in set",
            set,
            elements,
        )
    }

    /// Deletes elements (by key; data is ignored); fails if one is missing.
    pub fn delete_elements(&mut self, set: &SetRef, elements: &[Element]) -> &mut Batch {
        self.elements(
            NFT_MSG_DELSETELEM,
            0,
            "delete element from set",
            set,
            elements,
        )
    }

    fn elements(
        &mut self,
        msg: u8,
        flags: u16,
        op: &'static str,
        set: &SetRef,
        elements: &[Element],
    ) -> &mut Batch {
        for b in element_messages(msg, flags, set.family, &set.table, &set.name, elements) {
            self.push(b, op, set.label());
        }
        self
    }

    /// Appends a rule to its chain (after `rule.handle` when it has one).
    pub fn add_rule(&mut self, rule: &Rule) -> &mut Batch {
        let msg = rule.emit(NLM_F_CREATE | NLM_F_APPEND);
        self.push(msg, "add rule", rule.label())
    }

    /// Deletes the rule with `handle`.
    pub fn delete_rule(
        &mut self,
        family: Family,
        table: &str,
        chain: &str,
        handle: u64,
    ) -> &mut Batch {
        let mut b = request(NFT_MSG_DELRULE, 0, family);
        b.attr_str(NFTA_RULE_TABLE, table);
        b.attr_str(NFTA_RULE_CHAIN, chain);
        put_be64(&mut b, NFTA_RULE_HANDLE, handle);
        let label = format!("in chain \"{family} {table} {chain}\" handle {handle}");
        self.push(b, "delete rule", label)
    }

    /// Encodes the batch: begin marker with sequence `begin_seq`, change `i` with
    /// `begin_seq + 1 + i` (each asking for an ACK), end marker.
    pub fn encode(&self, begin_seq: u32, port: u32) -> Result<Vec<u8>, WireError> {
        let mut out = marker(NFNL_MSG_BATCH_BEGIN).finish(begin_seq, port)?;
        let mut seq = begin_seq;
        for entry in &self.entries {
            seq = seq.wrapping_add(1);
            let msg = entry.msg.clone().with_flags(NLM_F_REQUEST | NLM_F_ACK);
            out.extend(msg.finish(seq, port)?);
        }
        out.extend(marker(NFNL_MSG_BATCH_END).finish(seq.wrapping_add(1), port)?);
        Ok(out)
    }
}

/// A batch marker: family unspecified, resource id the nf_tables subsystem (big-endian).
fn marker(ty: u16) -> MessageBuilder {
    let mut b = MessageBuilder::new(ty, NLM_F_REQUEST);
    let res_id = NFNL_SUBSYS_NFTABLES.to_be_bytes();
    b.push_bytes(&[0, NFNETLINK_V0, res_id[0], res_id[1]]);
    b
}
