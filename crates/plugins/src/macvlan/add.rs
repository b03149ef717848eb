//! ADD: a macvlan child of the parent, through the shared child-of-a-parent ADD
//! (common::child).

use serde_json::Value;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use super::config::MacvlanConf;
use crate::common::child::{self, Addressing, Kind, Plan};

/// Runs ADD and returns the result in the configuration's version.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let conf = MacvlanConf::parse(args)?;
    conf.check_result_version(args.version)?;
    let plan = Plan {
        plugin: "macvlan",
        lower: &conf.lower,
        kind: Kind::Macvlan(conf.mode),
        mac: conf.mac,
        addressing: match &conf.ipam {
            Some(t) => Addressing::Ipam(t),
            None => Addressing::None,
        },
        dns: conf.dns.as_ref(),
    };
    child::add(args, plan)
}
