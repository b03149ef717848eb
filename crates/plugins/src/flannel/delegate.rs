//! The delegate's configuration, built from the flannel configuration and `subnet.env`
//! exactly as the reference builds it:
//!
//! * `cniVersion` and `name` are the network's (`cniVersion` only when the network has one);
//! * `type` defaults to `bridge`;
//! * `ipMasq` defaults to the opposite of `FLANNEL_IPMASQ` (when flanneld does not
//!   masquerade, the delegate must), `mtu` to `FLANNEL_MTU`, and for a bridge `isGateway`
//!   to true; every other delegate key (`hairpinMode`, `isDefaultGateway`, …) is kept;
//! * `ipam` is the configuration's `ipam` with `type` defaulting to `host-local`, `ranges`
//!   replaced by one range set per subnet of the node (IPv4, then IPv6), and `routes`
//!   extended with a route to each of the cluster's networks;
//! * `runtimeConfig` (and `capabilities`) are passed on.
//!
//! Pure: the same inputs give the same bytes, which are what is saved for DEL.

use serde_json::{json, Map, Value};
use twill_cni::json::{find_key, key_matches, replace_key};

use super::config::{self, FlannelConf};
use super::subnet_env::SubnetEnv;

/// The delegate's configuration for `conf` on a node described by `env`.
pub fn build(conf: &FlannelConf, env: &SubnetEnv) -> Map<String, Value> {
    let mut out = Map::new();
    // The keys flannel decides come first, then the delegate's own in their order, so the
    // saved file reads like a hand-written configuration.
    match &conf.cni_version {
        Some(v) => {
            out.insert("cniVersion".into(), v.clone().into());
        }
        None => {
            if let Some(k) = find_key(&conf.delegate, "cniVersion") {
                if let Some(v) = conf.delegate.get(k) {
                    out.insert("cniVersion".into(), v.clone());
                }
            }
        }
    }
    out.insert("name".into(), conf.name.clone().into());
    out.insert("type".into(), conf.delegate_type.clone().into());
    for (k, v) in &conf.delegate {
        if !["cniVersion", "type"].iter().any(|f| key_matches(k, f)) {
            out.insert(k.clone(), v.clone());
        }
    }
    let mut default = |key: &str, value: Value| {
        if find_key(&out, key).is_none() {
            out.insert(key.to_owned(), value);
        }
    };
    default("ipMasq", (!env.ipmasq).into());
    default("mtu", env.mtu.into());
    if conf.delegate_type == "bridge" {
        default("isGateway", true.into());
    }
    if let Some(rc) = &conf.runtime_config {
        replace_key(&mut out, "runtimeConfig", rc.clone());
    }
    if let Some(caps) = &conf.capabilities {
        if find_key(&out, "capabilities").is_none() {
            out.insert("capabilities".into(), caps.clone());
        }
    }
    out.insert("ipam".into(), Value::Object(ipam(conf, env)));
    out
}

