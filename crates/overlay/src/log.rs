//! Structured logs: one logfmt line per event on stderr (`ts=… level=… msg="…" key=value`),
//! which journald and every log shipper parse, and a throttle so that a store outage logs a
//! line when it starts, one every half minute while it lasts, and one when it ends — never
//! gigabytes (flannel #2171, #2470).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something is wrong but the agent carries on.
    Warn,
    /// Something failed.
    Error,
}

fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=')
    {
        return v.to_owned();
    }
    format!("{v:?}")
}

/// Writes one line.
pub fn log(level: Level, msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let level = match level {
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    };
    let mut line = format!("ts={ts:.3} level={level} msg={}", quote(msg));
    for (k, v) in fields {
        let _ = write!(line, " {k}={}", quote(&v.to_string()));
    }
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `info` line.
pub fn info(msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    log(Level::Info, msg, fields);
}

/// `warn` line.
pub fn warn(msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    log(Level::Warn, msg, fields);
}

/// `error` line.
pub fn error(msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    log(Level::Error, msg, fields);
}

/// Rate-limits one recurring failure: the first occurrence, then at most one line per
/// `every` with the count of those not logged, and a line when it clears.
#[derive(Debug)]
pub struct Throttle {
    what: &'static str,
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
    failing: bool,
}

impl Throttle {
    /// A throttle for failures of `what`.
    pub fn new(what: &'static str, every: Duration) -> Throttle {
        Throttle {
            what,
            every,
            last: None,
            suppressed: 0,
            failing: false,
        }
    }

    /// Reports a failure; logs it when due.
    pub fn fail(&mut self, err: &dyn std::fmt::Display) {
        self.failing = true;
        let due = self.last.is_none_or_elapsed(self.every);
        if due {
            error(
                self.what,
                &[("error", err), ("suppressed", &self.suppressed)],
            );
            self.last = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }

    /// Reports success; logs the recovery once.
    pub fn ok(&mut self) {
        if self.failing {
            info(
                self.what,
                &[("recovered", &true), ("suppressed", &self.suppressed)],
            );
        }
        self.failing = false;
        self.last = None;
        self.suppressed = 0;
    }

    /// Whether the last report was a failure.
    pub fn failing(&self) -> bool {
        self.failing
    }
}

trait Elapsed {
    fn is_none_or_elapsed(&self, d: Duration) -> bool;
}

impl Elapsed for Option<Instant> {
    fn is_none_or_elapsed(&self, d: Duration) -> bool {
        self.map_or(true, |t| t.elapsed() >= d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(quote("10.244.1.0/24"), "10.244.1.0/24");
        assert_eq!(quote("two words"), "\"two words\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a=b"), "\"a=b\"");
    }

    #[test]
    fn a_throttle_logs_once_per_period() {
        let mut t = Throttle::new("test", Duration::from_secs(3600));
        for _ in 0..100 {
            t.fail(&"down");
        }
        assert_eq!(t.suppressed, 99);
        assert!(t.failing());
        t.ok();
        assert!(!t.failing());
        assert_eq!(t.suppressed, 0);
    }
}
