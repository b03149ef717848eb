//! Listing (dumps) and single-object queries, for CHECK, GC and verification.
//!
//! Listings filter by table on our side as well: not every dump honours the kernel-side
//! filter attributes on every kernel version.

use super::batch::SetRef;
use super::chain::Chain;
use super::consts::*;
use super::element::{element_header, parse_elements, Element};
use super::rule::Rule;
use super::set::Set;
use super::socket::Nftables;
use super::table::{Family, Table};
use super::wire::request;
use crate::error::Result;

impl Nftables {
    /// Every table of `family` (`Family::Unspec`: of all families).
    pub fn list_tables(&mut self, family: Family) -> Result<Vec<Table>> {
        let req = request(NFT_MSG_GETTABLE, 0, family);
        let label = format!("of family {family}");
        self.nl
            .dump("list tables", &label, req, |m| Table::parse(m).map(Some))
    }

    /// One table, or `None` when it does not exist.
    pub fn get_table(&mut self, family: Family, name: &str) -> Result<Option<Table>> {
        let mut req = request(NFT_MSG_GETTABLE, 0, family);
        req.attr_str(NFTA_TABLE_NAME, name);
        let label = format!("\"{family} {name}\"");
        absent_is_none(self.nl.request_one("get table", &label, req, Table::parse))
    }

    /// The chains of a table.
    pub fn list_chains(&mut self, family: Family, table: &str) -> Result<Vec<Chain>> {
        let mut req = request(NFT_MSG_GETCHAIN, 0, family);
        req.attr_str(NFTA_CHAIN_TABLE, table);
        let label = format!("of table \"{family} {table}\"");
        self.nl.dump("list chains", &label, req, |m| {
            let chain = Chain::parse(m)?;
            Ok((chain.table == table).then_some(chain))
        })
    }

    /// The sets and maps of a table (anonymous ones included).
    pub fn list_sets(&mut self, family: Family, table: &str) -> Result<Vec<Set>> {
        let mut req = request(NFT_MSG_GETSET, 0, family);
        req.attr_str(NFTA_SET_TABLE, table);
        let label = format!("of table \"{family} {table}\"");
        self.nl.dump("list sets", &label, req, |m| {
            let set = Set::parse(m)?;
            Ok((set.table == table).then_some(set))
        })
    }

    /// The elements of a set or map (interval sets list each range as its start and its
    /// end-flagged successor, like they are added).
    pub fn list_elements(&mut self, set: &SetRef) -> Result<Vec<Element>> {
        let req = element_header(NFT_MSG_GETSETELEM, 0, set.family, &set.table, &set.name);
        let parts = self
            .nl
            .dump("list elements of set", &set.label(), req, |m| {
                parse_elements(m).map(|(_, els)| Some(els))
            })?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// The element with `key`'s key as the set holds it, or `None` (one request: CHECK
    /// of a single pod).
    pub fn get_element(&mut self, set: &SetRef, key: &Element) -> Result<Option<Element>> {
        let mut req = element_header(NFT_MSG_GETSETELEM, 0, set.family, &set.table, &set.name);
        let probe = Element::from_key(key.key.clone());
        let list = req.nest_start_flagged(NFTA_SET_ELEM_LIST_ELEMENTS);
        req.push_bytes(&probe.encode(1));
        req.nest_end(list);
        let found = self
            .nl
            .request_one("get element of set", &set.label(), req, |m| {
                parse_elements(m).map(|(_, els)| els.into_iter().next())
            });
        Ok(absent_is_none(found)?.flatten())
    }

    /// The rules of a table, or of one chain of it, in chain order.
    pub fn list_rules(
        &mut self,
        family: Family,
        table: &str,
        chain: Option<&str>,
    ) -> Result<Vec<Rule>> {
        let mut req = request(NFT_MSG_GETRULE, 0, family);
        req.attr_str(NFTA_RULE_TABLE, table);
        if let Some(c) = chain {
            req.attr_str(NFTA_RULE_CHAIN, c);
        }
        let label = format!("of table \"{family} {table}\"");
        self.nl.dump("list rules", &label, req, |m| {
            let rule = Rule::parse(m)?;
            let wanted = rule.table == table && chain.map_or(true, |c| rule.chain == c);
            Ok(wanted.then_some(rule))
        })
    }
}

/// Turns "no such table/set/element" into `None`.
fn absent_is_none<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
