//! The forwarding loops. Each lane has a TUN queue and a UDP socket, and two threads:
//!
//! * **TUN → UDP** reads packets from the queue without blocking until it runs dry, has
//!   read [`BATCH`] or its arena is full, looks each destination up in the peer table,
//!   cuts super-packets into wire packets (`tso.rs`), and sends the batch with as few
//!   `sendmmsg` calls as it takes. It polls only when the first read of a batch finds the
//!   queue empty.
//! * **UDP → TUN** takes up to [`BATCH`] datagrams per `recvmmsg`, drops packets from
//!   unknown senders or for destinations outside our subnets, merges runs of TCP segments
//!   (`gro.rs`) and writes each run, and each other packet, with one `writev`.
//!
//! Both directions of a lane share its queue on purpose: a multi-queue TUN device sends a
//! flow's outgoing packets to the queue its incoming packets were written on, so the queue
//! written by a lane's receiver must be the one read by its sender.

use std::fs::File;
use std::io::{self, IoSlice, Read, Write};

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use twill_kernel::tun::vnet::{VnetRepr, VNET_HDR_LEN};
use twill_kernel::tun::Offloads;

use super::gro::{Gro, Parts, MAX_HEADERS, MAX_SEGMENTS};
use super::peers::{OwnSubnets, PeerTable};
use super::socket::{RecvBatch, SendBatch, UdpSocket, BATCH};
use super::stats::{rx, tx, Counters, Tally};
use super::tso;
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

/// How packets cross the TUN queue.
#[derive(Debug, Clone, Copy)]
pub(super) struct Path {
    /// A `virtio_net_hdr` precedes every packet read and written.
    pub vnet_hdr: bool,
    /// What the kernel may hand us (and so what we may hand it back).
    pub offloads: Offloads,
}

/// A read from the device: a vnet header and a packet of up to 64 KiB, with room to spare
/// so that a packet that does not fit shows as one that fills the buffer.
const READ_BUF: usize = VNET_HDR_LEN + 65536 + 1024;

/// Pause after an unexpected I/O error (say, the device was deleted under us), so a
/// persistent error cannot spin a core.
const BACKOFF: Duration = Duration::from_millis(50);

/// TUN → UDP until the backend stops.
pub(super) fn tun_to_udp(shared: &Shared, tun: &File, sock: &UdpSocket, path: Path) {
    let mut batch = SendBatch::new();
    let mut read = vec![0u8; READ_BUF];
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
        let mut reads = 0;
        let mut idle = false;
        let mut failed = false;
        while reads < BATCH && !batch.is_full() {
            let n = match (&*tun).read(&mut read) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    idle = reads == 0;
                    break;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            };
            reads += 1;
            let Some((vnet, packet)) = split_read(read.get(..n).unwrap_or_default(), path) else {
                tally.drop(tx::MALFORMED);
                continue;
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
            let Some(to) = to else {
                tally.drop(tx::NO_PEER);
                continue;
            };
            last = Some((dst, to));
            if tso::emit(&vnet, packet, &mut batch.to(to)).is_err() {
                tally.drop(tx::MALFORMED);
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

/// A read from the device as its vnet header (a zero one without vnet headers) and the
/// packet; `None` if the header is bad or the packet filled the buffer (cut short).
fn split_read(bytes: &[u8], path: Path) -> Option<(VnetRepr, &[u8])> {
    if bytes.len() >= READ_BUF {
        return None;
    }
    if !path.vnet_hdr {
        return Some((VnetRepr::default(), bytes));
    }
    let vnet = VnetRepr::parse_bytes(bytes).ok()?;
    Some((vnet, bytes.get(VNET_HDR_LEN..)?))
}

/// UDP → TUN until the backend stops.
pub(super) fn udp_to_tun(shared: &Shared, sock: &UdpSocket, tun: &File, path: Path) {
    let mut batch = RecvBatch::new();
    let mut table = (u64::MAX, Arc::new(PeerTable::default()));
    let mut writer = Writer {
        tun,
        vnet_hdr: path.vnet_hdr,
        // Merged packets are TSO packets to the kernel: only where it granted TSO.
        merge: Gro::new(
            path.vnet_hdr && path.offloads.contains(Offloads::CSUM.with(Offloads::TSO4)),
            path.vnet_hdr && path.offloads.contains(Offloads::CSUM.with(Offloads::TSO6)),
        ),
    };
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
        writer.merge.clear();
        let buf = batch.buffer();
        for i in 0..n.min(BATCH) {
            let Some(d) = batch.datagram(i) else {
                break;
            };
            // A coalesced datagram is several packets from one sender: each is checked
            // on its own.
            for r in d.ranges() {
                let packet = buf.get(r.clone()).unwrap_or_default();
                match accept(&table.1, &shared.own, d.src, packet, d.truncated) {
                    Err(reason) => tally.drop(reason),
                    Ok(()) => writer.merge.push(buf, r),
                }
            }
        }
        writer.write_all(buf, &mut tally);
        shared.counters.rx.add(&tally);
    }
}

/// The writing end of a lane: the queue, and the merging of runs.
struct Writer<'a> {
    tun: &'a File,
    vnet_hdr: bool,
    merge: Gro,
}

impl Writer<'_> {
    /// Writes what the batch's packets became, counting each wire packet.
    fn write_all(&mut self, buf: &[u8], tally: &mut Tally) {
        let mut refused = false;
        for item in self.merge.items() {
            let bytes: usize = self.merge.packets(item).map(|r| r.len()).sum();
            let mut scratch = [0u8; MAX_HEADERS];
            let mut parts: Parts<'_> = [&[]; MAX_SEGMENTS + 1];
            let (vnet, n) = self.merge.gather(item, buf, &mut scratch, &mut parts);
            let parts = parts.get(..n).unwrap_or_default();
            match write_parts(self.tun, self.vnet_hdr.then_some(&vnet[..]), parts) {
                Ok(()) => {
                    tally.packets += item.segments() as u64;
                    tally.bytes += bytes as u64;
                }
                // A kernel that refuses a merged packet gets its segments one by one,
                // and no more merged packets from this lane.
                Err(e) if item.merged() && e.raw_os_error() == Some(libc::EINVAL) => {
                    refused = true;
                    for r in self.merge.packets(item) {
                        let p = buf.get(r).unwrap_or_default();
                        let zero = VnetRepr::default().to_bytes();
                        match write_parts(self.tun, self.vnet_hdr.then_some(&zero[..]), &[p]) {
                            Ok(()) => tally.forwarded(p.len()),
                            Err(_) => tally.drop(rx::WRITE_FAILED),
                        }
                    }
                }
                Err(_) => {
                    for _ in 0..item.segments() {
                        tally.drop(rx::WRITE_FAILED);
                    }
                }
            }
        }
        if refused {
            self.merge = Gro::new(false, false);
        }
    }
}

/// Writes one packet, in parts, behind `vnet` if the queue has vnet headers; a TUN write
/// takes the whole packet or fails.
fn write_parts(tun: &File, vnet: Option<&[u8]>, parts: &[&[u8]]) -> io::Result<()> {
    // On the stack: this runs once per packet that is not merged.
    let mut slices = [IoSlice::new(&[]); MAX_SEGMENTS + 2];
    let mut n = 0;
    for (slot, part) in slices
        .iter_mut()
        .zip(vnet.into_iter().chain(parts.iter().copied()))
    {
        *slot = IoSlice::new(part);
        n += 1;
    }
    let slices = slices.get(..n).unwrap_or_default();
    loop {
        match (&*tun).write_vectored(slices) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
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
