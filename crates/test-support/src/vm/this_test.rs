//! A test whose body runs inside the guest: the test binary boots a VM that runs the same
//! binary, filtered to that one test, from the host's target directory over 9p.
//!
//! ```ignore
//! #[test]
//! fn vlan_in_the_guest() {
//!     if !vm::in_guest() {
//!         vm::run_test("vlan_in_the_guest", &VmOptions::default());
//!         return;
//!     }
//!     // Runs against Debian's kernel.
//! }
//! ```

use super::{GuestRoot, Vm, VmOptions, VmOutput};

/// `/init` exports it to every guest script.
const GUEST: &str = "TWILL_VM_GUEST";

/// Whether this process runs inside a test VM.
pub fn in_guest() -> bool {
    std::env::var_os(GUEST).is_some()
}

/// Runs test `name` (its full path in the test binary, as `--exact` wants it) of the running
/// test binary inside a VM on the host's root, and fails unless exactly that test ran and
/// passed there. Its output (with `--nocapture`) is in the result's `stdout`.
pub fn run_test(name: &str, opts: &VmOptions) -> VmOutput {
    assert!(!in_guest(), "run_test is the host's side of a test");
    assert_eq!(
        opts.root,
        GuestRoot::Host,
        "the test binary needs the host's root"
    );
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "exec '{}' --exact '{name}' --nocapture --test-threads=1",
        exe.display()
    );
    let out = Vm::run(&script, opts);
    out.assert_success();
    // A name that matches nothing runs no test and still exits 0.
    assert!(
        out.stdout.contains("test result: ok. 1 passed"),
        "test {name} did not run in the guest:\n{}",
        out.stdout
    );
    out
}
