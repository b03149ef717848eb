//! Checks on single values: network names, plugin types, addresses and prefixes.
//!
//! Addresses stay strings in the typed views (they are passed on exactly as written), but are
//! checked here so that a typo is reported against its field instead of deep inside a plugin.

use std::net::IpAddr;

use crate::json::{index, FieldError, Obj};

/// The longest network name accepted. Names become file names (the attachment cache, host-local's
/// data directory), and no Linux file system takes a name longer than 255 bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Whether `name` is a valid network name: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`, as the spec says, and
/// at most [`MAX_NAME_LEN`] bytes. The leading character rule also keeps `.` and `..` out, so a
/// name is always safe as one path component.
pub fn is_valid_network_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= MAX_NAME_LEN
        && first.is_ascii_alphanumeric()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Checks a network name found at `path`.
pub fn network_name(name: &str, path: &str) -> Result<(), FieldError> {
    if is_valid_network_name(name) {
        Ok(())
    } else {
        Err(FieldError::invalid(
            path,
            format!(
                "invalid network name {name:?}: must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$ \
                 and be at most {MAX_NAME_LEN} bytes"
            ),
        ))
    }
}

/// Checks a plugin `type` found at `path`: a binary name looked up in `CNI_PATH`, so a path
/// separator would let a configuration run any file on the host.
pub fn plugin_type(plugin_type: &str, path: &str) -> Result<(), FieldError> {
    if plugin_type.contains(['/', '\\']) {
        Err(FieldError::invalid(
            path,
            format!("invalid plugin type {plugin_type:?}: must not contain a path separator"),
        ))
    } else {
        Ok(())
    }
}

/// Whether `s` is an IP address as Go's `net.ParseIP` reads one (dotted quad or IPv6 text).
pub fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// Whether `s` is `address/prefix` with the prefix within the family's width, as Go's
/// `net.ParseCIDR` accepts it (host bits may be set).
pub fn is_cidr(s: &str) -> bool {
    let Some((addr, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return false;
    };
    // Only digits: Rust's integer parser would also take a leading `+`.
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let max = if addr.is_ipv4() { 32 } else { 128 };
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

/// A string field that must be an IP address when present.
pub fn ip_field<'a>(o: &Obj<'a>, field: &str) -> Result<Option<&'a str>, FieldError> {
    checked(o, field, is_ip, "an IP address")
}

/// A string field that must be `address/prefix` when present.
pub fn cidr_field<'a>(o: &Obj<'a>, field: &str) -> Result<Option<&'a str>, FieldError> {
    checked(o, field, is_cidr, "a CIDR (address/prefix)")
}

fn checked<'a>(
    o: &Obj<'a>,
    field: &str,
    ok: fn(&str) -> bool,
    what: &str,
) -> Result<Option<&'a str>, FieldError> {
    match o.str(field)? {
        Some(s) if !ok(s) => Err(FieldError::invalid(
            o.field_path(field),
            format!("{s:?} is not {what}"),
        )),
        other => Ok(other),
    }
}

/// An array of strings each of which is an address, with or without a prefix (`runtimeConfig.ips`
/// and `args.cni.ips`: host-local takes bare addresses, static takes prefixes).
pub fn ip_or_cidr_array(o: &Obj<'_>, field: &str) -> Result<Vec<String>, FieldError> {
    let items = o.str_array(field)?.unwrap_or_default();
    let path = o.field_path(field);
    items
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if is_ip(s) || is_cidr(s) {
                Ok(s.to_owned())
            } else {
                Err(FieldError::invalid(
                    index(&path, i),
                    format!("{s:?} is not an IP address or CIDR"),
                ))
            }
        })
        .collect()
}

/// An array of strings, empty when absent.
pub(crate) fn strings(o: &Obj<'_>, field: &str) -> Result<Vec<String>, FieldError> {
    Ok(o.str_array(field)?
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// An optional string field, owned.
pub(crate) fn string(o: &Obj<'_>, field: &str) -> Result<Option<String>, FieldError> {
    Ok(o.str(field)?.map(str::to_owned))
}

/// Reads the object `field` with `read`, its errors naming paths under `field`.
pub(crate) fn nested<T>(
    o: &Obj<'_>,
    field: &str,
    read: fn(&Obj<'_>) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    let Some(v) = o.get(field) else {
        return Ok(None);
    };
    let path = o.field_path(field);
    read(&Obj::at(v, &path)?).map(Some)
}

/// Reads every element of the array `field` (at `path`) as an object with `read`.
pub(crate) fn each<T>(
    o: &Obj<'_>,
    field: &str,
    path: &str,
    read: fn(&Obj<'_>) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    let Some(items) = o.array(field)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let p = index(path, i);
            read(&Obj::at(v, &p)?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_names_follow_the_spec_pattern() {
        for good in [
            "a",
            "podman",
            "cbr0",
            "k8s-pod-network",
            "net_1.v2",
            "0",
            "A-",
        ] {
            assert!(is_valid_network_name(good), "{good}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in ["", ".", "..", "-a", "_a", "a/b", "a b", "ä", "net:1", &long] {
            assert!(!is_valid_network_name(bad), "{bad}");
        }
        assert!(is_valid_network_name(&"a".repeat(MAX_NAME_LEN)));
    }

    #[test]
    fn plugin_types_refuse_path_separators() {
        assert!(plugin_type("bridge", "type").is_ok());
        assert!(plugin_type("host-local", "type").is_ok());
        for bad in ["/usr/bin/sh", "../bridge", "a\\b", "bin/"] {
            let e = plugin_type(bad, "plugins[1].type").unwrap_err();
            assert!(e.to_string().starts_with("plugins[1].type: "), "{e}");
        }
    }

    #[test]
    fn addresses_and_prefixes() {
        assert!(is_ip("10.1.2.3"));
        assert!(is_ip("fd00::1"));
        assert!(is_ip("::ffff:10.0.0.1"));
        assert!(!is_ip("10.1.2.3/24"));
        assert!(!is_ip("010.1.2.3"));
        assert!(!is_ip(""));
        assert!(is_cidr("10.88.0.0/16"));
        assert!(is_cidr("10.88.0.7/16"));
        assert!(is_cidr("fd00::/64"));
        assert!(is_cidr("10.0.0.0/0"));
        assert!(is_cidr("fd00::/128"));
        // Go's decimal reader takes leading zeros in the prefix.
        assert!(is_cidr("10.0.0.0/008"));
        for bad in [
            "10.88.0.0",
            "10.88.0.0/33",
            "fd00::/129",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "/8",
            "x/8",
            "10.0.0.0/8/8",
            "10.0.0.0/256",
        ] {
            assert!(!is_cidr(bad), "{bad}");
        }
    }
}
