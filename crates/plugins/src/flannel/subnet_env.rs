//! `subnet.env`, the file flanneld writes for this plugin: `KEY=VALUE` lines naming the
//! cluster's networks, this node's subnets, the MTU and whether flanneld masquerades.
//!
//! Read as the reference reads it: one key per line, split at the first `=`, values taken
//! verbatim (no quotes, no trimming; a trailing `\r` is dropped, as Go's line scanner
//! does), unknown keys and lines ignored, a repeated key overriding the earlier one.
//! `FLANNEL_NETWORK` and `FLANNEL_IPV6_NETWORK` may list several prefixes separated by
//! commas (duplicates dropped); every prefix is read as its network (`10.244.1.1/24` is
//! `10.244.1.0/24`), as Go's `net.ParseCIDR` returns it.

use std::io::{self, Read};
use std::path::Path;

use twill_cni::{CniError, Code};
use twill_kernel::{IpFamily, IpPrefix};

/// The file flanneld writes when the configuration names none.
pub const DEFAULT_PATH: &str = "/run/flannel/subnet.env";

/// flanneld writes a handful of short lines; anything near this size is not its file.
const MAX_SIZE: u64 = 64 * 1024;

/// What flanneld told this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetEnv {
    /// `FLANNEL_NETWORK`: the cluster's IPv4 networks.
    pub networks: Vec<IpPrefix>,
    /// `FLANNEL_SUBNET`: this node's IPv4 pod subnet.
    pub subnet: Option<IpPrefix>,
    /// `FLANNEL_IPV6_NETWORK`: the cluster's IPv6 networks.
    pub ipv6_networks: Vec<IpPrefix>,
    /// `FLANNEL_IPV6_SUBNET`: this node's IPv6 pod subnet.
    pub ipv6_subnet: Option<IpPrefix>,
    /// `FLANNEL_MTU`.
    pub mtu: u32,
    /// `FLANNEL_IPMASQ`: flanneld masquerades pod traffic itself (only the exact text
    /// `true` counts, as in the reference).
    pub ipmasq: bool,
}

/// Reads `path`. A missing file is code 11 (try again later): flanneld writes it once it
/// holds a lease, so on a node that is still starting, every ADD before that moment fails
/// and succeeds when retried. A file that cannot be read is code 5; one whose content is
/// wrong, code 7. Every message names `subnetFile` and the path.
pub fn load(path: &Path) -> Result<SubnetEnv, CniError> {
    let named = |code: Code, why: String| {
        CniError::new(code, format!("subnetFile {}: {why}", path.display()))
    };
    let text = read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => named(
            Code::TRY_AGAIN_LATER,
            "does not exist (flanneld writes it once it has leased this node's subnet: \
             is it running?)"
                .to_owned(),
        ),
        io::ErrorKind::InvalidData => named(Code::INVALID_NETWORK_CONFIG, e.to_string()),
        _ => named(Code::IO_FAILURE, format!("cannot be read: {e}")),
    })?;
    parse(&text).map_err(|why| named(Code::INVALID_NETWORK_CONFIG, why))
}

fn read(path: &Path) -> io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {MAX_SIZE} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8"))
}

/// Every key this plugin reads.
const KEYS: [&str; 6] = [
    "FLANNEL_NETWORK",
    "FLANNEL_SUBNET",
    "FLANNEL_IPV6_NETWORK",
    "FLANNEL_IPV6_SUBNET",
    "FLANNEL_MTU",
    "FLANNEL_IPMASQ",
];

