//! Truncated and random input through every parser: errors, never panics.

use super::nft_listing;
use crate::nft::reply::BatchReplies;
use crate::nft::*;
use crate::nl::Message;

fn every_parser(bytes: &[u8]) {
    if let Ok(msg) = Message::new_checked(bytes) {
        let _ = Table::parse(&msg);
        let _ = Chain::parse(&msg);
        let _ = Set::parse(&msg);
        let _ = Rule::parse(&msg);
        let _ = parse_elements(&msg);
    }
    let mut replies = BatchReplies::new(0, 4);
    let _ = replies.feed(bytes);
    let _ = replies.first_error();
}

#[test]
fn every_truncation_of_every_captured_reply() {
    for msg in nft_listing() {
        for end in 0..msg.len() {
            let mut cut = msg[..end].to_vec();
            every_parser(&cut);
            // Also with the length field claiming only what is left.
            if cut.len() >= 4 {
                let len = cut.len() as u32;
                cut[0..4].copy_from_slice(&len.to_ne_bytes());
                every_parser(&cut);
            }
        }
    }
}

#[test]
fn random_bytes_and_flipped_bits() {
    // A small xorshift generator: deterministic, no dependency.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let listing = nft_listing();
    for i in 0..3000 {
        let mut bytes = listing[i % listing.len()].clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() as usize) % bytes.len();
            bytes[at] = next() as u8;
        }
        every_parser(&bytes);
        let len = (next() % 300) as usize;
        let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        every_parser(&noise);
    }
}
