//! Throughput between two test namespaces, measured with iperf3 (TCP): what the shaping
//! tests compare with a configured rate. Every run is bounded: a client still running at
//! its deadline is killed and the measurement fails.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::child::command_in;
use crate::ns::Ns;

/// An iperf3 server started by a test, killed (by its own pid) when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An iperf3 server in `ns` for one test (`-1`), bound to `addr`.
pub fn server(ns: &Ns, addr: &str) -> Server {
    let child = command_in(&ns.ns, "iperf3")
        .args(["-s", "-1", "-B", addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run iperf3 ({e}): run scripts/setup.sh (as root)"));
    Server(child)
}

/// How one measurement runs.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Seconds measured.
    pub secs: u32,
    /// Seconds before them left out (slow start, a token bucket's initial burst).
    pub omit: u32,
    /// How long the whole client may take (connection, run, results over a possibly deep
    /// queue) before it is killed.
    pub deadline: Duration,
}

impl Default for Run {
    /// 4 s measured after 1 s left out, at most 30 s in all.
    fn default() -> Run {
        Run {
            secs: 4,
            omit: 1,
            deadline: Duration::from_secs(30),
        }
    }
}

/// Receiver-side throughput in bit/s of a 4 s TCP run from `client` to `addr` in
/// `server_ns` (or back with `reverse`), the first second omitted.
pub fn measure(client: &Ns, server_ns: &Ns, addr: &str, reverse: bool) -> f64 {
    measure_with(client, server_ns, addr, reverse, Run::default())
}

/// As [`measure`], run as `run` says.
pub fn measure_with(client: &Ns, server_ns: &Ns, addr: &str, reverse: bool, run: Run) -> f64 {
    let _server = server(server_ns, addr);
    let start = Instant::now();
    loop {
        let mut cmd = command_in(&client.ns, "iperf3");
        cmd.args(["-c", addr, "-J", "--connect-timeout", "1000"])
            .args(["-t", &run.secs.to_string(), "-O", &run.omit.to_string()]);
        if reverse {
            cmd.arg("-R");
        }
        let left = run.deadline.saturating_sub(start.elapsed());
        let out = output_within(cmd, left)
            .unwrap_or_else(|| panic!("iperf3 to {addr} still running after {:?}", run.deadline));
        let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        if let Some(bps) = v["end"]["sum_received"]["bits_per_second"].as_f64() {
            return bps;
        }
        // The server is not listening yet.
        assert!(
            start.elapsed() < run.deadline,
            "iperf3 never connected to {addr}: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `bytes` of TCP payload from `client` to `addr` in `server_ns` (or back with
/// `reverse`), as fast as the path allows, within `deadline`: to empty a token bucket
/// before a measurement.
pub fn transfer(
    client: &Ns,
    server_ns: &Ns,
    addr: &str,
    reverse: bool,
    bytes: u64,
    deadline: Duration,
) {
    let _server = server(server_ns, addr);
    let start = Instant::now();
    loop {
        let mut cmd = command_in(&client.ns, "iperf3");
        cmd.args(["-c", addr, "-J", "--connect-timeout", "1000"])
            .args(["-n", &bytes.to_string()]);
        if reverse {
            cmd.arg("-R");
        }
        let left = deadline.saturating_sub(start.elapsed());
        let out = output_within(cmd, left).unwrap_or_else(|| {
            panic!("iperf3 sending {bytes} bytes to {addr} still running after {deadline:?}")
        });
        let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        if v["end"]["sum_received"]["bytes"].as_u64().is_some() {
            return;
        }
        assert!(
            start.elapsed() < deadline,
            "iperf3 never connected to {addr}: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `cmd` and returns its stdout, or kills it at `deadline` and returns `None`.
fn output_within(mut cmd: std::process::Command, deadline: Duration) -> Option<Vec<u8>> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run iperf3 ({e}): run scripts/setup.sh (as root)"));
    // Read while waiting: a full pipe would stall the child.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let end = Instant::now() + deadline;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().ok()
}

/// Whether `measured` is within ±10 % of `rate`.
pub fn within(measured: f64, rate: f64) -> bool {
    (measured - rate).abs() <= rate * 0.10
}
