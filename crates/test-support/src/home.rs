//! The check that the test thread never changed network namespace: work inside a test
//! namespace runs on threads of its own or in child processes, so a test thread found
//! elsewhere at the end means something entered a namespace and did not come back.

use twill_kernel::NetNs;

/// The namespace the test thread started in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Home((u64, u64));

impl Home {
    /// The calling thread's namespace now.
    pub fn here() -> Home {
        Home(NetNs::current().unwrap().identity().unwrap())
    }

    /// Fails the test if the calling thread is in another namespace now; nothing while the
    /// thread is already panicking (the first failure is the one to report).
    pub fn assert_still_here(&self) {
        if !std::thread::panicking() {
            assert_eq!(
                Home::here(),
                *self,
                "the test thread changed network namespace"
            );
        }
    }
}
