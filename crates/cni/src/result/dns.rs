//! The `dns` object, identical in every result version.

use serde_json::{Map, Value};

use super::read;
use crate::error::CniError;
use crate::json::Obj;

/// Resolver settings a plugin hands back to the runtime. Every field may be empty; an empty
/// field is left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dns {
    /// Name servers, in priority order.
    pub nameservers: Vec<String>,
    /// The local domain.
    pub domain: String,
    /// Search domains, in priority order.
    pub search: Vec<String>,
    /// Resolver options (`ndots:5`, …).
    pub options: Vec<String>,
}

impl Dns {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.nameservers.is_empty()
            && self.domain.is_empty()
            && self.search.is_empty()
            && self.options.is_empty()
    }

    pub(crate) fn read(obj: &Obj<'_>) -> Result<Dns, CniError> {
        Ok(Dns {
            nameservers: read::strings(obj, "nameservers")?,
            domain: read::string(obj, "domain")?,
            search: read::strings(obj, "search")?,
            options: read::strings(obj, "options")?,
        })
    }

    /// The optional `dns` field of a result; absent reads as empty.
    pub(crate) fn read_field(obj: &Obj<'_>) -> Result<Dns, CniError> {
        Ok(read::nested(obj, "dns", Dns::read)?.unwrap_or_default())
    }

    /// The JSON object, `{}` when empty: libcni 1.1.2 declares `dns` as a struct in every
    /// result type, which Go's `omitempty` never omits, so its results always carry the key.
    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        let list = |v: &[String]| Value::from(v.to_vec());
        if !self.nameservers.is_empty() {
            m.insert("nameservers".into(), list(&self.nameservers));
        }
        if !self.domain.is_empty() {
            m.insert("domain".into(), self.domain.clone().into());
        }
        if !self.search.is_empty() {
            m.insert("search".into(), list(&self.search));
        }
        if !self.options.is_empty() {
            m.insert("options".into(), list(&self.options));
        }
        Value::Object(m)
    }
}
