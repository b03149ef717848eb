//! `-p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTO]` as a `portMappings` entry.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// Parses one `-p` value into the `portMappings` capability's shape.
pub fn parse(spec: &str) -> Result<Value> {
    let (ports, proto) = match spec.rsplit_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_owned()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        bail!("-p {spec}: protocol {proto:?} is not tcp, udp or sctp");
    }
    let (host_ip, rest) = split_host_ip(ports).with_context(|| format!("-p {spec}"))?;
    let Some((host, container)) = rest.split_once(':') else {
        bail!("-p {spec}: expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTO], e.g. 8080:80");
    };
    let port = |s: &str, what: &str| -> Result<u16> {
        match s.parse::<u16>() {
            Ok(p) if p > 0 => Ok(p),
            _ => bail!("-p {spec}: {what} port {s:?} is not a number from 1 to 65535"),
        }
    };
    let mut m = json!({
        "hostPort": port(host, "host")?,
        "containerPort": port(container, "container")?,
        "protocol": proto,
    });
    if let Some(ip) = host_ip {
        crate::output::set(&mut m, "hostIP", ip);
    }
    Ok(m)
}

/// A leading host address: `1.2.3.4:` or `[::1]:`.
fn split_host_ip(s: &str) -> Result<(Option<String>, &str)> {
    if let Some(v6) = s.strip_prefix('[') {
        let Some((ip, rest)) = v6.split_once("]:") else {
            bail!("an IPv6 host address is written [ADDR]:HOST_PORT:CONTAINER_PORT");
        };
        check_ip(ip)?;
        return Ok((Some(ip.to_owned()), rest));
    }
    let parts: Vec<&str> = s.splitn(3, ':').collect();
    match parts.as_slice() {
        [ip, host, container] => {
            check_ip(ip)?;
            let rest = s.get(ip.len() + 1..).unwrap_or_default();
            debug_assert_eq!(rest, format!("{host}:{container}"));
            Ok((Some((*ip).to_owned()), rest))
        }
        _ => Ok((None, s)),
    }
}

fn check_ip(ip: &str) -> Result<()> {
    ip.parse::<std::net::IpAddr>()
        .map(|_| ())
        .with_context(|| format!("host address {ip:?} is not an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            parse("8080:80").unwrap(),
            json!({"hostPort": 8080, "containerPort": 80, "protocol": "tcp"})
        );
        assert_eq!(parse("53:53/UDP").unwrap()["protocol"], "udp");
        assert_eq!(parse("127.0.0.1:8080:80").unwrap()["hostIP"], "127.0.0.1");
        assert_eq!(parse("[::1]:8080:80/tcp").unwrap()["hostIP"], "::1");
        for bad in [
            "80",
            "0:80",
            "8080:80/icmp",
            "x:8080:80",
            "8080:99999",
            "[::1:80:80",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
