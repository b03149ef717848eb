//! Closing a netfilter socket after it deleted something waits for the kernel to free what
//! was deleted: on release, nf_tables flushes its pending destroy work, which waits out an
//! RCU grace period (~11 ms here, and `nft delete element` pays it too). A DEL that also
//! deletes an interface waits for another grace period there. [`Lingering`] holds the
//! sockets of the first kind so that their closing overlaps the second wait instead of
//! preceding it. Their deletions are complete (acknowledged) before they are kept here, so
//! what follows — releasing the address, for one — never races them.

use twill_kernel::nft::Nftables;

/// Sockets whose closing the caller takes over.
#[derive(Debug, Default)]
pub struct Lingering(Vec<Nftables>);

impl Lingering {
    /// Nothing held yet.
    pub fn new() -> Lingering {
        Lingering::default()
    }

    /// Holds `nft` until [`Lingering::close_during`].
    pub fn keep(&mut self, nft: Nftables) {
        self.0.push(nft);
    }

    /// Runs `work` while another thread closes the held sockets; returns when both are done.
    pub fn close_during<T>(self, work: impl FnOnce() -> T) -> T {
        if self.0.is_empty() {
            return work();
        }
        let sockets = self.0;
        std::thread::scope(|s| {
            s.spawn(move || drop(sockets));
            work()
        })
    }
}
