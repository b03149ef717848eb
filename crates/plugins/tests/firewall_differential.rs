//! twill's firewall beside the reference (`/usr/lib/cni/firewall`, v1.1.1, iptables) on
//! what a runtime sees: the printed result (prevResult passed through, converted to the
//! configuration's version) for every version both speak, every backend value podman and
//! hand-written configurations use, and both policies the reference knows; the versions
//! each answers to VERSION; the code for a version before 0.4.0. The reference runs inside
//! the test's host namespace only, with `iptables` on its PATH.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod firewall_support;
mod portmap_support;
mod support;

use std::path::Path;

use firewall_support::*;
use serde_json::{json, Value};
use support::run::Request;
use support::{Impl, Sandbox};
use twill_cni::result::CniResult;
use twill_cni::Version;

/// Where the reference finds `iptables` and `ip6tables`.
const PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
const XTABLES_LOCK: &str = "/run/xtables.lock";

/// Removes the lock file legacy iptables may create, when this test made it.
struct LockFileGuard(bool);

impl Drop for LockFileGuard {
    fn drop(&mut self) {
        if !self.0 {
            let _ = std::fs::remove_file(XTABLES_LOCK);
        }
    }
}

fn run(sb: &Sandbox, imp: Impl, cmd: &str, netns: &Path, conf: &Value) -> support::run::Run {
    let req = Request {
        path: Some(PATH),
        ..Request::new(cmd, "ctr-diff", netns)
    };
    sb.exec(imp, "firewall", &req, conf)
}

#[test]
fn printed_results_match_the_reference() {
    let _lock = LockFileGuard(Path::new(XTABLES_LOCK).exists());
    let mut sb = Sandbox::new();
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let latest = CniResult::from_value(&ra, Version::V1_0_0).unwrap();
    for version in [Version::V0_4_0, Version::V1_0_0] {
        let prev = latest.clone().convert(version).unwrap().to_json();
        for extra in [
            json!({"backend": ""}),
            json!({}),
            json!({"backend": "iptables"}),
            json!({"backend": "iptables", "ingressPolicy": "same-bridge"}),
            json!({"ingressPolicy": "open", "iptablesAdminChainName": "ADM"}),
        ] {
            let mut c = fw_conf(&sb, "fwnet", &prev, extra.clone());
            c["cniVersion"] = version.as_str().into();
            let theirs = run(&sb, Impl::Reference, "ADD", &a.path, &c).ok();
            let ours = run(&sb, Impl::Twill, "ADD", &a.path, &c).ok();
            assert_eq!(ours, theirs, "{} {extra}", version.as_str());
            assert_eq!(ours["cniVersion"], version.as_str());
            for imp in [Impl::Twill, Impl::Reference] {
                run(&sb, imp, "CHECK", &a.path, &c).ok();
                run(&sb, imp, "DEL", &a.path, &c).ok();
            }
        }
    }

    // Before 0.4.0 neither speaks (no prevResult, no CHECK): code 1.
    let mut old = fw_conf(&sb, "fwnet", &ra, json!({}));
    old["cniVersion"] = "0.3.1".into();
    for imp in [Impl::Twill, Impl::Reference] {
        let (code, _) = run(&sb, imp, "ADD", &a.path, &old).err();
        assert_eq!(code, 1, "{imp:?}");
    }

    // VERSION: the reference's versions, and 1.1.0 (GC, STATUS) on top.
    let v = json!({"cniVersion": "1.0.0"});
    let theirs = run(&sb, Impl::Reference, "VERSION", &a.path, &v).ok();
    let ours = run(&sb, Impl::Twill, "VERSION", &a.path, &v).ok();
    let mut want = theirs["supportedVersions"].as_array().unwrap().clone();
    want.push(json!("1.1.0"));
    assert_eq!(ours["supportedVersions"], json!(want));
}
