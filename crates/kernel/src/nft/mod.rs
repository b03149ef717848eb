//! nf_tables over netlink (`NETLINK_NETFILTER`), without `nft`, libnftnl or libnftables.
//!
//! * Objects, each a value with `parse` (from a kernel message) and an encoder used by
//!   [`Batch`]: [`Table`], [`Chain`], [`Set`] (sets and maps, concatenated keys, verdict
//!   and value data), [`Element`], [`Rule`] made of [`Expr`]essions.
//! * [`Batch`]: changes applied atomically by [`Nftables::apply`], each acknowledged, the
//!   first refusal reported with the operation and object it was about.
//! * Listing on [`Nftables`]: tables, chains, sets, elements, rules, one element by key.
//! * [`Skeleton`] and [`Nftables::ensure`]: a network's table, chains, sets and rules,
//!   installed once, verified with one request, repaired in one batch.
//! * [`matching`]: rules written in fields (`ip saddr`, `th dport`, concatenations) rather
//!   than registers.
//!
//! The split that makes per-pod work O(1): a skeleton's rules never mention a pod; they
//! look pods up in sets and maps, and a pod's ADD or DEL is one batch of element changes.
//! See `docs/nftables.md`.

mod batch;
pub mod chain;
mod consts;
pub mod element;
pub mod expr;
mod list;
pub mod matching;
mod reply;
pub mod rule;
pub mod set;
pub mod skeleton;
mod socket;
pub mod table;
mod wire;

#[cfg(test)]
mod tests;

pub use batch::{Batch, SetRef};
pub use chain::{BaseChain, Chain, ChainType, Hook, Policy};
pub use element::{concat, parse_elements, Element, Value};
pub use expr::{Data, Expr, Reg, Verdict};
pub use matching::Field;
pub use rule::Rule;
pub use set::{DataType, Set, SetData, SET_CONSTANT, SET_INTERVAL, SET_TIMEOUT};
pub use skeleton::{Ensured, Skeleton, SkeletonChain, MARKER_SET};
pub use socket::Nftables;
pub use table::{Family, Table, TABLE_DORMANT, TABLE_OWNER};
