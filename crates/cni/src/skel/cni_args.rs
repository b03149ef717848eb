//! `CNI_ARGS`: `K=V;K2=V2` pairs, kept in order.
//!
//! Policy (see docs/protocol/entry-point.md): unknown keys never fail. The Go parser refuses
//! them unless `IgnoreUnknown` is set, which breaks chains where one plugin's argument reaches
//! another (cni#560); here every pair is kept, so plugins can read `K8S_POD_NAME` and friends.
//! Only a pair that is not `K=V` at all, or has an empty key, is an error.

use std::fmt;
use std::net::IpAddr;

use crate::error::CniError;

/// Parsed `CNI_ARGS`, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniArgs {
    pairs: Vec<(String, String)>,
}

/// One entry of the `IP` argument: an address with an optional prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpArg {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length, when written as `addr/len`.
    pub prefix: Option<u8>,
}

fn bad(msg: String) -> CniError {
    CniError::invalid_environment(format!("CNI_ARGS: {msg}"))
}

impl CniArgs {
    /// Parses `K=V;K2=V2`. Empty segments (an empty string, a trailing or doubled `;`) are
    /// skipped. A pair splits at its first `=`, so values may contain `=` (base64, for one).
    /// Nothing is trimmed: keys and values are taken byte for byte, as Go takes them.
    pub fn parse(s: &str) -> Result<CniArgs, CniError> {
        let mut pairs = Vec::new();
        for pair in s.split(';').filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(bad(format!("invalid pair {pair:?}: expected KEY=VALUE")));
            };
            if key.is_empty() {
                return Err(bad(format!("invalid pair {pair:?}: empty key")));
            }
            pairs.push((key.to_owned(), value.to_owned()));
        }
        Ok(CniArgs { pairs })
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Every pair, in order, as string slices.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of `key`, matched exactly (case-sensitive, like Go's field lookup). When a key
    /// repeats, the last value wins, as it does in Go.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `IgnoreUnknown`: `1` or `true` (any case) is true, `0` or `false` false, absent false.
    /// Twill ignores unknown keys regardless; this is for plugins that forward the flag.
    pub fn ignore_unknown(&self) -> Result<bool, CniError> {
        match self.get("IgnoreUnknown") {
            None => Ok(false),
            Some(v) if v == "1" || v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v == "0" || v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(bad(format!("IgnoreUnknown: {v:?} is not a boolean"))),
        }
    }

    /// `IP`: a comma-separated list of addresses, each optionally `/prefix`, as host-local and
    /// static accept. Spaces around entries are ignored; an empty value is an empty list.
    pub fn ips(&self) -> Result<Vec<IpArg>, CniError> {
        let Some(value) = self.get("IP") else {
            return Ok(Vec::new());
        };
        if value.trim().is_empty() {
            return Ok(Vec::new());
        }
        value
            .split(',')
            .map(|item| parse_ip_arg(item.trim()))
            .collect()
    }

    /// `MAC`: an Ethernet address written `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or
    /// `aabb.ccdd.eeff`.
    pub fn mac(&self) -> Result<Option<[u8; 6]>, CniError> {
        match self.get("MAC") {
            None => Ok(None),
            Some(v) => parse_mac(v)
                .map(Some)
                .ok_or_else(|| bad(format!("MAC: {v:?} is not an Ethernet address"))),
        }
    }
}

fn parse_ip_arg(item: &str) -> Result<IpArg, CniError> {
    let invalid = || bad(format!("IP: {item:?} is not an IP address or CIDR"));
    let (addr, prefix) = match item.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (item, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            match p.parse::<u8>() {
                Ok(n) if n <= max => Some(n),
                _ => return Err(invalid()),
            }
        }
        Some(_) => return Err(invalid()),
    };
    Ok(IpArg { addr, prefix })
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let groups: Vec<&str> = if s.contains('.') {
        // Cisco style: three groups of four hex digits.
        let quads: Vec<&str> = s.split('.').collect();
        if quads.len() != 3 || quads.iter().any(|q| q.len() != 4) {
            return None;
        }
        quads
            .iter()
            .flat_map(|q| [q.get(..2), q.get(2..)])
            .collect::<Option<Vec<_>>>()?
    } else {
        let sep = if s.contains('-') { '-' } else { ':' };
        s.split(sep).collect()
    };
    let mut out = [0u8; 6];
    if groups.len() != out.len() {
        return None;
    }
    for (slot, g) in out.iter_mut().zip(groups) {
        if g.len() != 2 || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *slot = u8::from_str_radix(g, 16).ok()?;
    }
    Some(out)
}

