//! Counters of the forwarding threads. Each thread counts a batch locally and adds it to
//! the shared atomics once per batch, and each direction's atomics sit on a cache line of
//! their own, so counting costs the data path next to nothing.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What the backend has forwarded and dropped since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// Packets read from the TUN device and sent to a peer.
    pub tx_packets: u64,
    /// Bytes of those packets (inner IP packets; the UDP and IP headers are not counted).
    pub tx_bytes: u64,
    /// Datagrams received from peers and written to the TUN device.
    pub rx_packets: u64,
    /// Bytes of those datagrams' payloads.
    pub rx_bytes: u64,
    /// What was dropped, by reason.
    pub drops: UdpDrops,
}

/// Dropped packets by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpDrops {
    /// Read from the TUN device, but no peer's subnet contains the destination.
    pub no_peer: u64,
    /// Read from the TUN device, but not a well-formed IPv4/IPv6 header.
    pub tun_malformed: u64,
    /// The kernel refused to send the datagram (unreachable peer, message too long, …).
    pub send_failed: u64,
    /// Received from an address that is no peer's (a spoofed or stale sender).
    pub unknown_source: u64,
    /// Received, but the inner destination is outside our subnets (we are no relay).
    pub not_ours: u64,
    /// Received, but the payload is not a well-formed IPv4/IPv6 packet, or was truncated.
    pub udp_malformed: u64,
    /// Received and valid, but the TUN device refused the write.
    pub write_failed: u64,
}

impl UdpDrops {
    /// All drops together.
    pub fn total(&self) -> u64 {
        self.no_peer
            + self.tun_malformed
            + self.send_failed
            + self.unknown_source
            + self.not_ours
            + self.udp_malformed
            + self.write_failed
    }
}

/// One direction's counters: packets, bytes and that direction's drop reasons.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(super) struct Direction {
    packets: AtomicU64,
    bytes: AtomicU64,
    drops: [AtomicU64; 4],
}

/// A batch's worth of counts, kept by one thread and then added in one go.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    pub packets: u64,
    pub bytes: u64,
    pub drops: [u64; 4],
}

impl Tally {
    /// Counts one forwarded packet of `len` bytes.
    pub fn forwarded(&mut self, len: usize) {
        self.packets += 1;
        self.bytes += len as u64;
    }

    /// Counts one drop of reason `r` (an index into the direction's reasons).
    pub fn drop(&mut self, r: usize) {
        if let Some(d) = self.drops.get_mut(r) {
            *d += 1;
        }
    }
}

impl Direction {
    pub fn add(&self, t: &Tally) {
        if t.packets != 0 {
            self.packets.fetch_add(t.packets, Relaxed);
            self.bytes.fetch_add(t.bytes, Relaxed);
        }
        for (a, n) in self.drops.iter().zip(t.drops) {
            if n != 0 {
                a.fetch_add(n, Relaxed);
            }
        }
    }

    fn drop_count(&self, r: usize) -> u64 {
        self.drops.get(r).map_or(0, |a| a.load(Relaxed))
    }
}

/// Drop reasons of the TUN → UDP direction.
pub(super) mod tx {
    pub const NO_PEER: usize = 0;
    pub const MALFORMED: usize = 1;
    pub const SEND_FAILED: usize = 2;
}

/// Drop reasons of the UDP → TUN direction.
pub(super) mod rx {
    pub const UNKNOWN_SOURCE: usize = 0;
    pub const NOT_OURS: usize = 1;
    pub const MALFORMED: usize = 2;
    pub const WRITE_FAILED: usize = 3;
}

/// Both directions.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub tx: Direction,
    pub rx: Direction,
}

impl Counters {
    pub fn snapshot(&self) -> UdpStats {
        UdpStats {
            tx_packets: self.tx.packets.load(Relaxed),
            tx_bytes: self.tx.bytes.load(Relaxed),
            rx_packets: self.rx.packets.load(Relaxed),
            rx_bytes: self.rx.bytes.load(Relaxed),
            drops: UdpDrops {
                no_peer: self.tx.drop_count(tx::NO_PEER),
                tun_malformed: self.tx.drop_count(tx::MALFORMED),
                send_failed: self.tx.drop_count(tx::SEND_FAILED),
                unknown_source: self.rx.drop_count(rx::UNKNOWN_SOURCE),
                not_ours: self.rx.drop_count(rx::NOT_OURS),
                udp_malformed: self.rx.drop_count(rx::MALFORMED),
                write_failed: self.rx.drop_count(rx::WRITE_FAILED),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up_into_the_snapshot() {
        let c = Counters::default();
        let mut t = Tally::default();
        t.forwarded(100);
        t.forwarded(50);
        t.drop(tx::NO_PEER);
        t.drop(tx::SEND_FAILED);
        t.drop(99); // out of range: ignored, never a panic
        c.tx.add(&t);
        let mut r = Tally::default();
        r.forwarded(1400);
        r.drop(rx::NOT_OURS);
        r.drop(rx::UNKNOWN_SOURCE);
        r.drop(rx::UNKNOWN_SOURCE);
        c.rx.add(&r);
        let s = c.snapshot();
        assert_eq!((s.tx_packets, s.tx_bytes), (2, 150));
        assert_eq!((s.rx_packets, s.rx_bytes), (1, 1400));
        assert_eq!(s.drops.no_peer, 1);
        assert_eq!(s.drops.send_failed, 1);
        assert_eq!(s.drops.not_ours, 1);
        assert_eq!(s.drops.unknown_source, 2);
        assert_eq!(s.drops.total(), 5);
    }
}
