//! QEMU's serial console and stderr, read on threads of their own while the VM runs.

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// The guest's `/init` prints this just before the script runs.
const START: &str = "TWILL-VM-START";

/// What QEMU printed so far.
#[derive(Default)]
pub(super) struct Console {
    /// The serial console, `\r` dropped.
    pub(super) text: Mutex<String>,
    /// When the script started (the `TWILL-VM-START` line arrived).
    pub(super) started: Mutex<Option<Instant>>,
    /// QEMU's own messages (bad options, a missing tap device).
    pub(super) qemu_stderr: Mutex<String>,
}

/// Collects the console line by line, timestamping the script's start.
pub(super) fn read_console(
    out: impl Read + Send + 'static,
    console: Arc<Console>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out);
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            let text = String::from_utf8_lossy(&line).replace('\r', "");
            if text.starts_with(START) {
                *console.started.lock().unwrap() = Some(Instant::now());
            }
            console.text.lock().unwrap().push_str(&text);
            line.clear();
        }
    })
}

/// Collects QEMU's stderr.
pub(super) fn read_stderr(
    mut err: impl Read + Send + 'static,
    console: Arc<Console>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        *console.qemu_stderr.lock().unwrap() = s;
    })
}
