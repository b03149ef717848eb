//! Reading the network configuration from stdin: a size cap, then just enough decoding to
//! validate `name` and `cniVersion`. The typed configuration is the plugin's business.

use std::io::Read;

use serde_json::Value;

use crate::error::CniError;
use crate::json::{self, FieldError, Obj};

use super::env::is_valid_name;

/// The most stdin may hold: 16 MiB. Real configurations are kilobytes; the largest legitimate
/// input, a GC request listing every attachment on a crowded node, stays far below this. The
/// cap keeps a runaway or hostile writer from making a plugin allocate without bound.
pub const MAX_STDIN: usize = 16 << 20;

/// The fields the entry point itself reads from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The whole configuration.
    pub value: Value,
    /// `name`, present and valid.
    pub name: String,
    /// `cniVersion` as written, empty when absent or null (which means 0.1.0); or the code 6
    /// error for a non-string value, which the entry point reports only after validating the
    /// environment, where Go reports it.
    pub version: Result<String, CniError>,
}

/// Reads all of `input`, refusing more than `cap` bytes.
///
/// Over the cap is code 6 (decoding failure): the input is refused before decoding, exactly as
/// input that does not decode is, and the Go library (which has no cap) reports a truncated
/// or garbage document with the same code. A failing read is code 5.
pub fn read_capped(input: &mut dyn Read, cap: usize) -> Result<Vec<u8>, CniError> {
    let mut buf = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    input
        .take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| CniError::io(format!("stdin: read failed: {e}")))?;
    if buf.len() > cap {
        return Err(CniError::decoding(format!(
            "stdin: the network configuration exceeds the limit of {cap} bytes"
        )));
    }
    Ok(buf)
}

/// Decodes the configuration, checks `name` and reads `cniVersion`.
///
/// Not JSON, not an object, or a `name` of the wrong type: code 6. `name` absent, empty or
/// outside `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`: code 7. Keys match case-insensitively, last one
/// winning, as Go's decoder matches them.
pub fn parse_header(bytes: &[u8]) -> Result<Header, CniError> {
    let value = json::parse(bytes, "stdin")?;
    let obj = match &value {
        Value::Object(_) => Obj::root(&value)?,
        other => {
            return Err(CniError::decoding(format!(
                "stdin: the network configuration must be a JSON object, found {}",
                json::type_name(other)
            )))
        }
    };
    let name = obj.str("name")?;
    let name = match name {
        None | Some("") => {
            return Err(FieldError::Missing {
                path: "name".into(),
            }
            .into())
        }
        Some(n) if !is_valid_name(n) => {
            return Err(CniError::invalid_config(
                "name: invalid characters in network name (allowed: letters, digits, '_', \
                 '.', '-', not first)",
            )
            .with_details(n))
        }
        Some(n) => n.to_owned(),
    };
    let version = obj
        .str("cniVersion")
        .map(|v| v.unwrap_or_default().to_owned())
        .map_err(CniError::from);
    Ok(Header {
        value,
        name,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn code(bytes: &[u8]) -> Code {
        parse_header(bytes).unwrap_err().code
    }

    #[test]
    fn reads_up_to_the_cap_and_refuses_one_byte_more() {
        let ok = vec![b' '; 64];
        assert_eq!(read_capped(&mut ok.as_slice(), 64).unwrap().len(), 64);
        let e = read_capped(&mut vec![b' '; 65].as_slice(), 64).unwrap_err();
        assert_eq!(e.code, Code::DECODING_FAILURE);
        assert!(e.msg.starts_with("stdin: "), "{}", e.msg);
    }

    #[test]
    fn an_endless_reader_is_cut_off() {
        let e = read_capped(&mut std::io::repeat(b'a'), 1000).unwrap_err();
        assert_eq!(e.code, Code::DECODING_FAILURE);
    }

    #[test]
    fn a_failing_reader_is_an_io_failure() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("boom"))
            }
        }
        let e = read_capped(&mut Broken, 10).unwrap_err();
        assert_eq!(e.code, Code::IO_FAILURE);
        assert!(e.msg.contains("stdin") && e.msg.contains("boom"));
    }

    #[test]
    fn header_fields() {
        let h = parse_header(br#"{"CNIVERSION":"0.4.0","Name":"net-1","type":"x"}"#).unwrap();
        assert_eq!(h.name, "net-1");
        assert_eq!(h.version, Ok("0.4.0".to_owned()));
        let h = parse_header(br#"{"name":"n","cniVersion":null}"#).unwrap();
        assert_eq!(h.version, Ok(String::new()));
    }

    #[test]
    fn bad_documents_are_code_6() {
        for bad in [
            &b""[..],
            b"{",
            b"nope",
            b"[1]",
            b"\"s\"",
            b"5",
            b"null",
            b"{} x",
        ] {
            assert_eq!(
                code(bad),
                Code::DECODING_FAILURE,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(code(br#"{"name":5}"#), Code::DECODING_FAILURE);
        let e = parse_header(br#"{"name":"n","cniVersion":1.0}"#)
            .unwrap()
            .version
            .unwrap_err();
        assert_eq!(e.code, Code::DECODING_FAILURE);
        // A missing name is found before a wrongly typed version, as in Go.
        assert_eq!(code(br#"{"cniVersion":1.0}"#), Code::INVALID_NETWORK_CONFIG);
        assert!(e.msg.contains("cniVersion"), "{}", e.msg);
    }

    #[test]
    fn bad_names_are_code_7_naming_name() {
        for bad in [
            &br#"{}"#[..],
            br#"{"name":""}"#,
            br#"{"name":null}"#,
            br#"{"name":"a/b"}"#,
            br#"{"name":"-a"}"#,
            br#"{"name":"a b"}"#,
        ] {
            let e = parse_header(bad).unwrap_err();
            assert_eq!(
                e.code,
                Code::INVALID_NETWORK_CONFIG,
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert!(e.msg.starts_with("name"), "{}", e.msg);
        }
        let e = parse_header(br#"{"name":"../etc"}"#).unwrap_err();
        assert_eq!(e.details, "../etc");
    }
}
