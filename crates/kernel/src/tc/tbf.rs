//! The token bucket filter (`tbf`): a rate in bytes per second, a bucket ("buffer") given as
//! the time the rate takes to fill it, and a queue limit in bytes.
//!
//! The bucket travels in the kernel's scheduler ticks ("psched" ticks). Their length has
//! been fixed since Linux 2.6.31 at 64 ns (`PSCHED_SHIFT` 6): `/proc/net/psched` reports it
//! as 1000 ns per µs over 64 ns per tick, which is the 15.625 ticks per µs of
//! [`TICKS_PER_USEC`]. Userland (iproute2, Go's netlink library) converts with that ratio,
//! and so do we, so the same request reads back the same.

use crate::nl::attr::Attrs;
use crate::nl::{MessageBuilder, WireError};

/// Scheduler ticks per microsecond (1000 ns / 64 ns).
pub const TICKS_PER_USEC: f64 = 1000.0 / 64.0;

/// `TCA_TBF_PARMS`: `struct tc_tbf_qopt`.
pub const TCA_TBF_PARMS: u16 = 1;
/// `TCA_TBF_RATE64`: the rate when it does not fit the 32-bit field.
pub const TCA_TBF_RATE64: u16 = 4;

/// Length of `struct tc_ratespec`.
const RATESPEC_LEN: usize = 12;
/// Length of `struct tc_tbf_qopt`: rate, peak rate, limit, buffer, mtu.
pub const QOPT_LEN: usize = 2 * RATESPEC_LEN + 12;

/// A tbf's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tbf {
    /// Rate in bytes per second.
    pub rate: u64,
    /// Bucket size as the time to send it at `rate`, in scheduler ticks.
    pub buffer: u32,
    /// Bytes that may wait in the queue.
    pub limit: u32,
}

/// Microseconds to scheduler ticks, truncated (as Go's netlink library and iproute2 do).
pub fn usec_to_ticks(usec: u32) -> u32 {
    // Truncation is the conversion wanted; values above u32::MAX saturate.
    (f64::from(usec) * TICKS_PER_USEC) as u32
}

impl Tbf {
    /// Encodes `TCA_OPTIONS`' members: the parameters, and the 64-bit rate when the 32-bit
    /// field cannot hold it (the field then says `u32::MAX`, as iproute2 sends it).
    pub fn emit(&self, out: &mut MessageBuilder) {
        let rate32 = u32::try_from(self.rate).unwrap_or(u32::MAX);
        let mut q = [0u8; QOPT_LEN];
        put(&mut q, 8, rate32);
        put(&mut q, 2 * RATESPEC_LEN, self.limit);
        put(&mut q, 2 * RATESPEC_LEN + 4, self.buffer);
        out.attr(TCA_TBF_PARMS, &q);
        if self.rate > u64::from(u32::MAX) {
            out.attr(TCA_TBF_RATE64, &self.rate.to_ne_bytes());
        }
    }

    /// Decodes the members of a tbf's `TCA_OPTIONS`.
    pub fn parse(options: &[u8]) -> Result<Tbf, WireError> {
        let mut tbf = None;
        let mut rate64 = None;
        for attr in Attrs::new(options) {
            let attr = attr?;
            match attr.kind() {
                TCA_TBF_PARMS => {
                    let p = attr.payload();
                    let get = |at| {
                        crate::nl::message::read_u32(p, at).ok_or(WireError::Truncated("tbf qopt"))
                    };
                    tbf = Some(Tbf {
                        rate: u64::from(get(8)?),
                        limit: get(2 * RATESPEC_LEN)?,
                        buffer: get(2 * RATESPEC_LEN + 4)?,
                    });
                }
                TCA_TBF_RATE64 => {
                    let b: [u8; 8] = attr
                        .payload()
                        .try_into()
                        .map_err(|_| WireError::BadLength("tbf rate64"))?;
                    rate64 = Some(u64::from_ne_bytes(b));
                }
                _ => {}
            }
        }
        let mut tbf = tbf.ok_or(WireError::Missing("TCA_TBF_PARMS"))?;
        if let Some(r) = rate64 {
            tbf.rate = r;
        }
        Ok(tbf)
    }
}

fn put(buf: &mut [u8], at: usize, v: u32) {
    if let Some(slot) = buf.get_mut(at..at + 4) {
        slot.copy_from_slice(&v.to_ne_bytes());
    }
}
