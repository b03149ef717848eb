//! `bandwidth`: a chained plugin that limits a container's traffic with token bucket
//! filters on the host end of its veth, and passes the previous result on.
//!
//! * ADD: read the limits (own keys, else the `bandwidth` capability), find the host end
//!   of the container's veth, install the shaping ([`shape`]); a partial install is removed
//!   again. The result is `prevResult` in the configuration's version, with the ifb added
//!   when egress is shaped.
//! * DEL: delete the ifb (the host end and its qdiscs go with the interface plugin's DEL).
//!   Needs neither the namespace nor `prevResult`; succeeds when things are gone.
//! * CHECK: the qdiscs, filter and ifb are there with the configured parameters.
//! * GC: delete the ifbs this network made for containers no longer listed.
//!
//! `docs/plugins/bandwidth.md` describes keys, behaviour and where this departs from the
//! reference plugin.

pub mod config;
pub mod host;
pub mod shape;

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::json::Obj;
use twill_cni::result::{CniResult, V1Interface};
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::Netlink;

use crate::common::error::{all_done, kernel};
use crate::common::netns;
use config::BandwidthConf;

/// What the binary says about itself when run by hand.
const ABOUT: &str = concat!("twill bandwidth v", env!("CARGO_PKG_VERSION"));

/// The versions the reference speaks from (it needs chaining), through the newest.
const VERSIONS: [Version; 5] = [
    Version::V0_3_0,
    Version::V0_3_1,
    Version::V0_4_0,
    Version::V1_0_0,
    Version::V1_1_0,
];

/// The `bandwidth` plugin.
#[derive(Debug)]
pub struct Bandwidth;

/// Runs `bandwidth` as a whole process.
pub fn main() -> ExitCode {
    skel::run(&Bandwidth, ABOUT, &VERSIONS)
}

/// `prevResult`, read in its own version (the configuration's when it has none).
fn prev_result(args: &CmdArgs) -> Result<CniResult, CniError> {
    let o = Obj::root(&args.config)?;
    let Some(prev) = o.get("prevResult") else {
        return Err(CniError::invalid_config(
            "prevResult: required: bandwidth is a chained plugin and must follow the plugin that creates the container's veth",
        ));
    };
    CniResult::from_value_at(prev, &o.field_path("prevResult"), args.version)
}

fn host_socket() -> Result<Netlink, CniError> {
    Netlink::open().map_err(kernel)
}

/// The host end of the container's interface, and a socket in the host namespace.
fn host_end(args: &CmdArgs, prev: &CniResult) -> Result<(Netlink, host::HostEnd), CniError> {
    let ns = netns::open(args)?;
    let path = netns::path(args)?;
    let (mut pod, ()) = netns::enter(&ns, path, || ())?;
    let mut nl = host_socket()?;
    let end = host::find(&prev.to_latest(), &args.ifname, &mut pod, &mut nl)?;
    Ok((nl, end))
}

impl Plugin for Bandwidth {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = BandwidthConf::parse(&args.config)?;
        let prev = prev_result(args)?;
        if conf.is_empty() {
            return Ok(prev.convert(args.version)?.to_json());
        }
        let (mut nl, end) = host_end(args, &prev)?;
        let ifb = shape::install(&mut nl, &end, &conf, &args.name, &args.container_id)?;
        let Some(ifb) = ifb else {
            return Ok(prev.convert(args.version)?.to_json());
        };
        let mut latest = prev.into_latest();
        let mac = ifb.mac.map(|m| m.to_string()).unwrap_or_default();
        latest
            .interfaces
            .push(V1Interface::new(ifb.name).with_mac(mac));
        Ok(CniResult::from_latest(latest, args.version)?.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Nothing of the configuration but its name matters: a DEL must clean up after any
        // ADD, also one that refused the limits.
        let mut nl = host_socket()?;
        shape::remove_ifb(&mut nl, &shape::ifb_name(&args.name, &args.container_id))
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = BandwidthConf::parse(&args.config)?;
        let prev = prev_result(args)?;
        let (mut nl, end) = host_end(args, &prev)?;
        shape::check(&mut nl, &end, &conf, &args.name, &args.container_id)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = NetConf::from_value(&args.config)?;
        let valid: BTreeSet<&str> = net
            .valid_attachments
            .iter()
            .flatten()
            .map(|a| a.container_id.as_str())
            .collect();
        let mut nl = host_socket()?;
        let mut failures = Vec::new();
        for ifb in nl.ifb_list().map_err(kernel)? {
            let Some((network, id)) = ifb.alias.as_deref().and_then(shape::parse_alias) else {
                continue;
            };
            if network != args.name || valid.contains(id) {
                continue;
            }
            if let Err(e) = crate::common::unlink::host_index(ifb.index) {
                if !e.is_not_found() {
                    failures.push(e.to_string());
                }
            }
        }
        all_done(failures)
    }
}
