//! Ours and the reference on one data directory: each releases what the other allocated,
//! allocation continues round-robin from the other's last reservation, and concurrent runs of
//! both never hand out one address twice (they lock the same file).

// Helpers of this test file: a panic in one is a test failure with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

#[path = "ipam_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::thread;

use serde_json::json;
use support::{add, del, env, first_ip, host_local, ours, reference, reservations, TempDir};

#[test]
fn each_releases_what_the_other_allocated() {
    let tmp = TempDir::new("interop");
    let conf = host_local(
        "1.0.0",
        tmp.path(),
        json!({"ranges": [[{"subnet": "10.30.0.0/24"}], [{"subnet": "fd00:30::/64"}]]}),
    );
    let net = tmp.path().join("net");
    for (allocator, releaser) in [(reference(), ours()), (ours(), reference())] {
        let r = add(
            &allocator,
            "host-local",
            &conf,
            &env("ctr-x", "eth0", &allocator),
        )
        .unwrap();
        let other = add(
            &allocator,
            "host-local",
            &conf,
            &env("ctr-y", "eth0", &allocator),
        )
        .unwrap();
        assert_eq!(reservations(&net).len(), 4);
        del(
            &releaser,
            "host-local",
            &conf,
            &env("ctr-x", "eth0", &releaser),
        )
        .unwrap();
        let left = reservations(&net);
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(!left.contains(&first_ip(&r)) && left.contains(&first_ip(&other)));
        del(
            &releaser,
            "host-local",
            &conf,
            &env("ctr-y", "eth0", &releaser),
        )
        .unwrap();
        assert!(reservations(&net).is_empty());
    }
}

#[test]
fn round_robin_continues_across_implementations() {
    let tmp = TempDir::new("rr");
    let conf = host_local("1.0.0", tmp.path(), json!({"subnet": "10.31.0.0/24"}));
    let mut got = Vec::new();
    for i in 0..6 {
        let dir = if i % 2 == 0 { reference() } else { ours() };
        let r = add(
            &dir,
            "host-local",
            &conf,
            &env(&format!("c{i}"), "eth0", &dir),
        )
        .unwrap();
        got.push(first_ip(&r));
        // Release at once: only last_reserved_ip can make the next one move on.
        del(
            &dir,
            "host-local",
            &conf,
            &env(&format!("c{i}"), "eth0", &dir),
        )
        .unwrap();
    }
    let want: Vec<String> = (2..8).map(|n| format!("10.31.0.{n}")).collect();
    assert_eq!(got, want);
}

#[test]
fn concurrent_runs_of_both_never_share_an_address() {
    let tmp = TempDir::new("concurrent");
    let conf = host_local("1.0.0", tmp.path(), json!({"subnet": "10.32.0.0/24"}));
    let per_side = 40;
    let results: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..2 * per_side)
            .map(|i| {
                let conf = &conf;
                s.spawn(move || {
                    let dir = if i % 2 == 0 { reference() } else { ours() };
                    let r = add(
                        &dir,
                        "host-local",
                        conf,
                        &env(&format!("p{i}"), "eth0", &dir),
                    )
                    .unwrap();
                    first_ip(&r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: BTreeSet<&String> = results.iter().collect();
    assert_eq!(distinct.len(), 2 * per_side);
    assert_eq!(reservations(&tmp.path().join("net")).len(), 2 * per_side);
    thread::scope(|s| {
        for i in 0..2 * per_side {
            let conf = &conf;
            s.spawn(move || {
                // Released by the other implementation than the one that allocated.
                let dir = if i % 2 == 0 { ours() } else { reference() };
                del(
                    &dir,
                    "host-local",
                    conf,
                    &env(&format!("p{i}"), "eth0", &dir),
                )
                .unwrap();
            });
        }
    });
    assert!(reservations(&tmp.path().join("net")).is_empty());
}
