//! A dump spanning many datagrams comes back complete.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use twill_kernel::NewLink;

use crate::common::Sandbox;

#[test]
fn dump_of_500_links_is_complete() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    for i in 0..250 {
        let (x, y) = (format!("sx{i}"), format!("sy{i}"));
        a.nl.link_add(&NewLink::veth(&x, &y)).unwrap();
    }
    let links = a.nl.link_list().unwrap();
    assert_eq!(links.len(), 501, "250 veth pairs and lo");
    let by_name: HashMap<&str, _> = links.iter().map(|l| (l.name.as_str(), l)).collect();
    assert_eq!(by_name.len(), 501, "names are unique");
    let by_index: HashMap<u32, _> = links.iter().map(|l| (l.index, l)).collect();
    assert_eq!(by_index.len(), 501, "indices are unique");
    for i in 0..250 {
        let x = by_name[format!("sx{i}").as_str()];
        let y = by_name[format!("sy{i}").as_str()];
        assert_eq!((x.link, y.link), (Some(y.index), Some(x.index)), "pair {i}");
        assert_eq!(x.kind.as_deref(), Some("veth"));
    }
}

#[test]
fn dumps_survive_concurrent_changes() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    for i in 0..150 {
        a.nl.link_add(&NewLink::bridge(&format!("base{i}")))
            .unwrap();
    }
    let mut churn = a.ns.netlink().unwrap();
    let stop = AtomicBool::new(false);
    let (mut dumps, mut exhausted) = (0, 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                churn.link_add(&NewLink::bridge("churn0")).unwrap();
                churn.link_delete("churn0".into()).unwrap();
                std::thread::sleep(Duration::from_micros(500));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while a.nl.interrupted_dumps() == 0 && Instant::now() < deadline {
            match a.nl.link_list() {
                Ok(links) => {
                    dumps += 1;
                    // Never a torn view: every base link, lo, and at most the churning one.
                    let base = links.iter().filter(|l| l.name.starts_with("base")).count();
                    assert_eq!(base, 150);
                    assert!(links.len() == 151 || links.len() == 152, "{}", links.len());
                }
                Err(e) => {
                    assert!(
                        matches!(e.kind(), twill_kernel::ErrorKind::DumpInterrupted(_)),
                        "{e}"
                    );
                    exhausted += 1;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    eprintln!(
        "dumps: {dumps} complete, {} interrupted and repeated, {exhausted} gave up",
        a.nl.interrupted_dumps()
    );
    assert!(
        a.nl.interrupted_dumps() > 0,
        "no dump was ever interrupted in 10 s"
    );
    assert!(dumps > 0);
}
