//! Arbitrary bytes through every DHCP parser: none panics, and what parses emits bytes that
//! parse back to the same value. A deterministic generator keeps it reproducible and quick;
//! mutations of a valid message reach the deep paths a blind generator would not.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::net::Ipv4Addr;

use super::client::ClientParams;
use super::frame::{self, Datagram};
use super::message::Repr;
use super::options::{classless_routes, static_routes, Options};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn byte(&mut self) -> u8 {
        (self.next() & 0xff) as u8
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).unwrap() % n.max(1)
    }
}

fn seed_message() -> Vec<u8> {
    let params = ClientParams {
        mac: [2, 0, 0, 0, 0, 1],
        client_id: super::client::client_id("c", "n", "eth0"),
        requested: vec![1, 3, 121],
        provided: vec![(12, b"host".to_vec())],
        broadcast: true,
    };
    params.discover(9, Some(Ipv4Addr::new(10, 0, 0, 9))).emit()
}

fn check_all(bytes: &[u8]) {
    if let Ok(r) = Repr::parse_bytes(bytes) {
        let again = Repr::parse_bytes(&r.emit()).unwrap();
        assert_eq!(again, r);
    }
    if let Ok(o) = Options::parse(bytes) {
        let mut out = Vec::new();
        o.emit(&mut out);
        assert_eq!(Options::parse(&out).unwrap(), o);
        let _ = o.prefix_len();
        let _ = o.message_type();
    }
    let _ = classless_routes(bytes);
    let _ = static_routes(bytes);
    if let Ok(d) = frame::parse(bytes) {
        let copy = Datagram {
            payload: d.payload,
            ..d.clone()
        };
        assert_eq!(frame::parse(&copy.emit()).unwrap(), d);
    }
}

#[test]
fn random_and_mutated_inputs_never_panic_and_round_trip() {
    let mut rng = Lcg(0x7769_6c6c);
    let seed = seed_message();
    let framed = Datagram {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::BROADCAST,
        src_port: 67,
        dst_port: 68,
        payload: &seed,
    }
    .emit();
    for i in 0..20_000 {
        let mut bytes = match i % 3 {
            0 => (0..rng.below(400)).map(|_| rng.byte()).collect::<Vec<u8>>(),
            1 => seed.clone(),
            _ => framed.clone(),
        };
        if i % 3 != 0 {
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.byte();
            }
            let keep = bytes.len() - rng.below(bytes.len() / 4);
            bytes.truncate(keep);
        }
        check_all(&bytes);
        // The options field of the seed, mutated, on its own.
        if bytes.len() > 240 {
            check_all(&bytes[240..]);
        }
    }
}