/// Parses the file's text; the error says which key is wrong and why.
pub fn parse(text: &str) -> Result<SubnetEnv, String> {
    let mut networks = Vec::new();
    let mut ipv6_networks = Vec::new();
    let (mut subnet, mut ipv6_subnet, mut mtu, mut ipmasq) = (None, None, None, None);
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (key, value) = match line.split_once('=') {
            Some(kv) => kv,
            // A bare key of ours has no value (the reference panics on it); others are
            // none of our business.
            None if KEYS.contains(&line) => return Err(format!("{line} has no value")),
            None => continue,
        };
        match key {
            "FLANNEL_NETWORK" => networks = prefix_list(key, value, IpFamily::V4)?,
            "FLANNEL_IPV6_NETWORK" => ipv6_networks = prefix_list(key, value, IpFamily::V6)?,
            "FLANNEL_SUBNET" => subnet = Some(prefix(key, value, IpFamily::V4)?),
            "FLANNEL_IPV6_SUBNET" => ipv6_subnet = Some(prefix(key, value, IpFamily::V6)?),
            "FLANNEL_MTU" => mtu = Some(number(key, value)?),
            "FLANNEL_IPMASQ" => ipmasq = Some(value == "true"),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    if networks.is_empty() && ipv6_networks.is_empty() {
        missing.extend(["FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK"]);
    }
    if subnet.is_none() && ipv6_subnet.is_none() {
        missing.extend(["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"]);
    }
    if mtu.is_none() {
        missing.push("FLANNEL_MTU");
    }
    if ipmasq.is_none() {
        missing.push("FLANNEL_IPMASQ");
    }
    match (mtu, ipmasq) {
        (Some(mtu), Some(ipmasq)) if missing.is_empty() => Ok(SubnetEnv {
            networks,
            subnet,
            ipv6_networks,
            ipv6_subnet,
            mtu,
            ipmasq,
        }),
        _ => Err(format!("is missing {}", missing.join(", "))),
    }
}

/// One prefix of `family`, as its network. The family is checked (the reference does not):
/// flanneld never writes an IPv6 prefix under an IPv4 key, so one there means the file is
/// not what it seems, and a pod given an address from it would not be routed.
fn prefix(key: &str, value: &str, family: IpFamily) -> Result<IpPrefix, String> {
    let p: IpPrefix = value
        .parse()
        .map_err(|_| format!("{key}: {value:?} is not an IP prefix (ADDRESS/LENGTH)"))?;
    if p.family() != family {
        let want = match family {
            IpFamily::V4 => "IPv4",
            IpFamily::V6 => "IPv6",
        };
        return Err(format!("{key}: {value:?} is not an {want} prefix"));
    }
    Ok(p.network())
}

/// A comma-separated list of prefixes, duplicates dropped.
fn prefix_list(key: &str, value: &str, family: IpFamily) -> Result<Vec<IpPrefix>, String> {
    let mut out: Vec<IpPrefix> = Vec::new();
    for item in value.split(',') {
        let p = prefix(key, item, family)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// A decimal number within `u32`, as Go's `strconv.ParseUint(s, 10, 32)` takes it (no sign).
fn number(key: &str, value: &str) -> Result<u32, String> {
    let bad = || format!("{key}: {value:?} is not a number between 0 and 4294967295");
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    const STOCK: &str = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n\
                         FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

    #[test]
    fn the_file_flanneld_writes() {
        let env = parse(STOCK).unwrap();
        assert_eq!(
            env,
            SubnetEnv {
                networks: vec![p("10.244.0.0/16")],
                subnet: Some(p("10.244.1.0/24")),
                ipv6_networks: vec![],
                ipv6_subnet: None,
                mtu: 1450,
                ipmasq: true,
            }
        );
    }

    #[test]
    fn dual_stack_lists_crlf_repeats_and_foreign_lines() {
        let text = "# written by flanneld\r\nFLANNEL_NETWORK=10.1.0.0/16\r\n\
                    FLANNEL_NETWORK=10.244.0.0/16,10.245.0.0/16,10.244.0.0/16\r\n\
                    FLANNEL_SUBNET=10.244.7.1/24\r\nFLANNEL_IPV6_NETWORK=fd00:10::/56\r\n\
                    FLANNEL_IPV6_SUBNET=fd00:10:0:7::1/64\r\nFLANNEL_MTU=1400\r\n\
                    FLANNEL_IPMASQ=True\r\nOTHER=x\r\nnot a pair\r\n";
        let env = parse(text).unwrap();
        assert_eq!(env.networks, vec![p("10.244.0.0/16"), p("10.245.0.0/16")]);
        assert_eq!(env.subnet, Some(p("10.244.7.0/24")));
        assert_eq!(env.ipv6_networks, vec![p("fd00:10::/56")]);
        assert_eq!(env.ipv6_subnet, Some(p("fd00:10:0:7::/64")));
        assert_eq!(env.mtu, 1400);
        // Only the exact text "true" means true, as in the reference.
        assert!(!env.ipmasq);
    }

    #[test]
    fn ipv6_only() {
        let env = parse(
            "FLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:3::/64\n\
             FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n",
        )
        .unwrap();
        assert!(env.networks.is_empty() && env.subnet.is_none());
        assert_eq!(env.ipv6_subnet, Some(p("fd00:0:0:3::/64")));
        assert!(!env.ipmasq);
    }

    #[test]
    fn missing_keys_are_listed_as_the_reference_lists_them() {
        assert_eq!(
            parse("").unwrap_err(),
            "is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, \
             FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ"
        );
        let e = parse("FLANNEL_NETWORK=10.0.0.0/8\nFLANNEL_SUBNET=10.1.0.1/24\nFLANNEL_MTU=1")
            .unwrap_err();
        assert_eq!(e, "is missing FLANNEL_IPMASQ");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, needle) in [
            (
                "FLANNEL_SUBNET=10.244.1.1",
                "FLANNEL_SUBNET: \"10.244.1.1\" is not an IP prefix",
            ),
            (
                "FLANNEL_SUBNET=",
                "FLANNEL_SUBNET: \"\" is not an IP prefix",
            ),
            ("FLANNEL_NETWORK=10.0.0.0/8,", "FLANNEL_NETWORK: \"\""),
            (
                "FLANNEL_SUBNET=fd00::/64",
                "FLANNEL_SUBNET: \"fd00::/64\" is not an IPv4 prefix",
            ),
            ("FLANNEL_IPV6_NETWORK=10.0.0.0/8", "is not an IPv6 prefix"),
            (
                "FLANNEL_MTU=+1450",
                "FLANNEL_MTU: \"+1450\" is not a number",
            ),
            ("FLANNEL_MTU=4294967296", "FLANNEL_MTU"),
            ("FLANNEL_MTU= 1450", "FLANNEL_MTU"),
            ("FLANNEL_MTU", "FLANNEL_MTU has no value"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn load_codes() {
        let dir = std::env::temp_dir().join(format!("twill-flannel-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("subnet.env");
        let e = load(&file).unwrap_err();
        assert_eq!(e.code, Code::TRY_AGAIN_LATER);
        assert!(e
            .msg
            .starts_with(&format!("subnetFile {}: does not exist", file.display())));
        std::fs::write(&file, "FLANNEL_MTU=x\n").unwrap();
        let e = load(&file).unwrap_err();
        assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
        assert!(e.msg.contains("FLANNEL_MTU"), "{}", e.msg);
        std::fs::write(&file, [0xff, b'\n']).unwrap();
        assert_eq!(load(&file).unwrap_err().code, Code::INVALID_NETWORK_CONFIG);
        std::fs::write(&file, STOCK).unwrap();
        assert_eq!(load(&file).unwrap().mtu, 1450);
        // A directory is not a file: an I/O failure.
        assert_eq!(load(&dir).unwrap_err().code, Code::IO_FAILURE);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
