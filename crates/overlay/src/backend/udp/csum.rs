//! The Internet checksum (RFC 1071) for the offload paths: the segmenter fills in the
//! TCP/UDP checksum of every segment it cuts, the coalescer verifies each segment before
//! merging it (after that the kernel trusts the super-packet, as it does after its own
//! GRO) and both rewrite IPv4 header checksums.
//!
//! Sums are kept unfolded in a `u64` of big-endian 32-bit words: a 64 KiB packet adds at
//! most 2^14 words below 2^32, far from overflow, and the loop vectorises. The one's
//! complement sum is the same whatever the word width, so folding at the end gives the
//! 16-bit result.

/// The unfolded sum of `data` (an odd last byte is padded with zero), plus `initial`.
pub(super) fn sum(data: &[u8], initial: u64) -> u64 {
    let mut acc = initial;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        if let Ok(w) = <[u8; 4]>::try_from(w) {
            acc += u64::from(u32::from_be_bytes(w));
        }
    }
    let mut tail = [0u8; 4];
    for (t, b) in tail.iter_mut().zip(words.remainder()) {
        *t = *b;
    }
    acc + u64::from(u32::from_be_bytes(tail))
}

/// Folds an unfolded sum to 16 bits (not inverted).
pub(super) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum to store: the inverted fold.
pub(super) fn finish(acc: u64) -> u16 {
    !fold(acc)
}

/// The unfolded sum of the TCP/UDP pseudo-header: addresses, protocol, length.
pub(super) fn pseudo(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u64 {
    let acc = sum(src, 0);
    let acc = sum(dst, acc);
    acc + u64::from(proto) + len as u64
}

/// The addresses of an IP header, as the slices the pseudo-header sums: 4 or 16 bytes.
pub(super) fn addresses(ip: &[u8]) -> Option<(&[u8], &[u8])> {
    match ip.first()? >> 4 {
        4 => Some((ip.get(12..16)?, ip.get(16..20)?)),
        6 => Some((ip.get(8..24)?, ip.get(24..40)?)),
        _ => None,
    }
}

/// Recomputes the checksum of the IPv4 header `h` (its whole length, options included).
pub(super) fn set_ipv4_header(h: &mut [u8]) {
    if let Some(c) = h.get_mut(10..12) {
        c.fill(0);
    }
    let c = finish(sum(h, 0));
    if let Some(field) = h.get_mut(10..12) {
        field.copy_from_slice(&c.to_be_bytes());
    }
}

/// Whether the checksum of an IPv4 header is right.
pub(super) fn ipv4_header_ok(h: &[u8]) -> bool {
    fold(sum(h, 0)) == 0xffff
}

/// For tests: an address as pseudo-header bytes.
#[cfg(test)]
pub(super) fn octets(a: std::net::IpAddr) -> Vec<u8> {
    match a {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook 16-bit loop, to check the fast one against.
    fn reference(data: &[u8]) -> u16 {
        let mut acc = 0u32;
        for w in data.chunks(2) {
            let hi = u32::from(w[0]) << 8;
            let lo = w.get(1).map_or(0, |&b| u32::from(b));
            acc += hi | lo;
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn matches_the_textbook_sum_at_every_length_and_alignment() {
        let data: Vec<u8> = (0..3000u32).map(|i| ((i * 7919) >> 3) as u8).collect();
        for start in 0..5 {
            for len in (0..200).chain([1399, 1400, 1401, 2995 - start]) {
                let d = &data[start..start + len];
                let want = reference(d);
                let got = fold(sum(d, 0));
                // 0 and 0xffff are both "zero" in one's complement.
                assert!(
                    got == want || (got, want) == (0xffff, 0) || (got, want) == (0, 0xffff),
                    "start {start} len {len}: {got:#x} vs {want:#x}"
                );
            }
        }
    }

    #[test]
    fn an_ipv4_header_checksum_verifies() {
        // RFC 1071's classic example header.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0x00,
            0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        set_ipv4_header(&mut h);
        assert_eq!(&h[10..12], &[0xb8, 0x61]);
        assert!(ipv4_header_ok(&h));
        h[3] ^= 1;
        assert!(!ipv4_header_ok(&h));
        let (s, d) = addresses(&h).unwrap();
        assert_eq!((s, d), (&h[12..16], &h[16..20]));
        assert_eq!(octets("10.0.0.1".parse().unwrap()), [10, 0, 0, 1]);
        assert_eq!(addresses(&[0x55; 40]), None);
        assert_eq!(addresses(&[0x60; 39]), None);
    }
}
