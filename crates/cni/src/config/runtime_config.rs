//! `runtimeConfig`: the well-known capabilities, typed.
//!
//! A runtime delivers the capability arguments a plugin asked for (its `capabilities` map) under
//! `runtimeConfig`, one key per capability, in the shapes CONVENTIONS.md fixes. Capabilities this
//! crate does not know stay in [`RuntimeConfig::raw`] for the plugin to read.

use serde_json::{Map, Value};

use super::port_mapping::PortMapping;
use super::validate::{cidr_field, each, ip_field, ip_or_cidr_array, nested, string, strings};
use crate::json::{index, FieldError, Obj};

/// One range of host-local's `ranges` shape, as delivered in `runtimeConfig.ipRanges`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    /// `subnet`, an `address/prefix` (required).
    pub subnet: String,
    /// `rangeStart`, the first address to allocate.
    pub range_start: Option<String>,
    /// `rangeEnd`, the last address to allocate.
    pub range_end: Option<String>,
    /// `gateway`.
    pub gateway: Option<String>,
}

/// `runtimeConfig.bandwidth`: rates in bit/s, bursts in bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bandwidth {
    /// `ingressRate`.
    pub ingress_rate: Option<u64>,
    /// `ingressBurst`.
    pub ingress_burst: Option<u64>,
    /// `egressRate`.
    pub egress_rate: Option<u64>,
    /// `egressBurst`.
    pub egress_burst: Option<u64>,
}

/// `runtimeConfig.dns`: the runtime's resolver settings for the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeDns {
    /// `servers`.
    pub servers: Vec<String>,
    /// `searches`.
    pub searches: Vec<String>,
    /// `options`.
    pub options: Vec<String>,
}

/// `runtimeConfig`, with every well-known capability typed and the object kept whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeConfig {
    /// `portMappings`; empty when absent.
    pub port_mappings: Vec<PortMapping>,
    /// `ipRanges`: range sets (one address each) of disjoint ranges; empty when absent.
    pub ip_ranges: Vec<Vec<IpRange>>,
    /// `bandwidth`.
    pub bandwidth: Option<Bandwidth>,
    /// `dns`.
    pub dns: Option<RuntimeDns>,
    /// `ips`: requested addresses, `address` or `address/prefix`; empty when absent.
    pub ips: Vec<String>,
    /// `mac`.
    pub mac: Option<String>,
    /// `infinibandGUID`.
    pub infiniband_guid: Option<String>,
    /// `deviceID`: a PCI address or device path chosen by a device plugin.
    pub device_id: Option<String>,
    /// `aliases`: names the container is known by on this network.
    pub aliases: Vec<String>,
    /// `cgroupPath`.
    pub cgroup_path: Option<String>,
    /// The whole object as received, including capabilities not typed above.
    pub raw: Map<String, Value>,
}

impl RuntimeConfig {
    /// Reads a `runtimeConfig` object; errors name fields under `o`'s path.
    pub fn parse(o: &Obj<'_>) -> Result<RuntimeConfig, FieldError> {
        let port_path = o.field_path("portMappings");
        let ranges_path = o.field_path("ipRanges");
        Ok(RuntimeConfig {
            port_mappings: each(o, "portMappings", &port_path, PortMapping::parse)?,
            ip_ranges: range_sets(o, &ranges_path)?,
            bandwidth: nested(o, "bandwidth", bandwidth)?,
            dns: nested(o, "dns", dns)?,
            ips: ip_or_cidr_array(o, "ips")?,
            mac: string(o, "mac")?,
            infiniband_guid: string(o, "infinibandGUID")?,
            device_id: string(o, "deviceID")?,
            aliases: strings(o, "aliases")?,
            cgroup_path: string(o, "cgroupPath")?,
            raw: o.map().clone(),
        })
    }
}

