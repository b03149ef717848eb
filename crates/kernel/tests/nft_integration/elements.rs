//! Element add, create, delete, get and flush; 10,000 elements in one batch.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde_json::json;
use twill_kernel::nft::*;

use crate::common::Sandbox;
use crate::fixtures::{nft_json, objects, skeleton, T};

fn hostport(pod: Ipv4Addr, host_port: u16, pod_port: u16) -> Element {
    let host: Ipv4Addr = "198.18.0.2".parse().unwrap();
    Element::new(&[Value::Ipv4(host), Value::Proto(17), Value::Port(host_port)])
        .to_values(&[Value::Ipv4(pod), Value::Port(pod_port)])
}

#[test]
fn elements_add_delete_and_read_back() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    nft.apply(&skeleton(Family::Inet).install_batch()).unwrap();
    let map = SetRef::new(Family::Inet, T, "hostports");
    let nets = SetRef::new(Family::Inet, T, "pod_nets");
    let pod: Ipv4Addr = "10.88.0.5".parse().unwrap();
    let mut batch = Batch::new();
    batch
        .add_elements(&map, &[hostport(pod, 8080, 80), hostport(pod, 8443, 443)])
        .add_elements(&nets, &Element::prefix(&"10.88.0.0/16".parse().unwrap()));
    nft.apply(&batch).unwrap();
    // The same adds again change nothing: element adds are idempotent.
    nft.apply(&batch).unwrap();

    let listing = nft_json(&ns);
    let maps = objects(&listing, "map");
    let elem = &maps.iter().find(|m| m["name"] == "hostports").unwrap()["elem"];
    assert_eq!(elem.as_array().unwrap().len(), 2);
    assert!(elem.as_array().unwrap().contains(&json!([
        {"concat": ["198.18.0.2", "udp", 8080]},
        {"concat": ["10.88.0.5", 80]}
    ])));
    let sets = objects(&listing, "set");
    let nets_json = &sets.iter().find(|s| s["name"] == "pod_nets").unwrap()["elem"];
    assert_eq!(
        nets_json,
        &json!([{"prefix": {"addr": "10.88.0.0", "len": 16}}])
    );

    let listed = nft.list_elements(&map).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&hostport(pod, 8080, 80)));
    assert_eq!(
        nft.get_element(&map, &hostport(pod, 8443, 0)).unwrap(),
        Some(hostport(pod, 8443, 443))
    );
    assert_eq!(
        nft.get_element(&map, &hostport(pod, 9999, 0)).unwrap(),
        None
    );

    // Exclusive create of a held host port fails, names the set, and takes the whole
    // batch with it.
    let other: Ipv4Addr = "10.88.0.6".parse().unwrap();
    let mut batch = Batch::new();
    batch
        .create_elements(&map, &[hostport(other, 9090, 90)])
        .create_elements(&map, &[hostport(other, 8080, 80)]);
    let e = nft.apply(&batch).unwrap_err();
    assert_eq!(
        e.to_string(),
        "create element in set \"inet twill_t hostports\": File exists"
    );
    assert!(e.is_exists());
    assert_eq!(nft.list_elements(&map).unwrap().len(), 2);

    nft.apply(Batch::new().delete_elements(&map, &[hostport(pod, 8080, 0)]))
        .unwrap();
    assert_eq!(nft.list_elements(&map).unwrap(), [hostport(pod, 8443, 443)]);
    let e = nft
        .apply(Batch::new().delete_elements(&map, &[hostport(pod, 8080, 0)]))
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    nft.apply(Batch::new().flush_set(&map)).unwrap();
    assert_eq!(nft.list_elements(&map).unwrap(), []);
}

#[test]
fn element_timeouts_and_verdict_maps() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    let recent = Set::new(Family::Ip, "t", "recent", &[DataType::Ipv4Addr]).flags(SET_TIMEOUT);
    let vmap = Set::new(Family::Ip, "t", "ports", &[DataType::InetService]).map(SetData::Verdict);
    let mut batch = Batch::new();
    batch
        .add_table(&Table::new(Family::Ip, "t"))
        .add_chain(&Chain::regular(Family::Ip, "t", "c"))
        .add_set(&recent)
        .add_set(&vmap)
        .add_elements(
            &(&recent).into(),
            &[Element::new(&[Value::Ipv4("10.0.0.1".parse().unwrap())])
                .timeout(Duration::from_secs(60))
                .comment("pod a")],
        )
        .add_elements(
            &(&vmap).into(),
            &[
                Element::new(&[Value::Port(53)]).to_verdict(expr::Verdict::Accept),
                Element::new(&[Value::Port(54)]).to_verdict(expr::Verdict::Jump("c".into())),
            ],
        );
    nft.apply(&batch).unwrap();
    let els = nft.list_elements(&(&recent).into()).unwrap();
    assert_eq!(els[0].timeout, Some(Duration::from_secs(60)));
    let left = els[0].expires.unwrap();
    assert!(
        left <= Duration::from_secs(60) && left > Duration::from_secs(50),
        "{left:?}"
    );
    assert_eq!(els[0].comment.as_deref(), Some("pod a"));
    let verdicts: Vec<Option<Data>> = nft
        .list_elements(&(&vmap).into())
        .unwrap()
        .into_iter()
        .map(|e| e.data)
        .collect();
    assert!(verdicts.contains(&Some(Data::Verdict(expr::Verdict::Jump("c".into())))));
}

#[test]
fn ten_thousand_elements_in_one_batch() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    nft.apply(&skeleton(Family::Inet).install_batch()).unwrap();
    let map = SetRef::new(Family::Inet, T, "hostports");
    let elements: Vec<Element> = (0..10_000u32)
        .map(|i| hostport(Ipv4Addr::from(0x0a58_0000 + i), (i % 60_000) as u16 + 1, 80))
        .collect();
    let mut batch = Batch::new();
    batch.add_elements(&map, &elements);
    assert!(batch.len() > 1);
    nft.apply(&batch).unwrap();
    assert_eq!(nft.list_elements(&map).unwrap().len(), 10_000);
    nft.apply(Batch::new().delete_elements(&map, &elements))
        .unwrap();
    assert_eq!(nft.list_elements(&map).unwrap(), []);
}
