//! The forwarding loops. Each lane has a TUN queue and a UDP socket, and two threads:
//!
//! * **TUN → UDP** reads packets from the queue without blocking until it runs dry or has
//!   [`BATCH`], looks each destination up in the peer table, and sends the batch with one
//!   `sendmmsg`. It polls only when the first read of a batch finds the queue empty.
//! * **UDP → TUN** takes up to [`BATCH`] datagrams per `recvmmsg`, drops those from
//!   unknown senders or for destinations outside our subnets, and writes the rest to the
//!   queue, one `write` per packet (a TUN device has no batched write without vnet headers).
//!
//! Both directions of a lane share its queue on purpose: a multi-queue TUN device sends a
//! flow's outgoing packets to the queue its incoming packets were written on, so the queue
//! written by a lane's receiver must be the one read by its sender.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::peers::{OwnSubnets, PeerTable};
use super::socket::{RecvBatch, SendBatch, UdpSocket, BATCH};
use super::stats::{rx, tx, Counters, Tally};
use super::wake::Stop;
use super::wire;

/// What every forwarding thread shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub stop: Stop,
    pub counters: Counters,
    pub peers: PeerSlot,
    pub own: OwnSubnets,
}

/// The current peer table. Writers swap in a new one and bump the generation; readers
/// compare the generation once per batch and take the lock only when it changed, so the
/// data path never contends with `set_peers`.
#[derive(Debug, Default)]
pub(super) struct PeerSlot {
    generation: AtomicU64,
    table: RwLock<Arc<PeerTable>>,
}

impl PeerSlot {
    pub fn replace(&self, table: PeerTable) {
        let table = Arc::new(table);
        // A poisoned lock only means a reader panicked while holding it; the Arc inside
        // is still whole, so keep going.
        let mut slot = self.table.write().unwrap_or_else(|p| p.into_inner());
        *slot = table;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Refreshes a thread's copy if the table changed since `cached` was taken.
    fn refresh(&self, cached: &mut (u64, Arc<PeerTable>)) {
        let now = self.generation.load(Ordering::Acquire);
        if now != cached.0 {
            let slot = self.table.read().unwrap_or_else(|p| p.into_inner());
            *cached = (now, Arc::clone(&slot));
        }
    }
}

/// Pause after an unexpected I/O error (say, the device was deleted under us), so a
/// persistent error cannot spin a core.
const BACKOFF: Duration = Duration::from_millis(50);

/// TUN → UDP until the backend stops.
pub(super) fn tun_to_udp(shared: &Shared, tun: &File, sock: &UdpSocket) {
    let mut batch = SendBatch::new();
    let mut table = (u64::MAX, Arc::new(PeerTable::default()));
    // The peer of the previous packet: bulk traffic comes in runs to one destination.
    let mut last: Option<(IpAddr, SocketAddr)> = None;
    while !shared.stop.stopped() {
        let generation = table.0;
        shared.peers.refresh(&mut table);
        if table.0 != generation {
            last = None;
        }
        let mut tally = Tally::default();
        batch.clear();
        let mut read_any = false;
        let mut idle = false;
        let mut failed = false;
        while !batch.is_full() {
            let Some(slot) = batch.next_slot() else { break };
            let n = match (&*tun).read(slot) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    idle = !read_any;
                    break;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            };
            read_any = true;
            let Some(packet) = batch.next_packet(n) else {
                break;
            };
            let dst = match wire::destination(packet) {
                Ok(dst) => dst,
                Err(_) => {
                    tally.drop(tx::MALFORMED);
                    continue;
                }
            };
            let to = match last {
                Some((d, to)) if d == dst => Some(to),
                _ => route(&table.1, &shared.own, dst).and_then(|peer| sock.peer_addr(peer)),
            };
            match to {
                Some(to) => {
                    last = Some((dst, to));
                    batch.push(n, to);
                }
                None => tally.drop(tx::NO_PEER),
            }
        }
        if batch.len() > 0 {
            let sent = sock.send_batch(&mut batch);
            tally.packets += sent.packets as u64;
            tally.bytes += sent.bytes as u64;
            for _ in 0..sent.failed {
                tally.drop(tx::SEND_FAILED);
            }
        }
        shared.counters.tx.add(&tally);
        if failed {
            std::thread::sleep(BACKOFF);
        } else if idle {
            match shared.stop.wait_readable(tun.as_fd()) {
                Ok(true) => {}
                Ok(false) => return,
                Err(_) => std::thread::sleep(BACKOFF),
            }
        }
    }
}

/// UDP → TUN until the backend stops.
pub(super) fn udp_to_tun(shared: &Shared, sock: &UdpSocket, tun: &File) {
    let mut batch = RecvBatch::new();
    let mut table = (u64::MAX, Arc::new(PeerTable::default()));
    while !shared.stop.stopped() {
        let n = match sock.recv_batch(&mut batch) {
            Ok(0) => {
                match shared.stop.wait_readable(sock.as_fd()) {
                    Ok(true) => continue,
                    Ok(false) => return,
                    Err(_) => std::thread::sleep(BACKOFF),
                }
                continue;
            }
            Ok(n) => n,
            Err(_) => {
                std::thread::sleep(BACKOFF);
                continue;
            }
        };
        shared.peers.refresh(&mut table);
        let mut tally = Tally::default();
        for i in 0..n.min(BATCH) {
            let Some(d) = batch.datagram(i) else {
                break;
            };
            // A coalesced datagram is several packets from one sender: each is checked
            // and written on its own.
            for packet in d.packets() {
                match accept(&table.1, &shared.own, d.src, packet, d.truncated) {
                    Err(reason) => tally.drop(reason),
                    Ok(()) => match write_packet(tun, packet) {
                        Ok(()) => tally.forwarded(packet.len()),
                        Err(_) => tally.drop(rx::WRITE_FAILED),
                    },
                }
            }
        }
        shared.counters.rx.add(&tally);
    }
}

