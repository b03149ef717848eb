//! Rules: a chain, a list of expressions, a handle once the kernel assigned one, and a
//! comment carried as userdata (shown by `nft list`).

use super::consts::*;
use super::expr::Expr;
use super::table::Family;
use super::wire::UDATA_COMMENT;
use super::wire::{be64, comment_udata, parse_comment, put_be64, request, split, string};
use crate::nl::{Message, MessageBuilder, WireError};

/// A rule, as installed or as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The table's family.
    pub family: Family,
    /// The table.
    pub table: String,
    /// The chain.
    pub chain: String,
    /// The expressions, run in order.
    pub exprs: Vec<Expr>,
    /// A comment, shown by `nft list`.
    pub comment: Option<String>,
    /// The kernel's handle (listing; or the rule to insert after).
    pub handle: Option<u64>,
}

impl Rule {
    /// An empty rule in `chain`.
    pub fn new(family: Family, table: &str, chain: &str) -> Rule {
        Rule {
            family,
            table: table.to_owned(),
            chain: chain.to_owned(),
            exprs: Vec::new(),
            comment: None,
            handle: None,
        }
    }

    /// Appends an expression.
    pub fn push(mut self, expr: Expr) -> Rule {
        self.exprs.push(expr);
        self
    }

    /// Appends expressions.
    pub fn extend(mut self, exprs: impl IntoIterator<Item = Expr>) -> Rule {
        self.exprs.extend(exprs);
        self
    }

    /// Sets the comment.
    pub fn comment(mut self, text: &str) -> Rule {
        self.comment = Some(text.to_owned());
        self
    }

    /// How errors name the rule: its chain, and the handle or comment when it has one.
    pub fn label(&self) -> String {
        let mut label = format!("in chain \"{} {} {}\"", self.family, self.table, self.chain);
        if let Some(h) = self.handle {
            label.push_str(&format!(" handle {h}"));
        }
        if let Some(c) = &self.comment {
            label.push_str(&format!(" ({c})"));
        }
        label
    }

    /// Whether two rules do the same thing: same chain, expressions (counter values
    /// aside) and comment. Handles are not compared.
    pub fn same_as(&self, other: &Rule) -> bool {
        self.family == other.family
            && self.table == other.table
            && self.chain == other.chain
            && self.comment == other.comment
            && self.exprs.len() == other.exprs.len()
            && self
                .exprs
                .iter()
                .zip(&other.exprs)
                .all(|(a, b)| a.normalized() == b.normalized())
    }

    /// Writes a NEWRULE request; with a handle, the rule goes after that rule.
    pub(crate) fn emit(&self, flags: u16) -> MessageBuilder {
        let mut b = request(NFT_MSG_NEWRULE, flags, self.family);
        b.attr_str(NFTA_RULE_TABLE, &self.table);
        b.attr_str(NFTA_RULE_CHAIN, &self.chain);
        if let Some(after) = self.handle {
            put_be64(&mut b, NFTA_RULE_POSITION, after);
        }
        let list = b.nest_start_flagged(NFTA_RULE_EXPRESSIONS);
        for expr in &self.exprs {
            expr.emit(&mut b);
        }
        b.nest_end(list);
        if let Some(text) = &self.comment {
            b.attr(NFTA_RULE_USERDATA, &comment_udata(UDATA_COMMENT, text));
        }
        b
    }

    /// Decodes a NEWRULE message.
    pub fn parse(msg: &Message<'_>) -> Result<Rule, WireError> {
        let (family, attrs) = split(msg)?;
        let mut rule = Rule::new(family, "", "");
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                NFTA_RULE_TABLE => rule.table = string(&attr)?,
                NFTA_RULE_CHAIN => rule.chain = string(&attr)?,
                NFTA_RULE_HANDLE => rule.handle = Some(be64(&attr)?),
                NFTA_RULE_EXPRESSIONS => {
                    for elem in attr.nested() {
                        rule.exprs.push(Expr::parse(&elem?)?);
                    }
                }
                NFTA_RULE_USERDATA => {
                    rule.comment = parse_comment(UDATA_COMMENT, attr.payload());
                }
                _ => {}
            }
        }
        if rule.table.is_empty() || rule.chain.is_empty() {
            return Err(WireError::Missing("rule table or chain"));
        }
        Ok(rule)
    }
}
