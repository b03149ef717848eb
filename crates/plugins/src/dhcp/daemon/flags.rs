//! The daemon's command line, read as Go's `flag` package reads the reference's:
//! `-name value`, `-name=value`, `--name`, booleans alone or as `-name=true|false`,
//! durations in Go's syntax (`10s`, `1m30s`, `500ms`).

use std::path::PathBuf;
use std::time::Duration;

use twill_ipam::dhcp::DEFAULT_SOCKET_PATH;

/// Where leases are kept unless `-statedir` says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/cni/dhcp";

/// The daemon's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    /// `-pidfile`: where to write the daemon's pid (absolute), if anywhere.
    pub pidfile: Option<PathBuf>,
    /// `-hostprefix`: prefixed to the socket path and to every namespace path, for a daemon
    /// running in a container with the host's root mounted below it.
    pub hostprefix: String,
    /// `-socketpath`.
    pub socketpath: String,
    /// `-broadcast`: ask servers to broadcast their replies.
    pub broadcast: bool,
    /// `-timeout`: how long one exchange with a server may take.
    pub timeout: Duration,
    /// `-resendmax`: the longest gap between retransmissions.
    pub resendmax: Duration,
    /// `-statedir` (twill's own): where lease files are kept.
    pub statedir: PathBuf,
}

impl Default for Flags {
    fn default() -> Flags {
        Flags {
            pidfile: None,
            hostprefix: String::new(),
            socketpath: DEFAULT_SOCKET_PATH.to_owned(),
            broadcast: false,
            timeout: Duration::from_secs(10),
            resendmax: Duration::from_secs(62),
            statedir: PathBuf::from(DEFAULT_STATE_DIR),
        }
    }
}

/// The usage text.
pub const USAGE: &str =
    "usage: dhcp daemon [-pidfile PATH] [-hostprefix PREFIX] [-socketpath PATH] \
[-broadcast] [-timeout DURATION] [-resendmax DURATION] [-statedir DIR]";

/// A Go duration: a sequence of decimal numbers with units (ns, us, µs, ms, s, m, h), or 0.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let value: f64 = num.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Reads the arguments after `daemon`.
pub fn parse(args: &[String]) -> Result<Flags, String> {
    let mut f = Flags::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(format!("unexpected argument {arg:?}"));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag, None),
        };
        if name == "broadcast" {
            f.broadcast = match inline.as_deref() {
                None | Some("true" | "1" | "t" | "T" | "TRUE" | "True") => true,
                Some("false" | "0" | "f" | "F" | "FALSE" | "False") => false,
                Some(v) => return Err(format!("invalid boolean value {v:?} for -broadcast")),
            };
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("flag needs an argument: -{name}"))?,
        };
        let duration = |v: &str| {
            parse_duration(v)
                .ok_or_else(|| format!("invalid value {v:?} for flag -{name}: parse error"))
        };
        match name {
            "pidfile" => {
                f.pidfile = (!value.is_empty()).then(|| PathBuf::from(&value));
            }
            "hostprefix" => f.hostprefix = value,
            "socketpath" => {
                if !value.is_empty() {
                    f.socketpath = value;
                }
            }
            "timeout" => f.timeout = duration(&value)?,
            "resendmax" => f.resendmax = duration(&value)?,
            "statedir" => f.statedir = PathBuf::from(value),
            _ => return Err(format!("flag provided but not defined: -{name}")),
        }
    }
    if let Some(p) = &f.pidfile {
        if !p.is_absolute() {
            return Err(format!(
                "Error writing pidfile {:?}: path not absolute",
                p.display()
            ));
        }
    }
    Ok(f)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("3d"), None);
    }

    #[test]
    fn flags_in_every_spelling() {
        let f = parse(&args(
            "-socketpath /tmp/x.sock --broadcast -timeout=3s -resendmax 5s -hostprefix=/host -statedir /s -pidfile /p",
        ))
        .unwrap();
        assert_eq!(f.socketpath, "/tmp/x.sock");
        assert!(f.broadcast);
        assert_eq!(f.timeout, Duration::from_secs(3));
        assert_eq!(f.resendmax, Duration::from_secs(5));
        assert_eq!(f.hostprefix, "/host");
        assert_eq!(f.statedir, PathBuf::from("/s"));
        assert_eq!(f.pidfile, Some(PathBuf::from("/p")));
        assert_eq!(parse(&[]).unwrap(), Flags::default());
        assert!(!parse(&args("-broadcast=false")).unwrap().broadcast);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&args("-nope 1")).unwrap_err().contains("-nope"));
        assert!(parse(&args("-timeout")).unwrap_err().contains("-timeout"));
        assert!(parse(&args("-timeout 10"))
            .unwrap_err()
            .contains("-timeout"));
        assert!(parse(&args("-pidfile rel"))
            .unwrap_err()
            .contains("not absolute"));
        assert!(parse(&args("stray")).is_err());
    }
}
