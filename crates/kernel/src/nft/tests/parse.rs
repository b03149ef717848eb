//! Kernel replies captured from `nft list ruleset`, decoded.

use std::time::Duration;

use super::encode::hostport_rule;
use super::replies_of;
use crate::nft::consts::*;
use crate::nft::expr::*;
use crate::nft::*;
use crate::nl::Message;

fn parse_all<T>(msg: u8, parse: impl Fn(&Message<'_>) -> T) -> Vec<T> {
    replies_of(msg)
        .iter()
        .map(|m| parse(&Message::new_checked(m).unwrap()))
        .collect()
}

#[test]
fn tables_and_chains() {
    let tables = parse_all(NFT_MSG_NEWTABLE, |m| Table::parse(m).unwrap());
    assert_eq!(tables.len(), 1);
    assert_eq!(
        (tables[0].family, tables[0].name.as_str()),
        (Family::Inet, "t")
    );
    assert!(tables[0].handle.is_some());

    let chains = parse_all(NFT_MSG_NEWCHAIN, |m| Chain::parse(m).unwrap());
    let names: Vec<&str> = chains.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["c", "f", "c2"]);
    let nat = chains[0].base.as_ref().unwrap();
    assert_eq!(
        (nat.hook, nat.priority, nat.kind),
        (Hook::Prerouting, -100, ChainType::Nat)
    );
    assert_eq!(nat.policy, Policy::Accept);
    assert_eq!(chains[1].base.as_ref().unwrap().policy, Policy::Drop);
    assert_eq!(chains[2].base, None);
    assert!(chains.iter().all(|c| c.handle.is_some() && c.table == "t"));
}

#[test]
fn sets_maps_and_their_types() {
    let sets = parse_all(NFT_MSG_NEWSET, |m| Set::parse(m).unwrap());
    let key = vec![
        DataType::Ipv4Addr,
        DataType::InetProto,
        DataType::InetService,
    ];
    assert_eq!(sets[0].name, "s");
    assert_eq!(
        (sets[0].key.clone(), sets[0].data.clone()),
        (key.clone(), None)
    );
    assert_eq!(sets[1].key, key);
    let data = SetData::Values(vec![DataType::Ipv4Addr, DataType::InetService]);
    assert_eq!(sets[1].data, Some(data));
    assert_eq!(sets[2].key, [DataType::Ipv4Addr]);
    assert!(sets[2].is_interval());
    assert_eq!(sets[2].timeout, None::<Duration>);
}

#[test]
fn interval_elements() {
    let parts = parse_all(NFT_MSG_NEWSETELEM, |m| parse_elements(m).unwrap());
    let (set, elements) = parts.iter().find(|(_, e)| !e.is_empty()).unwrap();
    assert_eq!(set, "p");
    let got: Vec<(Vec<u8>, bool)> = elements
        .iter()
        .map(|e| (e.key.clone(), e.interval_end))
        .collect();
    // The kernel lists intervals from the top down, including `nft`'s leading end at 0.
    assert!(got.contains(&(vec![10, 0, 0, 0], false)));
    assert!(got.contains(&(vec![11, 0, 0, 0], true)));
    assert!(got.contains(&(vec![192, 168, 1, 0], false)));
    assert!(got.contains(&(vec![192, 168, 2, 0], true)));
}

#[test]
fn rules_read_back_as_built() {
    let rules = parse_all(NFT_MSG_NEWRULE, |m| Rule::parse(m).unwrap());
    assert_eq!(rules.len(), 3);
    assert!(rules.iter().all(|r| r.handle.is_some()));
    // The rule as the kernel lists it does what the one built from fields does.
    assert!(rules[0].same_as(&hostport_rule()), "{:#?}", rules[0]);
    assert_eq!(rules[0].comment.as_deref(), Some("hi"));
    let nat = rules[0].exprs.iter().find_map(|e| match e {
        Expr::Nat(n) => Some(n.clone()),
        _ => None,
    });
    let nat = nat.unwrap();
    assert_eq!((nat.kind, nat.family), (NatKind::Dnat, Family::Ip));
    assert_eq!(
        (nat.addr, nat.proto, nat.flags),
        (Some(Reg(1)), Some(Reg(9)), 0)
    );
    assert!(matches!(rules[0].exprs[6], Expr::Counter(_)));

    let last = rules[2].exprs.last().unwrap();
    assert_eq!(last, &Expr::verdict(Verdict::Jump("c2".into())));
    let lookup = rules[2].exprs.iter().find_map(|e| match e {
        Expr::Lookup(l) => Some(l.clone()),
        _ => None,
    });
    assert_eq!(lookup.unwrap().flags, LOOKUP_F_INV);
    assert!(rules[1].exprs.iter().any(|e| matches!(e, Expr::Ct(_))));
    assert_eq!(
        rules[1].exprs.last().unwrap(),
        &Expr::verdict(Verdict::Accept)
    );
}

#[test]
fn generation_reply() {
    let gens = replies_of(NFT_MSG_NEWGEN);
    assert!(!gens.is_empty());
    let msg = Message::new_checked(&gens[0]).unwrap();
    let (_, attrs) = crate::nft::wire::split(&msg).unwrap();
    let ids: Vec<u16> = attrs.map(|a| a.unwrap().kind()).collect();
    assert!(ids.contains(&NFTA_GEN_ID));
}
