//! Undoing a failed ADD: once the veth pair exists, any later failure releases the IPAM
//! reservation (when one was made) and deletes the pair, so nothing is left half configured.

use twill_cni::skel::CmdArgs;

use super::{ipam, unlink};

/// What to undo when ADD fails after the veth pair exists.
#[derive(Debug, Clone)]
pub struct Undo<'a> {
    /// The plugin's name, for the messages on stderr.
    pub plugin: &'static str,
    /// The host end of the pair (deleting it takes the container end too).
    pub veth: String,
    /// The IPAM plugin to release through, once its ADD succeeded.
    pub ipam: Option<&'a str>,
}

impl Undo<'_> {
    /// Releases and deletes, best effort: the ADD's own error is what the runtime must see,
    /// so failures here only go to stderr.
    pub fn run(&self, args: &CmdArgs) {
        if let Some(t) = self.ipam {
            if let Err(e) = ipam::del(t, args) {
                eprintln!(
                    "{}: releasing the IPAM reservation after a failed ADD: {e}",
                    self.plugin
                );
            }
        }
        match unlink::host_link(&self.veth) {
            Err(e) if !e.is_not_found() => eprintln!(
                "{}: deleting {:?} after a failed ADD: {e}",
                self.plugin, self.veth
            ),
            _ => {}
        }
    }
}
