//! Random bytes for interface names and MAC addresses, from the kernel (`getrandom(2)`).

use twill_cni::CniError;
use twill_kernel::MacAddr;

use super::error::internal;

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], CniError> {
    let mut buf = [0u8; N];
    let mut filled = 0;
    // getrandom(2) may return fewer bytes than asked when interrupted; a few rounds suffice
    // for these sizes, and the bound keeps a broken kernel from looping forever.
    for _ in 0..8 {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        // SAFETY: getrandom(2) writes at most `rest.len()` bytes into the valid, writable
        // buffer `rest`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(internal(format!("getrandom: {e}")));
        }
        filled += usize::try_from(n).unwrap_or(0);
    }
    if filled < N {
        return Err(internal("getrandom: short read"));
    }
    Ok(buf)
}

/// A random locally administered unicast MAC, as the kernel picks for a new veth
/// (`eth_random_addr`). Choosing it here saves asking the kernel afterwards.
pub fn mac() -> Result<MacAddr, CniError> {
    let mut b = bytes::<6>()?;
    b[0] = (b[0] & 0xfe) | 0x02;
    Ok(MacAddr(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_local_unicast_and_differ() {
        let a = mac().unwrap();
        let b = mac().unwrap();
        assert_ne!(a, b);
        for m in [a, b] {
            assert_eq!(m.0[0] & 0x01, 0, "unicast");
            assert_eq!(m.0[0] & 0x02, 0x02, "locally administered");
        }
    }
}
