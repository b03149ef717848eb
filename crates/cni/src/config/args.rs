//! `args`: per-invocation arguments a runtime places in the configuration, the structured
//! successor of `CNI_ARGS`.
//!
//! Only `args.cni` has conventions (CONVENTIONS.md); other namespaces (`args.k8s.io`, …) are the
//! runtime's own and are kept whole in [`Args::raw`].

use serde_json::{Map, Value};

use super::validate::{each, ip_or_cidr_array, nested, string};
use crate::json::{FieldError, Obj};

/// One `args.cni.labels` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Label {
    /// `key`.
    pub key: String,
    /// `value`.
    pub value: String,
}

/// `args.cni`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CniArgs {
    /// `ips`: requested addresses, `address` or `address/prefix`; empty when absent.
    pub ips: Vec<String>,
    /// `labels`; empty when absent.
    pub labels: Vec<Label>,
    /// `mac`: a requested MAC address.
    pub mac: Option<String>,
    /// The whole `args.cni` object, with keys not typed above.
    pub raw: Map<String, Value>,
}

/// `args`, with `args.cni` typed and everything kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// `args.cni`, when present.
    pub cni: Option<CniArgs>,
    /// The whole `args` object.
    pub raw: Map<String, Value>,
}

impl Args {
    /// Reads an `args` object; errors name fields under `o`'s path.
    pub fn parse(o: &Obj<'_>) -> Result<Args, FieldError> {
        Ok(Args {
            cni: nested(o, "cni", cni_args)?,
            raw: o.map().clone(),
        })
    }
}

fn cni_args(o: &Obj<'_>) -> Result<CniArgs, FieldError> {
    let labels_path = o.field_path("labels");
    Ok(CniArgs {
        ips: ip_or_cidr_array(o, "ips")?,
        labels: each(o, "labels", &labels_path, label)?,
        mac: string(o, "mac")?,
        raw: o.map().clone(),
    })
}

fn label(o: &Obj<'_>) -> Result<Label, FieldError> {
    // Go decodes a missing key or value as "", and label consumers treat it so.
    Ok(Label {
        key: o.str("key")?.unwrap_or_default().to_owned(),
        value: o.str("value")?.unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: &Value) -> Result<Args, FieldError> {
        Args::parse(&Obj::at(v, "args")?)
    }

    #[test]
    fn cni_namespace_is_typed_and_others_kept() {
        let v = json!({
            "cni": {"ips": ["10.0.0.9", "fd00::9/64"], "mac": "02:00:00:00:00:09",
                    "labels": [{"key": "app", "value": "web"}, {"key": "tier"}], "extra": 1},
            "k8s.io": {"podName": "p"}
        });
        let a = args(&v).unwrap();
        let cni = a.cni.unwrap();
        assert_eq!(cni.ips, ["10.0.0.9", "fd00::9/64"]);
        assert_eq!(cni.mac.as_deref(), Some("02:00:00:00:00:09"));
        assert_eq!(
            cni.labels,
            [
                Label {
                    key: "app".into(),
                    value: "web".into()
                },
                Label {
                    key: "tier".into(),
                    value: String::new()
                }
            ]
        );
        assert_eq!(cni.raw.get("extra"), Some(&json!(1)));
        assert_eq!(a.raw.get("k8s.io"), Some(&json!({"podName": "p"})));
    }

    #[test]
    fn no_cni_namespace() {
        let a = args(&json!({"other": 1})).unwrap();
        assert_eq!(a.cni, None);
        assert_eq!(a.raw.len(), 1);
    }

    #[test]
    fn bad_args_name_their_path() {
        let cases = [
            (json!("x"), "args: expected object, found string"),
            (json!({"cni": []}), "args.cni: expected object, found array"),
            (
                json!({"cni": {"ips": "10.0.0.1"}}),
                "args.cni.ips: expected array, found string",
            ),
            (
                json!({"cni": {"ips": ["ten"]}}),
                "args.cni.ips[0]: \"ten\" is not an IP address or CIDR",
            ),
            (
                json!({"cni": {"labels": [{"key": 1}]}}),
                "args.cni.labels[0].key: expected string, found number",
            ),
            (
                json!({"cni": {"labels": ["a=b"]}}),
                "args.cni.labels[0]: expected object, found string",
            ),
        ];
        for (v, message) in cases {
            assert_eq!(args(&v).unwrap_err().to_string(), message);
        }
    }
}
