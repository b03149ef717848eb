//! host-local's configuration: where its state lives, its range sets, routes, resolver file and
//! the addresses a request asks for.

use std::net::IpAddr;
use std::path::PathBuf;

use serde_json::Value;
use twill_cni::config::IpRange;
use twill_cni::json::{index, Obj};
use twill_cni::result::V1Route;
use twill_cni::skel::CniArgs;
use twill_cni::Version;

use crate::addr::Addr;
use crate::common::{ipam_obj, net_conf, one_per_family, requested_ip, routes};
use crate::error::IpamError;
use crate::range::RangeSet;

/// Where host-local keeps its state when `dataDir` is not set.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/networks";

/// What DEL and GC need: the network's directory is `<data_dir>/<network>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConf {
    /// `ipam.dataDir`, or [`DEFAULT_DATA_DIR`].
    pub data_dir: PathBuf,
    /// The network's `name` (already validated as one path component).
    pub network: String,
}

impl StoreConf {
    /// Reads only `name` and `ipam.dataDir`, so that a DEL or GC succeeds even when the
    /// ranges were edited into something invalid after the addresses were handed out.
    pub fn parse(config: &Value) -> Result<StoreConf, IpamError> {
        let conf = net_conf(config)?;
        let ipam = ipam_obj(&conf);
        Ok(StoreConf {
            data_dir: ipam
                .str("dataDir")?
                .filter(|s| !s.is_empty())
                .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from),
            network: conf.name,
        })
    }

    /// The network's directory.
    pub fn dir(&self) -> PathBuf {
        self.data_dir.join(&self.network)
    }
}

/// The whole host-local configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLocalConf {
    /// Where the reservations live.
    pub store: StoreConf,
    /// Range sets in allocation order: `runtimeConfig.ipRanges`, the legacy top-level range,
    /// then `ipam.ranges`. One address is allocated from each.
    pub range_sets: Vec<RangeSet>,
    /// `ipam.routes`, copied into the result.
    pub routes: Vec<V1Route>,
    /// `ipam.resolvConf`: a resolv.conf whose settings become the result's `dns`.
    pub resolv_conf: Option<PathBuf>,
    /// Requested addresses (CNI_ARGS `IP`, `args.cni.ips`, `runtimeConfig.ips`), without
    /// repeats, in that order.
    pub requested: Vec<IpAddr>,
    /// The configuration's spec version.
    pub version: Version,
}

impl HostLocalConf {
    /// Reads and validates the configuration and the request's `CNI_ARGS`.
    pub fn parse(config: &Value, cni_args: &CniArgs) -> Result<HostLocalConf, IpamError> {
        let store = StoreConf::parse(config)?;
        let conf = net_conf(config)?;
        let ipam = ipam_obj(&conf);

        let mut sets: Vec<SetSource> = Vec::new();
        if let Some(rc) = &conf.plugin.runtime_config {
            for (i, set) in rc.ip_ranges.iter().enumerate() {
                let path = index("runtimeConfig.ipRanges", i);
                let ranges = set
                    .iter()
                    .enumerate()
                    .map(|(j, r)| (r.clone(), index(&path, j)))
                    .collect();
                sets.push((ranges, path));
            }
        }
        if ipam.str("subnet")?.is_some_and(|s| !s.is_empty()) {
            sets.push((
                vec![(IpRange::parse(&ipam)?, "ipam".to_owned())],
                "ipam".to_owned(),
            ));
        }
        sets.extend(configured_ranges(&ipam)?);
        if sets.is_empty() {
            return Err(IpamError::invalid(
                "ipam.ranges",
                "no IP ranges specified (set ipam.ranges or ipam.subnet)",
            ));
        }
        let mut range_sets: Vec<RangeSet> = Vec::with_capacity(sets.len());
        for (i, (set, path)) in sets.iter().enumerate() {
            let parsed = RangeSet::from_config(set, path)?;
            if let Some(k) = range_sets.iter().position(|o| o.overlaps(&parsed)) {
                let other = sets.get(k).map_or("", |(_, p)| p.as_str());
                return Err(IpamError::invalid(
                    path,
                    format!("range set {i} overlaps with range set {k} ({other})"),
                ));
            }
            range_sets.push(parsed);
        }
        one_per_family(
            range_sets.iter().map(RangeSet::family),
            conf.cni_version,
            "ipam.ranges",
        )?;

        let requested = requested_ips(&conf, cni_args)?;
        check_requested(&range_sets, &requested)?;

        Ok(HostLocalConf {
            store,
            range_sets,
            routes: routes(&ipam)?,
            resolv_conf: ipam
                .str("resolvConf")?
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            requested,
            version: conf.cni_version,
        })
    }
}

