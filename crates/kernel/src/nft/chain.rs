//! Chains: base chains attached to a hook (with type, priority and policy) and regular
//! chains reached by `jump`/`goto`.

use super::consts::*;
use super::table::Family;
use super::wire::UDATA_COMMENT;
use super::wire::{be32, be64, comment_udata, parse_comment, put_be32, request, split, string};
use crate::nl::{Message, MessageBuilder, WireError};

/// Where a base chain is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Before routing (DNAT).
    Prerouting,
    /// Delivered locally.
    Input,
    /// Forwarded.
    Forward,
    /// Sent locally.
    Output,
    /// After routing (SNAT, masquerade).
    Postrouting,
    /// Device ingress (netdev, inet).
    Ingress,
    /// Device egress (netdev).
    Egress,
}

impl Hook {
    fn raw(self, family: Family) -> u32 {
        match (self, family) {
            (Hook::Ingress, Family::Netdev) => NF_NETDEV_INGRESS,
            (Hook::Egress, _) => NF_NETDEV_EGRESS,
            (Hook::Prerouting, _) => NF_INET_PRE_ROUTING,
            (Hook::Input, _) => NF_INET_LOCAL_IN,
            (Hook::Forward, _) => NF_INET_FORWARD,
            (Hook::Output, _) => NF_INET_LOCAL_OUT,
            (Hook::Postrouting, _) => NF_INET_POST_ROUTING,
            // NF_INET_INGRESS follows the five inet hooks.
            (Hook::Ingress, _) => 5,
        }
    }

    fn from_raw(raw: u32, family: Family) -> Result<Hook, WireError> {
        Ok(match (raw, family) {
            (NF_NETDEV_INGRESS, Family::Netdev) => Hook::Ingress,
            (NF_NETDEV_EGRESS, Family::Netdev) => Hook::Egress,
            (NF_INET_PRE_ROUTING, _) => Hook::Prerouting,
            (NF_INET_LOCAL_IN, _) => Hook::Input,
            (NF_INET_FORWARD, _) => Hook::Forward,
            (NF_INET_LOCAL_OUT, _) => Hook::Output,
            (NF_INET_POST_ROUTING, _) => Hook::Postrouting,
            (5, _) => Hook::Ingress,
            _ => return Err(WireError::BadValue("chain hook")),
        })
    }
}

/// What a base chain may do: `filter`, `nat` (NAT expressions; consulted for the first
/// packet of a connection only) or `route` (reroutes after mangling in output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainType {
    /// Filtering.
    Filter,
    /// Network address translation.
    Nat,
    /// Rerouting on output.
    Route,
}

impl ChainType {
    fn name(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
            ChainType::Route => "route",
        }
    }
}

/// A base chain's verdict for packets no rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Let them pass.
    Accept,
    /// Drop them.
    Drop,
}

/// What makes a chain a base chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    /// The hook.
    pub hook: Hook,
    /// Order among chains on the same hook (lower first; `dstnat` is -100, `srcnat` 100).
    pub priority: i32,
    /// The chain type.
    pub kind: ChainType,
    /// The default verdict.
    pub policy: Policy,
    /// The device, for netdev ingress/egress chains.
    pub device: Option<String>,
}

/// A chain, as created or as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The table's family.
    pub family: Family,
    /// The table.
    pub table: String,
    /// The name.
    pub name: String,
    /// Hook, priority, type and policy for a base chain; `None` for a regular chain.
    pub base: Option<BaseChain>,
    /// A comment, shown by `nft list`.
    pub comment: Option<String>,
    /// The kernel's handle (listing only).
    pub handle: Option<u64>,
}

impl Chain {
    /// A regular chain (reached by `jump` or `goto`).
    pub fn regular(family: Family, table: &str, name: &str) -> Chain {
        Chain {
            family,
            table: table.to_owned(),
            name: name.to_owned(),
            base: None,
            comment: None,
            handle: None,
        }
    }

