//! Reading a resolv.conf into a result's `dns`, as the reference reads one.

use std::path::Path;

use twill_cni::result::Dns;

use crate::error::IpamError;

/// Parses resolv.conf text: `nameserver` lines append a server, `domain` sets the domain,
/// `search` and `options` append their words. Comments (`#`, `;`), blank lines, lines with
/// no value and other keywords are skipped.
pub fn parse(text: &str) -> Dns {
    let mut dns = Dns::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(key), rest) = (words.next(), words) else {
            continue;
        };
        let values: Vec<String> = rest.map(str::to_owned).collect();
        let Some(first) = values.first().cloned() else {
            continue;
        };
        match key {
            "nameserver" => dns.nameservers.push(first),
            "domain" => dns.domain = first,
            "search" => dns.search.extend(values),
            "options" => dns.options.extend(values),
            _ => {}
        }
    }
    dns
}

/// Reads and parses the file named by `ipam.resolvConf`.
pub fn read(path: &Path) -> Result<Dns, IpamError> {
    std::fs::read_to_string(path)
        .map(|t| parse(&t))
        .map_err(|e| IpamError::invalid("ipam.resolvConf", format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_and_the_skipped_lines() {
        let dns = parse(
            "# comment\n; also\n\nnameserver 10.0.0.53\nnameserver  fd00::53 extra\n\
             domain example.test\nsearch a.test b.test\nsearch c.test\noptions ndots:5 edns0\n\
             nameserver\nsortlist 10.0.0.0\n  options   rotate  \n",
        );
        assert_eq!(dns.nameservers, ["10.0.0.53", "fd00::53"]);
        assert_eq!(dns.domain, "example.test");
        assert_eq!(dns.search, ["a.test", "b.test", "c.test"]);
        assert_eq!(dns.options, ["ndots:5", "edns0", "rotate"]);
        assert!(parse("").is_empty());
    }

    #[test]
    fn a_missing_file_names_the_field() {
        let e = read(Path::new("/nonexistent/resolv.conf")).unwrap_err();
        assert_eq!(e.code(), twill_cni::Code::INVALID_NETWORK_CONFIG);
        assert!(
            e.to_string().starts_with("ipam.resolvConf: /nonexistent"),
            "{e}"
        );
    }
}
