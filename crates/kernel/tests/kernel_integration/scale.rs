//! A dump spanning many datagrams comes back complete.

use std::collections::HashMap;

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
