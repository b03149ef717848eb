//! The `dhcp` IPAM plugin: validates the configuration, then asks the daemon (see [`rpc`]).
//! It never speaks DHCP itself: the daemon holds and renews the lease.

use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::result::{CniResult, V1Result};
use twill_cni::skel::{CmdArgs, Plugin};
use twill_cni::{CniError, Code, Version};
use twill_ipam::dhcp::conf::socket_path;
use twill_ipam::dhcp::DhcpConf;
use twill_ipam::IpamError;

use super::rpc::{self, Op, Request};

/// The plugin.
#[derive(Debug)]
pub struct Dhcp;

/// The version the daemon's results are written in.
pub const DAEMON_RESULT_VERSION: Version = Version::V1_1_0;

fn absolute(netns: &Path) -> Result<String, CniError> {
    let path = std::path::absolute(netns).map_err(|e| {
        CniError::invalid_environment(format!("CNI_NETNS {}: {e}", netns.display()))
    })?;
    Ok(path.to_string_lossy().into_owned())
}

fn attachment(args: &CmdArgs, op: Op) -> Result<Request, CniError> {
    let mut req = Request::new(op);
    req.container_id.clone_from(&args.container_id);
    req.network.clone_from(&args.name);
    req.ifname.clone_from(&args.ifname);
    req.netns = args.netns.as_deref().map(absolute).transpose()?;
    Ok(req)
}

fn lease_result(value: Option<Value>) -> Result<V1Result, CniError> {
    let value = value
        .ok_or_else(|| CniError::new(Code::INTERNAL, "DHCP daemon answered without a result"))?;
    Ok(CniResult::from_value(&value, DAEMON_RESULT_VERSION)?.into_latest())
}

fn lenient_socket(args: &CmdArgs) -> Result<std::path::PathBuf, CniError> {
    socket_path(&args.config).map_err(CniError::from)
}

impl Plugin for Dhcp {
    fn add(&self, args: &CmdArgs) -> Result<Value, CniError> {
        let conf = DhcpConf::parse(&args.config, &args.args)?;
        let mut req = attachment(args, Op::Add)?;
        req.requested = conf.requested;
        req.provided = conf.provided;
        let result = lease_result(rpc::call(&conf.socket_path, &req)?)?;
        Ok(CniResult::from_latest(result, args.version)?.to_json())
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only the socket is needed: a configuration ADD would refuse for other reasons can
        // never have acquired a lease, and DEL must not fail on it.
        let socket = lenient_socket(args)?;
        rpc::call(&socket, &attachment(args, Op::Del)?)?;
        Ok(())
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = DhcpConf::parse(&args.config, &args.args)?;
        let held = lease_result(rpc::call(&conf.socket_path, &attachment(args, Op::Check)?)?)?;
        let Some(prev) = crate::host_local::prev_result(args)? else {
            return Ok(());
        };
        for ip in &held.ips {
            let addr: IpAddr = ip.address.addr();
            if !prev.ips.iter().any(|p| p.address.addr() == addr) {
                return Err(IpamError::Mismatch(format!(
                    "dhcp: lease address {addr} of container {} interface {} is not in prevResult",
                    args.container_id, args.ifname
                ))
                .into());
            }
        }
        Ok(())
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let socket = lenient_socket(args)?;
        let valid = NetConf::from_value(&args.config)?
            .valid_attachments
            .unwrap_or_default();
        let mut req = Request::new(Op::Gc);
        req.network.clone_from(&args.name);
        req.valid = valid
            .into_iter()
            .map(|a| (a.container_id, a.ifname))
            .collect();
        rpc::call(&socket, &req)?;
        Ok(())
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let socket = lenient_socket(args)?;
        rpc::call(&socket, &Request::new(Op::Status))
            .map_err(|e| CniError::new(Code::PLUGIN_NOT_AVAILABLE, e.msg))?;
        Ok(())
    }
}
