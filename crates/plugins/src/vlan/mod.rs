//! `vlan`: an 802.1Q vlan of a host interface (`master`) in the container, named
//! `CNI_IFNAME`, with addresses from the IPAM. Keys, behaviour and deviations:
//! docs/plugins/vlan.md.

pub mod config;

use std::os::fd::AsFd;
use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::link_kinds::{Kind, KindInfo, LinkKind};
use twill_kernel::{LinkId, Netlink};

use self::config::VlanConf;
use crate::common::error::{internal, kernel};
use crate::common::ipam;
use crate::common::kind_link::{self, Attach};

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &VlanPlugin,
        "twill vlan: 802.1Q vlan interfaces in the container's network namespace",
        &Version::ALL,
    )
}

struct VlanPlugin;

/// The master's index and MTU, and the MTU the vlan gets: the configured one (at most the
/// master's: code 7) or the master's.
fn master(nl: &mut Netlink, conf: &VlanConf) -> Result<(u32, u32), CniError> {
    let m = nl
        .link_get(LinkId::Name(&conf.master))
        .map_err(|e| internal(format!("failed to lookup master {:?}: {e}", conf.master)))?;
    let mtu = match conf.mtu {
        None => m.mtu,
        Some(mtu) if mtu <= m.mtu => mtu,
        Some(mtu) => {
            return Err(CniError::invalid_config(format!(
                "mtu: invalid MTU {mtu}, must be [0, master MTU({})]",
                m.mtu
            )))
        }
    };
    Ok((m.index, mtu))
}

impl Plugin for VlanPlugin {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = VlanConf::parse(args)?;
        let at = Attach {
            plugin: "vlan",
            ipam: &conf.ipam,
            dns: conf.dns.as_ref(),
        };
        kind_link::add(args, at, |host, container, cnl| {
            // With linkInContainer the master is the container's and the vlan is made
            // there; otherwise the master is the host's and the vlan is made straight into
            // the container, under its name (no temporary name, no move).
            let (nl, netns) = if conf.link_in_container {
                (cnl, None)
            } else {
                (host, Some(container.as_fd()))
            };
            let (parent, mtu) = master(nl, &conf)?;
            let spec = LinkKind {
                mtu: Some(mtu),
                netns,
                ..LinkKind::new(
                    &args.ifname,
                    Kind::Vlan {
                        parent,
                        id: conf.vlan_id,
                    },
                )
            };
            nl.link_add_kind(&spec)
                .map_err(|e| internal(format!("failed to create vlan: {e}")))
        })
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = NetConf::from_value(&args.config)?;
        let t = net.plugin.ipam.map(|i| i.ipam_type);
        kind_link::del(args, "vlan", t.as_deref(), "vlan")
    }

    /// The common checks, then the vlan id and the MTU.
    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = VlanConf::parse(args)?;
        let prev = conf.net.plugin.prev_result.as_ref();
        let (link, mut nl) = kind_link::check(args, prev, &conf.ipam, "vlan")?;
        match nl
            .link_kind_info(LinkId::Index(link.index))
            .map_err(kernel)?
        {
            KindInfo::Vlan { id, .. } if id == conf.vlan_id => {}
            other => {
                return Err(internal(format!(
                    "Error: Container interface {} is not vlan id {} ({other:?})",
                    args.ifname, conf.vlan_id
                )))
            }
        }
        if conf.mtu.is_some_and(|m| m != link.mtu) {
            return Err(internal(format!(
                "Error: Container interface {} MTU {} doesn't match {}",
                args.ifname,
                link.mtu,
                conf.mtu.unwrap_or_default()
            )));
        }
        Ok(())
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = VlanConf::parse(args)?;
        ipam::gc(&conf.ipam, args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = VlanConf::parse(args)?;
        ipam::status(&conf.ipam, args)
    }
}
