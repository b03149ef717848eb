//! DEL of an attachment known only from the cache, and what a cached result says.

use anyhow::{anyhow, Result};
use serde_json::Value;
use twill_cni::exec::Exec;
use twill_runtime::cache::CachedAttachment;
use twill_runtime::{Attachment, NetworkList, Runtime};

/// DELs a cached attachment with the configuration it was added with (the cache's copy),
/// or `current` when the cached one is unusable. Cached arguments fill in as usual.
pub fn del_cached<E: Exec>(
    runtime: &Runtime<E>,
    c: &CachedAttachment,
    current: Option<&NetworkList>,
) -> Result<()> {
    let r = &c.record;
    let cached = NetworkList::from_bytes(&r.config)
        .ok()
        .filter(|n| n.name() == r.network_name);
    let net = match (cached, current) {
        (Some(n), _) => n,
        (None, Some(n)) => n.clone(),
        (None, None) => {
            return Err(anyhow!(
                "{}: the cached configuration is unusable and network {:?} is not configured",
                c.path.display(),
                r.network_name
            ))
        }
    };
    let att = Attachment::new(&r.container_id, &r.netns, &r.ifname);
    runtime.del(&net, &att)?;
    Ok(())
}

/// The addresses of a result, any version (`ips[].address`, or 0.1/0.2's `ip4.ip`/`ip6.ip`).
pub fn addresses(result: Option<&Value>) -> Vec<String> {
    let Some(r) = result else { return Vec::new() };
    let mut out: Vec<String> = r
        .get("ips")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ip| ip.get("address").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    for legacy in ["ip4", "ip6"] {
        if let Some(ip) = r.pointer(&format!("/{legacy}/ip")).and_then(Value::as_str) {
            out.push(ip.to_owned());
        }
    }
    out
}

/// A short label for an attachment: `network/container/ifname`.
pub fn label(c: &CachedAttachment) -> String {
    let r = &c.record;
    format!("{}/{}/{}", r.network_name, r.container_id, r.ifname)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addresses_of_every_shape() {
        let v1 = json!({"ips": [{"address": "10.1.0.2/24"}, {"address": "fd00::2/64"}]});
        assert_eq!(addresses(Some(&v1)), ["10.1.0.2/24", "fd00::2/64"]);
        let legacy = json!({"ip4": {"ip": "10.1.0.3/24"}});
        assert_eq!(addresses(Some(&legacy)), ["10.1.0.3/24"]);
        assert!(addresses(None).is_empty());
    }
}
