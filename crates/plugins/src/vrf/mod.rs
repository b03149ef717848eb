//! `vrf`: a chained plugin that puts `CNI_IFNAME` into a VRF (an L3 master device with its
//! own routing table) in the container, creating the VRF when missing and deleting it with
//! its last interface. Keys, behaviour and deviations: docs/plugins/vrf.md.

mod enslave;

use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::json::FieldError;
use twill_cni::result::CniResult;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::link::check_name;
use twill_kernel::link_kinds::KindInfo;
use twill_kernel::LinkId;

use crate::common::error::{internal, kernel};
use crate::common::netns;

/// The versions the reference speaks (from 0.3.1), and 1.1.0.
const VERSIONS: [Version; 4] = [
    Version::V0_3_1,
    Version::V0_4_0,
    Version::V1_0_0,
    Version::V1_1_0,
];

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &VrfPlugin,
        "twill vrf: puts the container's interface into a VRF",
        &VERSIONS,
    )
}

struct VrfPlugin;

/// `vrfname` (required, an interface name) and `table` (optional; 0 = pick one).
#[derive(Debug, Clone, PartialEq)]
pub struct VrfConf {
    net: NetConf,
    name: String,
    table: Option<u32>,
}

fn parse(args: &CmdArgs) -> Result<VrfConf, CniError> {
    let net = NetConf::from_value(&args.config)?;
    let o = net.obj();
    let name = o
        .str("vrfname")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            CniError::invalid_config("vrfname: required: the VRF to put the interface in")
        })?
        .to_owned();
    check_name(&name).map_err(|why| FieldError::invalid(o.field_path("vrfname"), why))?;
    let table = o.u32("table")?.filter(|t| *t != 0);
    Ok(VrfConf { name, table, net })
}

impl Plugin for VrfPlugin {
    /// Chained only: `prevResult` is required and passed through in the request's version.
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = parse(args)?;
        let prev = conf
            .net
            .plugin
            .prev_result
            .as_ref()
            .ok_or_else(|| internal("missing prevResult from earlier plugin"))?;
        let result = CniResult::from_value_at(prev, "prevResult", args.version)?;
        let path = netns::path(args)?;
        let container = netns::open(args)?;
        let (mut nl, ()) = netns::enter(&container, path, || ())?;
        enslave::add(&mut nl, &conf.name, conf.table, &args.ifname)?;
        Ok(result.convert(args.version)?.to_json())
    }

    /// The interface leaves the VRF; the VRF goes with its last interface. Succeeds when
    /// the namespace, the VRF or the interface are gone, and on repeats.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = parse(args)?;
        let Some(path) = args.netns.as_deref() else {
            return Ok(());
        };
        let Some((_ns, mut nl)) = netns::open_for_del(path)? else {
            return Ok(());
        };
        enslave::del(&mut nl, &conf.name, &args.ifname)
    }

    /// The VRF exists (with the configured table) and the interface is in it.
    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = parse(args)?;
        if conf.net.plugin.prev_result.is_none() {
            return Err(internal("missing prevResult from earlier plugin"));
        }
        let path = netns::path(args)?;
        let container = netns::open(args)?;
        let (mut nl, ()) = netns::enter(&container, path, || ())?;
        let vrf = nl
            .link_get(LinkId::Name(&conf.name))
            .map_err(|e| internal(format!("VRF {:?}: {e}", conf.name)))?;
        match nl
            .link_kind_info(LinkId::Index(vrf.index))
            .map_err(kernel)?
        {
            KindInfo::Vrf { table } => {
                if conf.table.is_some_and(|t| t != table) {
                    return Err(internal(format!(
                        "VRF {:?} has table {table}, not {}",
                        conf.name,
                        conf.table.unwrap_or_default()
                    )));
                }
            }
            _ => return Err(internal(format!("{:?} is not a VRF", conf.name))),
        }
        let link = nl.link_get(LinkId::Name(&args.ifname)).map_err(kernel)?;
        if link.master != Some(vrf.index) {
            return Err(internal(format!(
                "interface {:?} is not in VRF {:?}",
                args.ifname, conf.name
            )));
        }
        Ok(())
    }
}
