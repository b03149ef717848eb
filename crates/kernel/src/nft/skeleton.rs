//! The per-network skeleton: a table with its chains, sets and rules, installed once and
//! verified with one request afterwards.
//!
//! A skeleton carries a version: a hash of the batch that installs it. The install batch
//! ends by adding that hash as the only element of a small marker set in the table, with
//! `NLM_F_EXCL`. Because a batch commits all or nothing, the marker's presence proves the
//! whole skeleton of that version is in place, so verifying costs one element GET. Two
//! processes installing at once are serialised by the kernel: the second batch fails on
//! the marker (`EEXIST`), is discarded whole, and the second process then finds the marker.
//! When the table exists with another version (an upgrade, or a hand edit), the skeleton
//! is repaired in one batch: missing objects are added, and each chain whose rules differ
//! from the desired list is flushed and refilled. Sets keep their elements throughout.

use super::batch::{Batch, SetRef};
use super::chain::Chain;
use super::element::{Element, Value};
use super::rule::Rule;
use super::set::{DataType, Set};
use super::socket::Nftables;
use super::table::Table;
use crate::error::Result;

/// Name of the marker set that holds the installed skeleton's version.
pub const MARKER_SET: &str = "skeleton_version";

/// How many times `ensure` re-reads after losing a race with another installer.
const ENSURE_ATTEMPTS: u32 = 4;

/// A chain of a skeleton and, when the skeleton owns them, its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkeletonChain {
    /// The chain.
    pub chain: Chain,
    /// The rules, in order; `None` leaves the rules to someone else (an admin chain
    /// whose rules survive updates).
    pub rules: Option<Vec<Rule>>,
}

/// A desired table with its chains, sets and rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    /// The table.
    pub table: Table,
    /// Chains, created in this order (before any rule, so jumps resolve).
    pub chains: Vec<SkeletonChain>,
    /// Sets and maps (created before any rule, so lookups resolve).
    pub sets: Vec<Set>,
}

/// What [`Nftables::ensure`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// The skeleton of this version was already in place (one request).
    Verified,
    /// The table did not exist and was installed.
    Installed,
    /// The table existed with another version; these chains had their rules replaced.
    Repaired {
        /// Names of the chains whose rules were replaced.
        chains: Vec<String>,
    },
}

impl Skeleton {
    /// A skeleton of `table` with nothing in it yet.
    pub fn new(table: Table) -> Skeleton {
        Skeleton {
            table,
            chains: Vec::new(),
            sets: Vec::new(),
        }
    }

    /// Adds a chain whose rules the skeleton owns.
    pub fn chain(mut self, chain: Chain, rules: Vec<Rule>) -> Skeleton {
        self.chains.push(SkeletonChain {
            chain,
            rules: Some(rules),
        });
        self
    }

    /// Adds a chain whose rules are left alone (created empty when missing).
    pub fn unmanaged_chain(mut self, chain: Chain) -> Skeleton {
        self.chains.push(SkeletonChain { chain, rules: None });
        self
    }

    /// Adds a set or map.
    pub fn set(mut self, set: Set) -> Skeleton {
        self.sets.push(set);
        self
    }

    /// The marker set.
    pub fn marker_set(&self) -> SetRef {
        SetRef::new(self.table.family, &self.table.name, MARKER_SET)
    }

    fn marker(&self) -> Set {
        Set::new(
            self.table.family,
            &self.table.name,
            MARKER_SET,
            &[DataType::Mark],
        )
        .comment("twill skeleton version")
    }

    /// The version: FNV-1a over the encoded objects, so any change to a chain, set or rule
    /// (or to this encoder) gives another version.
    pub fn version(&self) -> u32 {
        let bytes = self.objects_batch().encode(0, 0).unwrap_or_default();
        bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }

    fn version_element(&self) -> Element {
        Element::new(&[Value::U32(self.version())])
    }

    /// Table, chains and sets (idempotent adds), then every owned chain's rules.
    fn objects_batch(&self) -> Batch {
        let mut batch = Batch::new();
        batch.add_table(&self.table);
        for c in &self.chains {
            batch.add_chain(&c.chain);
        }
        for set in &self.sets {
            batch.add_set(set);
        }
        for rule in self
            .chains
            .iter()
            .filter_map(|c| c.rules.as_ref())
            .flatten()
        {
            batch.add_rule(rule);
        }
        batch
    }

    /// The batch that installs the skeleton into a namespace without its table.
    pub fn install_batch(&self) -> Batch {
        let mut batch = self.objects_batch();
        batch.add_set(&self.marker());
        batch.create_elements(&self.marker_set(), &[self.version_element()]);
        batch
    }

    /// The batch that brings an existing table to this version, given its current rules;
    /// also returns the chains whose rules it replaces.
    pub fn repair_batch(&self, current: &[Rule]) -> (Batch, Vec<String>) {
        let mut batch = Batch::new();
        batch.add_table(&self.table);
        for c in &self.chains {
            batch.add_chain(&c.chain);
        }
        for set in &self.sets {
            batch.add_set(set);
        }
        let mut replaced = Vec::new();
        for c in &self.chains {
            let Some(rules) = &c.rules else { continue };
            let have: Vec<&Rule> = current.iter().filter(|r| r.chain == c.chain.name).collect();
            let same =
                have.len() == rules.len() && have.iter().zip(rules).all(|(h, w)| h.same_as(w));
            if !same {
                let (family, table) = (self.table.family, &self.table.name);
                batch.flush_chain(family, table, &c.chain.name);
                for rule in rules {
                    batch.add_rule(rule);
                }
                replaced.push(c.chain.name.clone());
            }
        }
        batch.add_set(&self.marker());
        batch.flush_set(&self.marker_set());
        batch.create_elements(&self.marker_set(), &[self.version_element()]);
        (batch, replaced)
    }
}

impl Nftables {
    /// Makes sure `skeleton` is in place: one element GET when it is, one batch otherwise.
    /// Element contents of existing sets are never touched.
    pub fn ensure(&mut self, skeleton: &Skeleton) -> Result<Ensured> {
        let marker = skeleton.marker_set();
        let version = skeleton.version_element();
        let mut last_race = None;
        for _ in 0..ENSURE_ATTEMPTS {
            if self.get_element(&marker, &version)?.is_some() {
                return Ok(Ensured::Verified);
            }
            let table = &skeleton.table;
            let result = if self.get_table(table.family, &table.name)?.is_none() {
                self.apply(&skeleton.install_batch())
                    .map(|()| Ensured::Installed)
            } else {
                let current = self.list_rules(table.family, &table.name, None)?;
                let (batch, chains) = skeleton.repair_batch(&current);
                self.apply(&batch).map(|()| Ensured::Repaired { chains })
            };
            match result {
                // Another process committed its batch between our read and ours.
                Err(e) if e.is_exists() => last_race = Some(e),
                other => return other,
            }
        }
        match last_race {
            Some(e) => Err(e),
            None => Ok(Ensured::Verified),
        }
    }
}