fn range_sets(o: &Obj<'_>, path: &str) -> Result<Vec<Vec<IpRange>>, FieldError> {
    let Some(sets) = o.array("ipRanges")? else {
        return Ok(Vec::new());
    };
    sets.iter()
        .enumerate()
        .map(|(i, set)| {
            let set_path = index(path, i);
            let ranges = match set {
                Value::Array(a) => a,
                other => {
                    return Err(FieldError::WrongType {
                        path: set_path,
                        expected: "array",
                        found: crate::json::type_name(other),
                    })
                }
            };
            ranges
                .iter()
                .enumerate()
                .map(|(j, r)| {
                    let p = index(&set_path, j);
                    IpRange::parse(&Obj::at(r, &p)?)
                })
                .collect()
        })
        .collect()
}

impl IpRange {
    /// Reads one range of host-local's `ranges` shape; errors name fields under `o`'s path.
    pub fn parse(o: &Obj<'_>) -> Result<IpRange, FieldError> {
        let subnet = cidr_field(o, "subnet")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| FieldError::Missing {
                path: o.field_path("subnet"),
            })?;
        Ok(IpRange {
            subnet: subnet.to_owned(),
            range_start: ip_field(o, "rangeStart")?.map(str::to_owned),
            range_end: ip_field(o, "rangeEnd")?.map(str::to_owned),
            gateway: ip_field(o, "gateway")?.map(str::to_owned),
        })
    }
}

fn bandwidth(o: &Obj<'_>) -> Result<Bandwidth, FieldError> {
    Ok(Bandwidth {
        ingress_rate: o.u64("ingressRate")?,
        ingress_burst: o.u64("ingressBurst")?,
        egress_rate: o.u64("egressRate")?,
        egress_burst: o.u64("egressBurst")?,
    })
}