    /// A base chain of `kind` on `hook` at `priority`, policy accept.
    pub fn base(
        family: Family,
        table: &str,
        name: &str,
        kind: ChainType,
        hook: Hook,
        priority: i32,
    ) -> Chain {
        let mut chain = Chain::regular(family, table, name);
        chain.base = Some(BaseChain {
            hook,
            priority,
            kind,
            policy: Policy::Accept,
            device: None,
        });
        chain
    }

    /// Sets a base chain's policy (no effect on a regular chain).
    pub fn policy(mut self, policy: Policy) -> Chain {
        if let Some(base) = &mut self.base {
            base.policy = policy;
        }
        self
    }

    /// Sets the comment.
    pub fn comment(mut self, text: &str) -> Chain {
        self.comment = Some(text.to_owned());
        self
    }

    /// How errors name the chain: `"inet twill forward"`.
    pub fn label(&self) -> String {
        format!("\"{} {} {}\"", self.family, self.table, self.name)
    }

    /// Writes a NEWCHAIN request (attribute order as `nft` sends it).
    pub(crate) fn emit(&self, flags: u16) -> MessageBuilder {
        let mut b = request(NFT_MSG_NEWCHAIN, flags, self.family);
        b.attr_str(NFTA_CHAIN_TABLE, &self.table);
        b.attr_str(NFTA_CHAIN_NAME, &self.name);
        if let Some(base) = &self.base {
            b.attr_str(NFTA_CHAIN_TYPE, base.kind.name());
            let policy = match base.policy {
                Policy::Accept => NF_ACCEPT,
                Policy::Drop => NF_DROP,
            };
            put_be32(&mut b, NFTA_CHAIN_POLICY, policy as u32);
            let hook = b.nest_start_flagged(NFTA_CHAIN_HOOK);
            put_be32(&mut b, NFTA_HOOK_HOOKNUM, base.hook.raw(self.family));
            put_be32(&mut b, NFTA_HOOK_PRIORITY, base.priority as u32);
            if let Some(dev) = &base.device {
                b.attr_str(NFTA_HOOK_DEV, dev);
            }
            b.nest_end(hook);
        }
        if let Some(text) = &self.comment {
            b.attr(NFTA_CHAIN_USERDATA, &comment_udata(UDATA_COMMENT, text));
        }
        b
    }

    /// Decodes a NEWCHAIN message.
    pub fn parse(msg: &Message<'_>) -> Result<Chain, WireError> {
        let (family, attrs) = split(msg)?;
        let mut chain = Chain::regular(family, "", "");
        let (mut hook, mut priority, mut device) = (None, 0, None);
        let (mut kind, mut policy) = (ChainType::Filter, Policy::Accept);
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                NFTA_CHAIN_TABLE => chain.table = string(&attr)?,
                NFTA_CHAIN_NAME => chain.name = string(&attr)?,
                NFTA_CHAIN_HANDLE => chain.handle = Some(be64(&attr)?),
                NFTA_CHAIN_TYPE => {
                    kind = match attr.as_str()? {
                        "nat" => ChainType::Nat,
                        "route" => ChainType::Route,
                        _ => ChainType::Filter,
                    }
                }
                NFTA_CHAIN_POLICY => {
                    policy = match be32(&attr)? as i32 {
                        NF_DROP => Policy::Drop,
                        _ => Policy::Accept,
                    }
                }
                NFTA_CHAIN_HOOK => {
                    for inner in attr.nested() {
                        let inner = inner?;
                        match inner.kind() {
                            NFTA_HOOK_HOOKNUM => hook = Some(be32(&inner)?),
                            NFTA_HOOK_PRIORITY => priority = be32(&inner)? as i32,
                            NFTA_HOOK_DEV => device = Some(string(&inner)?),
                            _ => {}
                        }
                    }
                }
                NFTA_CHAIN_USERDATA => {
                    chain.comment = parse_comment(UDATA_COMMENT, attr.payload());
                }
                _ => {}
            }
        }
        if chain.table.is_empty() || chain.name.is_empty() {
            return Err(WireError::Missing("chain table or name"));
        }
        if let Some(raw) = hook {
            chain.base = Some(BaseChain {
                hook: Hook::from_raw(raw, family)?,
                priority,
                kind,
                policy,
                device,
            });
        }
        Ok(chain)
    }
}
