//! 200 ADDs at once into one range: 200 distinct addresses, all released by DEL.

#[path = "ipam_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::thread;

use serde_json::json;
use support::{add, del, env, first_ip, host_local, ours, reservations, temp_files, TempDir};

#[test]
fn two_hundred_parallel_adds_get_distinct_addresses() {
    let tmp = TempDir::new("parallel");
    let conf = host_local("1.0.0", tmp.path(), json!({"subnet": "10.40.0.0/23"}));
    let n = 200;
    let got: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let conf = &conf;
                s.spawn(move || {
                    first_ip(
                        &add(
                            &ours(),
                            "host-local",
                            conf,
                            &env(&format!("par-{i}"), "eth0", &ours()),
                        )
                        .unwrap(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: BTreeSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), n);
    let net = tmp.path().join("net");
    assert_eq!(reservations(&net).len(), n);
    thread::scope(|s| {
        for i in 0..n {
            let conf = &conf;
            s.spawn(move || {
                del(
                    &ours(),
                    "host-local",
                    conf,
                    &env(&format!("par-{i}"), "eth0", &ours()),
                )
                .unwrap()
            });
        }
    });
    assert!(reservations(&net).is_empty());
    assert!(temp_files(&net).is_empty());
}
