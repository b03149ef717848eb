//! ADD: an ipvlan child of the parent, through the shared child-of-a-parent ADD
//! (common::child), its addresses from the IPAM or the chained result.

use serde_json::Value;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use super::config::IpvlanConf;
use crate::common::child::{self, Addressing, Kind, Plan};

/// Runs ADD and returns the result in the configuration's version.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let (conf, given) = IpvlanConf::parse_for_add(args)?;
    let addressing = match (&conf.ipam, given) {
        (Some(t), _) => Addressing::Ipam(t),
        (None, Some(prev)) => Addressing::Given(prev),
        (None, None) => Addressing::None,
    };
    let plan = Plan {
        plugin: "ipvlan",
        lower: &conf.lower,
        kind: Kind::Ipvlan(conf.mode),
        mac: None,
        addressing,
        dns: conf.dns.as_ref(),
    };
    child::add(args, plan)
}