/// A range set as configured: each range with its path, and the set's path.
type SetSource = (Vec<(IpRange, String)>, String);

/// `ipam.ranges`: an array of arrays of ranges, each with its path.
fn configured_ranges(ipam: &Obj<'_>) -> Result<Vec<SetSource>, IpamError> {
    let Some(sets) = ipam.array("ranges")? else {
        return Ok(Vec::new());
    };
    let path = ipam.field_path("ranges");
    let mut out = Vec::with_capacity(sets.len());
    for (i, set) in sets.iter().enumerate() {
        let set_path = index(&path, i);
        let items = match set {
            Value::Array(a) => a,
            other => {
                return Err(twill_cni::json::FieldError::WrongType {
                    path: set_path,
                    expected: "array",
                    found: twill_cni::json::type_name(other),
                }
                .into())
            }
        };
        let mut ranges = Vec::with_capacity(items.len());
        for (j, r) in items.iter().enumerate() {
            let p = index(&set_path, j);
            ranges.push((IpRange::parse(&Obj::at(r, &p)?)?, p));
        }
        out.push((ranges, set_path));
    }
    Ok(out)
}

fn requested_ips(
    conf: &twill_cni::config::NetConf,
    cni_args: &CniArgs,
) -> Result<Vec<IpAddr>, IpamError> {
    let mut out: Vec<IpAddr> = Vec::new();
    let mut push = |ip: IpAddr| {
        let ip = Addr::from_ip(ip).ip();
        if !out.contains(&ip) {
            out.push(ip);
        }
    };
    for arg in cni_args
        .ips()
        .map_err(|e| IpamError::invalid("CNI_ARGS", e.msg))?
    {
        push(arg.addr);
    }
    if let Some(cni) = conf.plugin.args.as_ref().and_then(|a| a.cni.as_ref()) {
        for (i, text) in cni.ips.iter().enumerate() {
            push(requested_ip(text, &index("args.cni.ips", i))?);
        }
    }
    if let Some(rc) = &conf.plugin.runtime_config {
        for (i, text) in rc.ips.iter().enumerate() {
            push(requested_ip(text, &index("runtimeConfig.ips", i))?);
        }
    }
    Ok(out)
}

/// Every requested address must fall in a range of some set, be no set's gateway, and no two
/// may fall in the same set: all are refused before anything is reserved.
fn check_requested(sets: &[RangeSet], requested: &[IpAddr]) -> Result<(), IpamError> {
    let mut used: Vec<(usize, IpAddr)> = Vec::new();
    for &ip in requested {
        let addr = Addr::from_ip(ip);
        let found = sets
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.range_for(addr).map(|r| (i, r)));
        let Some((i, range)) = found else {
            return Err(IpamError::invalid(
                "requested IPs",
                format!("{ip} is in no range of any range set"),
            ));
        };
        if range.gateway == addr {
            return Err(IpamError::invalid(
                "requested IPs",
                format!("{ip} is the gateway of range set {i}"),
            ));
        }
        if let Some((_, other)) = used.iter().find(|(j, _)| *j == i) {
            return Err(IpamError::invalid(
                "requested IPs",
                format!("{other} and {ip} both fall in range set {i}: one address per set"),
            ));
        }
        used.push((i, ip));
    }
    Ok(())
}