fn dns(o: &Obj<'_>) -> Result<RuntimeDns, FieldError> {
    Ok(RuntimeDns {
        servers: strings(o, "servers")?,
        searches: strings(o, "searches")?,
        options: strings(o, "options")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Protocol;
    use serde_json::json;

    fn rc(v: Value) -> Result<RuntimeConfig, FieldError> {
        RuntimeConfig::parse(&Obj::at(&v, "runtimeConfig")?)
    }

    #[test]
    fn every_capability_is_typed() {
        let r = rc(json!({
            "portMappings": [
                {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                {"hostPort": 53, "containerPort": 53, "protocol": "UDP", "hostIP": "127.0.0.1"},
                {"hostPort": 9, "containerPort": 9, "hostIP": ""}
            ],
            "ipRanges": [[{"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.10",
                           "rangeEnd": "10.1.0.20", "gateway": "10.1.0.1"}],
                         [{"subnet": "fd00:1::/64"}]],
            "bandwidth": {"ingressRate": 1000000, "ingressBurst": 2000, "egressRate": 3},
            "dns": {"servers": ["10.0.0.53"], "searches": ["svc.local"], "options": ["ndots:5"]},
            "ips": ["10.1.0.5", "fd00:1::5/64"],
            "mac": "02:00:00:00:00:01",
            "infinibandGUID": "c2:11:22:33:44:55:66:77",
            "deviceID": "0000:03:00.1",
            "aliases": ["web", "web.local"],
            "cgroupPath": "/kubepods/pod1",
            "somethingNew": {"kept": true}
        }))
        .unwrap();
        assert_eq!(r.port_mappings.len(), 3);
        assert_eq!(
            r.port_mappings[1],
            PortMapping {
                host_port: 53,
                container_port: 53,
                protocol: Protocol::Udp,
                host_ip: Some("127.0.0.1".into())
            }
        );
        assert_eq!(r.port_mappings[2].protocol, Protocol::Tcp);
        assert_eq!(r.port_mappings[2].host_ip, None);
        assert_eq!(r.ip_ranges[0][0].range_end.as_deref(), Some("10.1.0.20"));
        assert_eq!(r.ip_ranges[1][0].gateway, None);
        let bw = r.bandwidth.unwrap();
        assert_eq!((bw.ingress_rate, bw.egress_burst), (Some(1_000_000), None));
        assert_eq!(r.dns.unwrap().options, ["ndots:5"]);
        assert_eq!(r.ips, ["10.1.0.5", "fd00:1::5/64"]);
        assert_eq!(r.device_id.as_deref(), Some("0000:03:00.1"));
        assert_eq!(
            r.infiniband_guid.as_deref(),
            Some("c2:11:22:33:44:55:66:77")
        );
        assert_eq!(r.aliases, ["web", "web.local"]);
        assert_eq!(r.cgroup_path.as_deref(), Some("/kubepods/pod1"));
        assert_eq!(r.raw.get("somethingNew"), Some(&json!({"kept": true})));
    }

    #[test]
    fn absent_capabilities_are_empty() {
        let r = rc(json!({})).unwrap();
        assert!(r.port_mappings.is_empty() && r.ip_ranges.is_empty() && r.ips.is_empty());
        assert_eq!((r.bandwidth, r.dns, r.mac), (None, None, None));
    }

    #[test]
    fn bad_values_name_their_path() {
        let cases = [
            (json!({"portMappings": [{"hostPort": "80", "containerPort": 80}]}),
             "runtimeConfig.portMappings[0].hostPort: expected integer, found string"),
            (json!({"portMappings": [{"hostPort": 0, "containerPort": 80}]}),
             "runtimeConfig.portMappings[0].hostPort: port 0 is not in 1-65535"),
            (json!({"portMappings": [{"hostPort": 1, "containerPort": 65536}]}),
             "runtimeConfig.portMappings[0].containerPort: port 65536 is not in 1-65535"),
            (json!({"portMappings": [{"hostPort": 1}]}),
             "runtimeConfig.portMappings[0].containerPort: required field is missing"),
            (json!({"portMappings": [{"hostPort": 1, "containerPort": 1, "protocol": "icmp"}]}),
             "runtimeConfig.portMappings[0].protocol: unknown protocol \"icmp\" (expected tcp, udp or sctp)"),
            (json!({"portMappings": [{"hostPort": 1, "containerPort": 1, "hostIP": "localhost"}]}),
             "runtimeConfig.portMappings[0].hostIP: \"localhost\" is not an IP address"),
            (json!({"portMappings": {}}),
             "runtimeConfig.portMappings: expected array, found object"),
            (json!({"ipRanges": [{"subnet": "10.0.0.0/8"}]}),
             "runtimeConfig.ipRanges[0]: expected array, found object"),
            (json!({"ipRanges": [[{"subnet": "10.0.0.0"}]]}),
             "runtimeConfig.ipRanges[0][0].subnet: \"10.0.0.0\" is not a CIDR (address/prefix)"),
            (json!({"ipRanges": [[{"gateway": "10.0.0.1"}]]}),
             "runtimeConfig.ipRanges[0][0].subnet: required field is missing"),
            (json!({"bandwidth": {"egressRate": -1}}),
             "runtimeConfig.bandwidth.egressRate: -1 is not a non-negative integer"),
            (json!({"bandwidth": {"egressRate": "1M"}}),
             "runtimeConfig.bandwidth.egressRate: expected integer, found string"),
            (json!({"ips": ["10.0.0.300"]}),
             "runtimeConfig.ips[0]: \"10.0.0.300\" is not an IP address or CIDR"),
            (json!({"dns": {"servers": [1]}}),
             "runtimeConfig.dns.servers[0]: expected string, found number"),
            (json!({"aliases": "web"}), "runtimeConfig.aliases: expected array, found string"),
        ];
        for (input, message) in cases {
            assert_eq!(rc(input).unwrap_err().to_string(), message);
        }
        assert!(matches!(
            rc(json!([])),
            Err(FieldError::WrongType { path, .. }) if path == "runtimeConfig"
        ));
    }
}
