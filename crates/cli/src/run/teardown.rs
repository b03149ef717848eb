//! Undoing a run: DEL of every attachment in reverse, then the namespace (when the run made
//! it) and the state file.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use twill_kernel::NetNsDir;
use twill_runtime::{Attachment, NetworkList};

use crate::context::Ctx;
use crate::run::state::RunState;

/// Tears run `state` down. Every DEL is attempted; only when all succeeded are the namespace
/// and the state file removed, so a failed teardown leaves what `twill gc` needs to retry.
pub fn teardown(ctx: &Ctx, state: &RunState, state_file: &Path) -> Result<()> {
    let runtime = ctx.runtime();
    let mut errors = Vec::new();
    for a in state.attachments.iter().rev() {
        let del = || -> Result<()> {
            let net = NetworkList::from_bytes(a.config.to_string().as_bytes())?;
            let att = Attachment::new(
                &state.container_id,
                state.netns.to_string_lossy(),
                &a.ifname,
            )
            .with_capability_args(a.capability_args.clone());
            runtime.del(&net, &att)?;
            Ok(())
        };
        if let Err(e) = del() {
            errors.push(format!(
                "DEL of {} on network {:?}: {e:#}",
                a.ifname, a.network
            ));
        }
    }
    if !errors.is_empty() {
        return Err(anyhow!(
            "tearing down run {:?}: {}",
            state.name,
            errors.join("; ")
        ));
    }
    if state.owns_netns {
        delete_netns(&state.netns)?;
    }
    RunState::remove(state_file)
}

/// Deletes the named namespace at `path` (unmount and remove); already gone is fine.
pub fn delete_netns(path: &Path) -> Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    match NetNsDir::new(dir).delete(&name.to_string_lossy()) {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing namespace {}", path.display())),
    }
}
