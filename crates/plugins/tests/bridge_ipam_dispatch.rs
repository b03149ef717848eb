//! The bridge calls twill's own IPAM in-process only when `CNI_PATH` resolves `ipam.type` to
//! its own binary; any other binary of that name is executed. The two host-locals disagree on
//! one input — a gateway outside its subnet, which twill refuses and the reference accepts —
//! so the outcome shows which one ran.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::json;
use support::run::{Request, REFERENCE_DIR};
use support::{Impl, Sandbox};

#[test]
fn ipam_follows_cni_path_in_process_or_exec() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let conf = sb.conf(json!({
        "cniVersion": "1.0.0", "name": "dispatch", "type": "bridge", "bridge": "br-disp",
        "ipam": {"type": "host-local",
                 "ranges": [[{"subnet": "10.70.0.0/24", "gateway": "10.71.0.1"}]]},
    }));

    // twill's host-local on CNI_PATH: called in-process, and it refuses the gateway.
    let (code, msg) = sb.twill("bridge", "ADD", "ours", &pod.path, &conf).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("gateway"), "{msg}");

    // The reference's host-local on CNI_PATH: executed, and it accepts.
    let mut add = Request::new("ADD", "theirs", &pod.path);
    add.cni_path = Some(REFERENCE_DIR);
    let result = sb.exec(Impl::Twill, "bridge", &add, &conf).ok();
    assert_eq!(result["ips"][0]["gateway"], "10.71.0.1", "{result}");
    assert_eq!(sb.reserved("dispatch").len(), 1);

    let mut del = Request::new("DEL", "theirs", &pod.path);
    del.cni_path = Some(REFERENCE_DIR);
    sb.exec(Impl::Twill, "bridge", &del, &conf).ok();
    assert!(sb.reserved("dispatch").is_empty());
}
