//! `dummy`: a dummy interface in the container (a link that drops what it is sent), named
//! `CNI_IFNAME`, with addresses from the IPAM — for an address the pod answers on without a
//! path anywhere. Keys, behaviour and deviations: docs/plugins/dummy.md.

use std::os::fd::AsFd;
use std::process::ExitCode;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::skel::{self, CmdArgs, Plugin};
use twill_cni::{CniError, Version};
use twill_kernel::link_kinds::{Kind, LinkKind};

use crate::common::error::internal;
use crate::common::kind_link::{self, Attach};
use crate::common::{ipam, netconf};

/// The plugin's entry point.
pub fn main() -> ExitCode {
    skel::run(
        &Dummy,
        "twill dummy: a dummy interface with addresses in the container's network namespace",
        &Version::ALL,
    )
}

struct Dummy;

/// `ipam.type`: required (code 7): a dummy interface without addresses is of no use.
fn required_ipam(args: &CmdArgs) -> Result<(NetConf, String), CniError> {
    let net = NetConf::from_value(&args.config)?;
    let t = netconf::required_ipam(&net, "dummy")?;
    Ok((net, t))
}

impl Plugin for Dummy {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let (net, t) = required_ipam(args)?;
        let dns = netconf::dns(&net);
        let at = Attach {
            plugin: "dummy",
            ipam: &t,
            dns: dns.as_ref(),
        };
        kind_link::add(args, at, |host, container, _| {
            // Made from the host's socket straight into the container, under its name.
            let spec = LinkKind {
                netns: Some(container.as_fd()),
                ..LinkKind::new(&args.ifname, Kind::Dummy)
            };
            host.link_add_kind(&spec)
                .map_err(|e| internal(format!("failed to create dummy: {e}")))
        })
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = NetConf::from_value(&args.config)?;
        let t = net.plugin.ipam.map(|i| i.ipam_type);
        kind_link::del(args, "dummy", t.as_deref(), "dummy")
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let (net, t) = required_ipam(args)?;
        kind_link::check(args, net.plugin.prev_result.as_ref(), &t, "dummy").map(drop)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let (_, t) = required_ipam(args)?;
        ipam::gc(&t, args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let (_, t) = required_ipam(args)?;
        ipam::status(&t, args)
    }
}