impl fmt::Display for CniArgs {
    /// Writes the pairs back as `K=V;K2=V2`, for passing them on.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn pairs_keep_order_and_unknown_keys() {
        let a =
            CniArgs::parse("IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default").unwrap();
        let keys: Vec<_> = a.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["IgnoreUnknown", "K8S_POD_NAME", "K8S_POD_NAMESPACE"]);
        assert_eq!(a.get("K8S_POD_NAME"), Some("web-0"));
        assert_eq!(a.get("k8s_pod_name"), None);
        assert_eq!(a.ignore_unknown(), Ok(true));
    }

    #[test]
    fn unknown_keys_never_fail_even_without_ignore_unknown() {
        let a = CniArgs::parse("FOO=bar").unwrap();
        assert_eq!(a.get("FOO"), Some("bar"));
        assert_eq!(a.ignore_unknown(), Ok(false));
    }

    #[test]
    fn empty_segments_are_fine_and_values_may_hold_equals() {
        assert!(CniArgs::parse("").unwrap().is_empty());
        assert!(CniArgs::parse(";;").unwrap().is_empty());
        let a = CniArgs::parse("A=1;;B=x=y==;C=;").unwrap();
        assert_eq!(a.pairs().len(), 3);
        assert_eq!(a.get("B"), Some("x=y=="));
        assert_eq!(a.get("C"), Some(""));
        assert_eq!(a.to_string(), "A=1;B=x=y==;C=");
    }

    #[test]
    fn malformed_pairs_are_code_4_naming_cni_args_and_the_pair() {
        for (input, pair) in [("A=1;oops", "oops"), ("=v", "=v"), ("A=1;=", "=")] {
            let e = CniArgs::parse(input).unwrap_err();
            assert_eq!(e.code, Code::INVALID_ENVIRONMENT);
            assert!(e.msg.starts_with("CNI_ARGS: "), "{}", e.msg);
            assert!(e.msg.contains(&format!("{pair:?}")), "{}", e.msg);
        }
    }

    #[test]
    fn the_last_repeat_wins() {
        let a = CniArgs::parse("IP=10.0.0.1;IP=10.0.0.2").unwrap();
        assert_eq!(a.get("IP"), Some("10.0.0.2"));
    }

    #[test]
    fn ip_lists_with_optional_prefixes() {
        let a = CniArgs::parse("IP=10.1.2.3, fd00::5/64,192.168.0.1/24").unwrap();
        let ips = a.ips().unwrap();
        assert_eq!(ips.len(), 3);
        assert_eq!(
            ips[0],
            IpArg {
                addr: "10.1.2.3".parse().unwrap(),
                prefix: None
            }
        );
        assert_eq!(ips[1].prefix, Some(64));
        assert_eq!(ips[2].addr, "192.168.0.1".parse::<IpAddr>().unwrap());
        assert!(CniArgs::parse("IP=").unwrap().ips().unwrap().is_empty());
        assert!(CniArgs::default().ips().unwrap().is_empty());
        for bad in [
            "IP=10.0.0.1,",
            "IP=10.0.0.300",
            "IP=10.0.0.1/33",
            "IP=fd00::/129",
            "IP=10.0.0.1/",
            "IP=10.0.0.1/+8",
            "IP=host",
            "IP=010.0.0.1",
        ] {
            let e = CniArgs::parse(bad).unwrap().ips().unwrap_err();
            assert_eq!(e.code, Code::INVALID_ENVIRONMENT, "{bad}");
            assert!(e.msg.contains("IP"), "{}", e.msg);
        }
    }

    #[test]
    fn macs_in_the_three_usual_spellings() {
        let want = Some([0x02, 0x42, 0xac, 0x11, 0x00, 0x0a]);
        for s in ["02:42:ac:11:00:0a", "02-42-AC-11-00-0A", "0242.ac11.000a"] {
            let a = CniArgs::parse(&format!("MAC={s}")).unwrap();
            assert_eq!(a.mac().unwrap(), want, "{s}");
        }
        assert_eq!(CniArgs::default().mac(), Ok(None));
        for bad in [
            "02:42:ac:11:00",
            "02:42:ac:11:00:0a:ff",
            "2:42:ac:11:00:0a",
            "zz:42:ac:11:00:0a",
            "02:42-ac:11:00:0a",
            "0242.ac11.000",
            "",
            "+2:42:ac:11:00:0a",
        ] {
            let e = CniArgs::parse(&format!("MAC={bad}"))
                .unwrap()
                .mac()
                .unwrap_err();
            assert!(e.msg.contains("MAC"), "{bad}");
        }
    }

    #[test]
    fn ignore_unknown_spellings() {
        for (v, want) in [
            ("1", true),
            ("true", true),
            ("True", true),
            ("0", false),
            ("FALSE", false),
        ] {
            let a = CniArgs::parse(&format!("IgnoreUnknown={v}")).unwrap();
            assert_eq!(a.ignore_unknown(), Ok(want), "{v}");
        }
        let e = CniArgs::parse("IgnoreUnknown=yes")
            .unwrap()
            .ignore_unknown()
            .unwrap_err();
        assert!(e.msg.contains("IgnoreUnknown"));
    }
}
