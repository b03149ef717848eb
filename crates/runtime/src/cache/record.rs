//! The cache file's content: libcni's `cniCacheV1` record, or a legacy bare result.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};
use twill_cni::json::{self, Obj};

/// The `kind` of a current cache record.
pub const KIND_V1: &str = "cniCacheV1";

/// What the cache remembers about one attachment: enough to DEL it later with nothing else at
/// hand (a GC after a crash), and the result to hand to CHECK and DEL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheRecord {
    /// `containerId`.
    pub container_id: String,
    /// `config`: the network list's bytes (base64 in the file).
    pub config: Vec<u8>,
    /// `ifName`.
    pub ifname: String,
    /// `networkName`.
    pub network_name: String,
    /// `netns`: the namespace path at ADD (absent in files written by libcni before 1.2).
    pub netns: String,
    /// `cniArgs`: the `CNI_ARGS` pairs.
    pub cni_args: Vec<(String, String)>,
    /// `capabilityArgs`: the runtime's capability arguments.
    pub capability_args: Map<String, Value>,
    /// `result`: the final ADD result, in the list's version.
    pub result: Option<Value>,
}

/// What a cache file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheContent {
    /// A `cniCacheV1` record.
    Record(Box<CacheRecord>),
    /// A bare result, as libcni wrote before records existed.
    LegacyResult(Value),
}

impl CacheRecord {
    /// The file's bytes: the keys libcni writes, in its order, empty optional ones left out.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = Map::new();
        m.insert("kind".into(), KIND_V1.into());
        m.insert("containerId".into(), self.container_id.clone().into());
        m.insert("config".into(), STANDARD.encode(&self.config).into());
        m.insert("ifName".into(), self.ifname.clone().into());
        m.insert("networkName".into(), self.network_name.clone().into());
        if !self.netns.is_empty() {
            m.insert("netns".into(), self.netns.clone().into());
        }
        if !self.cni_args.is_empty() {
            let pairs = self
                .cni_args
                .iter()
                .map(|(k, v)| Value::Array(vec![k.clone().into(), v.clone().into()]))
                .collect();
            m.insert("cniArgs".into(), Value::Array(pairs));
        }
        if !self.capability_args.is_empty() {
            m.insert(
                "capabilityArgs".into(),
                Value::Object(self.capability_args.clone()),
            );
        }
        if let Some(result) = &self.result {
            m.insert("result".into(), result.clone());
        }
        Value::Object(m).to_string().into_bytes()
    }
}

/// Why a cache file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CacheFormatError(pub String);

/// Reads a cache file's bytes. Keys match as Go matches them (case-insensitively). A JSON
/// object without `kind: cniCacheV1` is a legacy bare result; anything else (empty, torn,
/// not an object, a field of the wrong type) is an error.
pub fn parse(bytes: &[u8]) -> Result<CacheContent, CacheFormatError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CacheFormatError("the file is empty".into()));
    }
    let value = json::parse(bytes, "cache file").map_err(|e| CacheFormatError(e.to_string()))?;
    let obj = Obj::root(&value).map_err(|e| CacheFormatError(e.to_string()))?;
    let bad = |e: json::FieldError| CacheFormatError(e.to_string());
    if obj.str("kind").ok().flatten() != Some(KIND_V1) {
        return Ok(CacheContent::LegacyResult(value.clone()));
    }
    let text = |field: &str| -> Result<String, CacheFormatError> {
        Ok(obj.str(field).map_err(bad)?.unwrap_or_default().to_owned())
    };
    let config = match obj.str("config").map_err(bad)? {
        None => Vec::new(),
        Some(b64) => STANDARD
            .decode(b64)
            .map_err(|e| CacheFormatError(format!("config: invalid base64: {e}")))?,
    };
    Ok(CacheContent::Record(Box::new(CacheRecord {
        container_id: text("containerId")?,
        config,
        ifname: text("ifName")?,
        network_name: text("networkName")?,
        netns: text("netns")?,
        cni_args: cni_args(&obj)?,
        capability_args: obj
            .object("capabilityArgs")
            .map_err(bad)?
            .cloned()
            .unwrap_or_default(),
        result: match obj.get("result") {
            None => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(CacheFormatError("result: expected an object".into())),
        },
    })))
}

/// `cniArgs`: `[["K","V"], …]`, Go's `[][2]string`.
fn cni_args(obj: &Obj<'_>) -> Result<Vec<(String, String)>, CacheFormatError> {
    let Some(items) = obj
        .array("cniArgs")
        .map_err(|e| CacheFormatError(e.to_string()))?
    else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(k), Value::String(v), ..]) => Ok((k.clone(), v.clone())),
            _ => Err(CacheFormatError(
                "cniArgs: expected [key, value] string pairs".into(),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> CacheRecord {
        CacheRecord {
            container_id: "c1".into(),
            config: br#"{"name":"n"}"#.to_vec(),
            ifname: "eth0".into(),
            network_name: "n".into(),
            netns: "/run/netns/x".into(),
            cni_args: vec![("IgnoreUnknown".into(), "1".into())],
            capability_args: json!({"mac": "0a:58:00:00:00:01"})
                .as_object()
                .cloned()
                .unwrap(),
            result: Some(json!({"cniVersion": "1.0.0", "ips": []})),
        }
    }

    #[test]
    fn round_trip_in_libcni_shape() {
        let r = sample();
        let bytes = r.to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["kind"], "cniCacheV1");
        assert_eq!(v["config"], "eyJuYW1lIjoibiJ9");
        assert_eq!(v["cniArgs"], json!([["IgnoreUnknown", "1"]]));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "kind",
                "containerId",
                "config",
                "ifName",
                "networkName",
                "netns",
                "cniArgs",
                "capabilityArgs",
                "result"
            ]
        );
        assert_eq!(parse(&bytes), Ok(CacheContent::Record(Box::new(r))));
    }

    #[test]
    fn go_written_records_without_netns_and_with_other_case() {
        let go = br#"{"kind":"cniCacheV1","containerId":"c","config":"e30=","ifName":"eth0","NetworkName":"n","result":{"cniVersion":"0.4.0"}}"#;
        let CacheContent::Record(r) = parse(go).unwrap() else {
            panic!()
        };
        assert_eq!((r.network_name.as_str(), r.netns.as_str()), ("n", ""));
        assert_eq!(r.config, b"{}");
        assert!(r.cni_args.is_empty() && r.capability_args.is_empty());
    }

    #[test]
    fn legacy_and_broken_files() {
        let legacy = br#"{"cniVersion":"0.3.1","ips":[]}"#;
        assert!(matches!(parse(legacy), Ok(CacheContent::LegacyResult(_))));
        for torn in [
            &b""[..],
            b"  \n",
            br#"{"kind":"cniCacheV1","contai"#,
            b"\0\0\0\0",
            b"[]",
            br#"{"kind":"cniCacheV1","config":"***"}"#,
            br#"{"kind":"cniCacheV1","cniArgs":[["a"]]}"#,
            br#"{"kind":"cniCacheV1","result":[]}"#,
        ] {
            assert!(parse(torn).is_err(), "{}", String::from_utf8_lossy(torn));
        }
    }
}
