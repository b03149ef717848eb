//! Choosing the spec version of a configuration twill writes.

use anyhow::{Context, Result};
use twill_cni::exec::Exec;
use twill_cni::Version;
use twill_runtime::Runtime;

use crate::errors::advise;

/// The newest spec version that every plugin in `types` speaks, 0.4.0 or later (so CHECK
/// works). Asking instead of assuming keeps a configuration usable with whatever plugins
/// CNI_PATH holds: twill's speak 1.1.0 (and get GC), the reference plugins 1.0.0.
pub fn newest_common<E: Exec>(runtime: &Runtime<E>, types: &[&str]) -> Result<Version> {
    let mut common: Vec<Version> = Version::ALL
        .into_iter()
        .filter(|v| *v >= Version::V0_4_0)
        .collect();
    for t in types {
        let info = runtime
            .version_info(t)
            .with_context(|| format!("asking plugin {t:?} for its versions"))?;
        common.retain(|v| info.supports(*v));
    }
    common.last().copied().ok_or_else(|| {
        advise(
            format!(
                "the plugins {} have no spec version from 0.4.0 on in common",
                types.join(", ")
            ),
            "`twill plugins` shows which versions each plugin speaks; update the old ones",
        )
    })
}