/// The peer a packet read from the device goes to. Our own subnets go nowhere, even if
/// the table lists them: such a packet reached the device only because the local route
/// is missing, and sending it to ourselves would loop it through the device until its
/// TTL ran out.
pub(super) fn route(peers: &PeerTable, own: &OwnSubnets, dst: IpAddr) -> Option<IpAddr> {
    if own.contains(dst) {
        return None;
    }
    peers.lookup(dst)
}

/// Whether a received datagram may be delivered, or the drop reason. The source check
/// comes first: it is the cheapest, and strangers' bytes are not worth parsing.
pub(super) fn accept(
    peers: &PeerTable,
    own: &OwnSubnets,
    src: Option<IpAddr>,
    payload: &[u8],
    truncated: bool,
) -> Result<(), usize> {
    if !src.is_some_and(|s| peers.is_peer(s)) {
        return Err(rx::UNKNOWN_SOURCE);
    }
    if truncated {
        return Err(rx::MALFORMED);
    }
    let dst = wire::destination(payload).map_err(|_| rx::MALFORMED)?;
    if !own.contains(dst) {
        return Err(rx::NOT_OURS);
    }
    Ok(())
}

/// Writes one packet; a TUN write takes the whole packet or fails.
fn write_packet(tun: &File, packet: &[u8]) -> io::Result<()> {
    loop {
        match (&*tun).write(packet) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twill_kernel::IpPrefix;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn packet_to(dst: [u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[12..16].copy_from_slice(&[10, 244, 2, 9]);
        p[16..20].copy_from_slice(&dst);
        p
    }

    fn setup() -> (PeerTable, OwnSubnets) {
        let peers = PeerTable::new(vec![
            ("10.244.2.0/24".parse().unwrap(), ip("198.18.0.2")),
            ("10.244.3.0/24".parse().unwrap(), ip("198.18.0.3")),
        ]);
        let own: IpPrefix = "10.244.1.0/24".parse().unwrap();
        (peers, OwnSubnets::new(&[own]))
    }

    #[test]
    fn a_peers_packet_for_our_subnet_is_delivered() {
        let (peers, own) = setup();
        let p = packet_to([10, 244, 1, 7]);
        assert_eq!(
            accept(&peers, &own, Some(ip("198.18.0.2")), &p, false),
            Ok(())
        );
        // Any peer may send to any of our addresses, not only the peer's own pods' peers.
        assert_eq!(
            accept(&peers, &own, Some(ip("198.18.0.3")), &p, false),
            Ok(())
        );
    }

    #[test]
    fn strangers_are_dropped_before_anything_else() {
        let (peers, own) = setup();
        let p = packet_to([10, 244, 1, 7]);
        for src in [Some(ip("198.18.0.99")), Some(ip("10.244.2.1")), None] {
            assert_eq!(
                accept(&peers, &own, src, &p, false),
                Err(rx::UNKNOWN_SOURCE)
            );
        }
        // Garbage from a stranger is counted as a stranger's, not parsed.
        assert_eq!(
            accept(&peers, &own, Some(ip("192.0.2.1")), b"\xff", false),
            Err(rx::UNKNOWN_SOURCE)
        );
    }

    #[test]
    fn we_are_no_relay() {
        let (peers, own) = setup();
        for dst in [
            [10, 244, 3, 1],
            [10, 244, 2, 1],
            [8, 8, 8, 8],
            [127, 0, 0, 1],
        ] {
            let p = packet_to(dst);
            assert_eq!(
                accept(&peers, &own, Some(ip("198.18.0.2")), &p, false),
                Err(rx::NOT_OURS),
                "{dst:?}"
            );
        }
    }

    #[test]
    fn malformed_or_truncated_payloads_are_dropped() {
        let (peers, own) = setup();
        let src = Some(ip("198.18.0.2"));
        let p = packet_to([10, 244, 1, 7]);
        assert_eq!(accept(&peers, &own, src, &p, true), Err(rx::MALFORMED));
        assert_eq!(
            accept(&peers, &own, src, &p[..19], false),
            Err(rx::MALFORMED)
        );
        assert_eq!(accept(&peers, &own, src, b"", false), Err(rx::MALFORMED));
        assert_eq!(
            accept(&peers, &own, src, &[0x55; 64], false),
            Err(rx::MALFORMED)
        );
    }

    #[test]
    fn packets_go_to_the_peer_of_their_subnet_and_never_back_to_us() {
        let (mut peers, own) = setup();
        assert_eq!(
            route(&peers, &own, ip("10.244.3.4")),
            Some(ip("198.18.0.3"))
        );
        assert_eq!(route(&peers, &own, ip("10.244.9.4")), None);
        // A table that lists our own subnet (pointing at us) still keeps it local.
        peers = PeerTable::new(vec![("10.244.1.0/24".parse().unwrap(), ip("198.18.0.1"))]);
        assert_eq!(route(&peers, &own, ip("10.244.1.4")), None);
    }

    #[test]
    fn a_replaced_table_reaches_readers_at_their_next_batch() {
        let slot = PeerSlot::default();
        let mut cached = (u64::MAX, Arc::new(PeerTable::default()));
        slot.refresh(&mut cached);
        assert!(cached.1.is_empty());
        slot.replace(PeerTable::new(vec![(
            "10.244.2.0/24".parse().unwrap(),
            ip("198.18.0.2"),
        )]));
        slot.refresh(&mut cached);
        assert_eq!(cached.1.lookup(ip("10.244.2.1")), Some(ip("198.18.0.2")));
    }
}
