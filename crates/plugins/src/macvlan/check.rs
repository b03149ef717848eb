//! CHECK: the shared child-of-a-parent CHECK (common::child_check) for a macvlan of the
//! configured mode.

use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use super::config::MacvlanConf;
use crate::common::child::Kind;
use crate::common::child_check::{self, Expected};

/// Runs CHECK.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = MacvlanConf::parse(args)?;
    let want = Expected {
        plugin: "macvlan",
        lower: &conf.lower,
        kind: Kind::Macvlan(conf.mode),
        ipam: conf.ipam.as_deref(),
        prev: conf.net.plugin.prev_result.as_ref(),
        parent_known: true,
    };
    child_check::check(args, want)
}
