//! Unit tests of the nf_tables encoding: whole messages compared with the bytes `nft`
//! sends for the same objects, kernel replies captured from `nft list ruleset` parsed
//! back, hostile input, batch answers, skeleton versions.
//!
//! The fixtures under `../testdata` were captured on a little-endian host (x86_64) with
//! `strace -e write=3`/`-e read=3` of `nft -f testdata/probe.nft` and `nft list ruleset`
//! in a scratch namespace; host-order fields (netlink headers, registers holding host-order
//! values) make them little-endian only.

mod batch;
mod encode;
mod hostile;
mod parse;
mod skeleton;

use crate::nl::Message;

/// The messages of a fixture: `# comment` lines name them, hex lines are their bytes.
pub(super) fn fixture(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            (0..l.len() / 2)
                .map(|i| u8::from_str_radix(&l[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

/// The batch `nft -f probe.nft` sent: begin, 3 chains after the table, 3 sets, …, end.
pub(super) fn nft_batch() -> Vec<Vec<u8>> {
    fixture(include_str!("../testdata/nft_add_batch.hex"))
}

/// The replies to `nft list ruleset` for that ruleset.
pub(super) fn nft_listing() -> Vec<Vec<u8>> {
    fixture(include_str!("../testdata/nft_list_replies.hex"))
}

/// The captured replies of one nf_tables message type.
pub(super) fn replies_of(msg: u8) -> Vec<Vec<u8>> {
    nft_listing()
        .into_iter()
        .filter(|m| Message::new_checked(m).unwrap().msg_type() == 0x0a00 | u16::from(msg))
        .collect()
}
