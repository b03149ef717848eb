//! Field readers shared by the three result shapes.
//!
//! A result that cannot be read is a decoding failure (code 6) whatever the reason: Go's decoder
//! fails on a wrong type and on an unparsable address alike, and a runtime cannot tell a
//! malformed result from a corrupted one. Every message names the field's path.

use std::net::IpAddr;

use serde_json::Value;

use super::addr::{parse_ip, IpNet};
use crate::error::CniError;
use crate::json::{index, type_name, FieldError, Obj};

/// A [`FieldError`] met while reading a result, as a decoding failure.
pub(crate) fn decode_error(e: FieldError) -> CniError {
    CniError::decoding(e.to_string())
}

/// `value` at `path` as an object, or a decoding error naming `path` (`"result"` at the top).
pub(crate) fn object<'a>(value: &'a Value, path: &'a str) -> Result<Obj<'a>, CniError> {
    match value {
        Value::Object(_) => Obj::at(value, path).map_err(decode_error),
        other => Err(decode_error(FieldError::WrongType {
            path: if path.is_empty() {
                "result".to_owned()
            } else {
                path.to_owned()
            },
            expected: "object",
            found: type_name(other),
        })),
    }
}

/// An optional string; absent and `null` read as empty, as Go reads them into a `string`.
pub(crate) fn string(obj: &Obj<'_>, field: &str) -> Result<String, CniError> {
    Ok(obj
        .str(field)
        .map_err(decode_error)?
        .unwrap_or_default()
        .to_owned())
}

/// An optional list of strings; absent reads as empty.
pub(crate) fn strings(obj: &Obj<'_>, field: &str) -> Result<Vec<String>, CniError> {
    Ok(obj
        .str_array(field)
        .map_err(decode_error)?
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// An optional unsigned integer that Go declares `int` with `omitempty`: absent reads as 0.
pub(crate) fn u32_or_zero(obj: &Obj<'_>, field: &str) -> Result<u32, CniError> {
    Ok(obj.u32(field).map_err(decode_error)?.unwrap_or(0))
}

/// An optional unsigned integer that Go declares `*int`: absent is distinct from 0.
pub(crate) fn opt_u32(obj: &Obj<'_>, field: &str) -> Result<Option<u32>, CniError> {
    obj.u32(field).map_err(decode_error)
}

/// An optional integer no larger than 255 (a route scope).
pub(crate) fn opt_u8(obj: &Obj<'_>, field: &str) -> Result<Option<u8>, CniError> {
    match obj.u32(field).map_err(decode_error)? {
        None => Ok(None),
        Some(n) => u8::try_from(n).map(Some).map_err(|_| {
            decode_error(FieldError::invalid(
                obj.field_path(field),
                format!("{n} is out of range (0-255)"),
            ))
        }),
    }
}

/// An optional IP address. An empty string is no address, as Go's `net.IP` reads it.
pub(crate) fn opt_ip(obj: &Obj<'_>, field: &str) -> Result<Option<IpAddr>, CniError> {
    match obj.str(field).map_err(decode_error)? {
        None | Some("") => Ok(None),
        Some(s) => parse_ip(s).map(Some).ok_or_else(|| {
            decode_error(FieldError::invalid(
                obj.field_path(field),
                format!("invalid IP address {s:?}"),
            ))
        }),
    }
}

/// A required address with prefix length.
///
/// Go does not require it and prints a missing one as the string `"<nil>"`, which nothing can
/// read back; refusing it here keeps that garbage out of every result we write.
pub(crate) fn ipnet(obj: &Obj<'_>, field: &str) -> Result<IpNet, CniError> {
    let s = match obj.str(field).map_err(decode_error)? {
        Some(s) => s,
        None => {
            return Err(decode_error(FieldError::Missing {
                path: obj.field_path(field),
            }))
        }
    };
    s.parse().map_err(|e: super::addr::InvalidIpNet| {
        decode_error(FieldError::invalid(obj.field_path(field), e.to_string()))
    })
}

/// An optional array of objects, each read by `item` with its own path (`routes[2]`). A `null`
/// element is refused: Go would keep it as a nil pointer and crash converting it.
pub(crate) fn objects<T>(
    obj: &Obj<'_>,
    field: &str,
    mut item: impl FnMut(&Obj<'_>) -> Result<T, CniError>,
) -> Result<Vec<T>, CniError> {
    let Some(values) = obj.array(field).map_err(decode_error)? else {
        return Ok(Vec::new());
    };
    let base = obj.field_path(field);
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let path = index(&base, i);
            item(&object(v, &path)?)
        })
        .collect()
}

/// An optional object field read by `item`; absent or `null` gives `None`.
pub(crate) fn nested<T>(
    obj: &Obj<'_>,
    field: &str,
    item: impl FnOnce(&Obj<'_>) -> Result<T, CniError>,
) -> Result<Option<T>, CniError> {
    match obj.get(field) {
        None => Ok(None),
        Some(v) => {
            let path = obj.field_path(field);
            item(&object(v, &path)?).map(Some)
        }
    }
}