/// The delegate's `ipam`.
fn ipam(conf: &FlannelConf, env: &SubnetEnv) -> Map<String, Value> {
    let mut ipam = conf.ipam.clone();
    if find_key(&ipam, "type").is_none() {
        ipam.insert("type".into(), "host-local".into());
    }
    let ranges: Vec<Value> = [env.subnet, env.ipv6_subnet]
        .into_iter()
        .flatten()
        .map(|s| json!([{"subnet": s.to_string()}]))
        .collect();
    replace_key(&mut ipam, "ranges", ranges.into());
    // Validated by FlannelConf::parse; an unreadable list here cannot happen, and would
    // only lose the user's extra routes, never the cluster's.
    let mut routes = config::routes(&conf.ipam).unwrap_or_default();
    routes.extend(
        env.networks
            .iter()
            .chain(&env.ipv6_networks)
            .map(|n| json!({"dst": n.to_string()})),
    );
    replace_key(&mut ipam, "routes", routes.into());
    ipam
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::flannel::subnet_env;
    use serde_json::json;

    fn conf(config: Value) -> FlannelConf {
        FlannelConf::parse(&crate::flannel::config::tests::args(config)).unwrap()
    }

    const V4: &str = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n\
                      FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
    const V6: &str = "FLANNEL_IPV6_NETWORK=fd00:10::/56\nFLANNEL_IPV6_SUBNET=fd00:10:0:1::1/64\n\
                      FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";

    fn env(text: &str) -> SubnetEnv {
        subnet_env::parse(text).unwrap()
    }

    fn stock() -> Value {
        json!({"cniVersion": "0.3.1", "name": "cbr0", "type": "flannel",
               "delegate": {"hairpinMode": true, "isDefaultGateway": true}})
    }

    #[test]
    fn ipv4_stock_conflist() {
        let d = build(&conf(stock()), &env(V4));
        assert_eq!(
            Value::Object(d.clone()),
            json!({
                "cniVersion": "0.3.1", "name": "cbr0", "type": "bridge",
                "hairpinMode": true, "isDefaultGateway": true,
                "ipMasq": false, "mtu": 1450, "isGateway": true,
                "ipam": {"type": "host-local",
                         "ranges": [[{"subnet": "10.244.1.0/24"}]],
                         "routes": [{"dst": "10.244.0.0/16"}]},
            })
        );
        // The order a person reads the saved file in.
        let keys: Vec<_> = d.keys().map(String::as_str).collect();
        assert_eq!(keys[..3], ["cniVersion", "name", "type"]);
    }

    #[test]
    fn ipv6_only() {
        let d = Value::Object(build(&conf(stock()), &env(V6)));
        assert_eq!(d["ipMasq"], true);
        assert_eq!(
            d["ipam"],
            json!({"type": "host-local", "ranges": [[{"subnet": "fd00:10:0:1::/64"}]],
                   "routes": [{"dst": "fd00:10::/56"}]})
        );
    }

    #[test]
    fn dual_stack_has_two_range_sets_and_every_network_route() {
        let text = "FLANNEL_NETWORK=10.244.0.0/16,10.245.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n\
                    FLANNEL_IPV6_NETWORK=fd00:10::/56\nFLANNEL_IPV6_SUBNET=fd00:10:0:1::/64\n\
                    FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
        let d = Value::Object(build(&conf(stock()), &env(text)));
        assert_eq!(
            d["ipam"]["ranges"],
            json!([[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:10:0:1::/64"}]])
        );
        assert_eq!(
            d["ipam"]["routes"],
            json!([{"dst": "10.244.0.0/16"}, {"dst": "10.245.0.0/16"}, {"dst": "fd00:10::/56"}])
        );
    }

    #[test]
    fn user_ipam_is_merged() {
        let mut c = stock();
        c["ipam"] = json!({
            "dataDir": "/var/lib/x", "Ranges": [[{"subnet": "192.168.0.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0", "mtu": 1400}], "resolvConf": "/etc/r",
        });
        let d = Value::Object(build(&conf(c), &env(V4)));
        assert_eq!(
            d["ipam"],
            json!({
                "dataDir": "/var/lib/x", "resolvConf": "/etc/r", "type": "host-local",
                // flannel's subnet replaces the user's ranges, in every spelling.
                "ranges": [[{"subnet": "10.244.1.0/24"}]],
                // The user's routes first, kept as written, then the cluster's.
                "routes": [{"dst": "0.0.0.0/0", "mtu": 1400}, {"dst": "10.244.0.0/16"}],
            })
        );
        // A user's IPAM type is kept.
        let mut c = stock();
        c["ipam"] = json!({"Type": "static"});
        let d = Value::Object(build(&conf(c), &env(V4)));
        assert_eq!(d["ipam"]["Type"], "static");
        assert_eq!(d["ipam"].get("type"), None);
    }

    #[test]
    fn delegate_overrides_are_kept_in_any_spelling() {
        let c = json!({"cniVersion": "1.0.0", "name": "cbr0", "type": "flannel",
                       "delegate": {"ipMasq": true, "MTU": 1400, "isGateway": false,
                                    "bridge": "br-x", "cniVersion": "0.4.0"}});
        let d = build(&conf(c), &env(V4));
        let d = Value::Object(d);
        assert_eq!(d["ipMasq"], true);
        assert_eq!(d["MTU"], 1400);
        assert_eq!(d.get("mtu"), None);
        assert_eq!(d["isGateway"], false);
        assert_eq!(d["bridge"], "br-x");
        // The network's version wins over the delegate's.
        assert_eq!(d["cniVersion"], "1.0.0");
    }

    #[test]
    fn other_delegates_get_no_is_gateway_and_runtime_config_passes_on() {
        let c = json!({"name": "n", "type": "flannel",
                       "delegate": {"type": "ipvlan", "master": "eth1", "cniVersion": "0.3.1",
                                    "runtimeConfig": {"old": 1}},
                       "runtimeConfig": {"portMappings": [{"hostPort": 80}]},
                       "capabilities": {"portMappings": true}});
        let d = Value::Object(build(&conf(c), &env(V4)));
        assert_eq!(d["type"], "ipvlan");
        assert_eq!(d.get("isGateway"), None);
        // Without a network version, the delegate's own stays.
        assert_eq!(d["cniVersion"], "0.3.1");
        assert_eq!(
            d["runtimeConfig"],
            json!({"portMappings": [{"hostPort": 80}]})
        );
        assert_eq!(d["capabilities"], json!({"portMappings": true}));
        assert_eq!(d["mtu"], 1450);
        assert_eq!(d["ipMasq"], false);
    }
}
