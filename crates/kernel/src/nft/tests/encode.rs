//! Our messages against `nft`'s, byte for byte.

use super::nft_batch;
use crate::net::IpPrefix;
use crate::nft::expr::*;
use crate::nft::*;
use crate::nl::consts::{NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST};
use crate::nl::MessageBuilder;

const T: &str = "t";

/// Finishes `ours` with the sequence number of `theirs` and compares everything but the
/// flags field, which is returned for a separate check (`nft` sends no ACK requests).
fn same_but_flags(ours: MessageBuilder, theirs: &[u8]) -> u16 {
    let seq = u32::from_ne_bytes(theirs[8..12].try_into().unwrap());
    let ours = ours.finish(seq, 0).unwrap();
    let flags = u16::from_ne_bytes(ours[6..8].try_into().unwrap());
    let mut masked = ours.clone();
    masked[6..8].copy_from_slice(&theirs[6..8]);
    assert_eq!(hex(&masked), hex(theirs), "message bytes differ");
    flags
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Removes top-level attribute `ty` from a captured message and fixes its length: `nft`
/// adds its own display hints (set userdata, set ids) that carry no meaning for the kernel.
fn strip_attr(msg: &[u8], ty: u16) -> Vec<u8> {
    let mut out = msg[..20].to_vec();
    let mut at = 20;
    while at + 4 <= msg.len() {
        let len = u16::from_ne_bytes(msg[at..at + 2].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(msg[at + 2..at + 4].try_into().unwrap()) & 0x3fff;
        let end = (at + len + 3) & !3;
        if kind != ty {
            out.extend_from_slice(&msg[at..end.min(msg.len())]);
        }
        at = end;
    }
    let len = out.len() as u32;
    out[0..4].copy_from_slice(&len.to_ne_bytes());
    out
}

/// The entries of a one-object batch, without markers.
fn only(batch: &Batch) -> MessageBuilder {
    assert_eq!(batch.len(), 1);
    batch.entries[0].msg.clone()
}

#[test]
fn batch_markers_match_nft() {
    let nft = nft_batch();
    let ours = Batch::new().add_table(&Table::new(Family::Inet, T)).clone();
    let bytes = ours.encode(0, 0).unwrap();
    assert_eq!(hex(&bytes[..20]), hex(&nft[0]), "begin marker");
    let end = &bytes[bytes.len() - 20..];
    let mut want = nft[nft.len() - 1].clone();
    want[8..12].copy_from_slice(&2u32.to_ne_bytes()); // our end follows one change
    assert_eq!(hex(end), hex(&want), "end marker");
    // Every change asks for an acknowledgement, so errors map to it.
    let flags = u16::from_ne_bytes(bytes[26..28].try_into().unwrap());
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
}

#[test]
fn table_and_chains_match_nft() {
    let nft = nft_batch();
    let flags = same_but_flags(
        only(Batch::new().add_table(&Table::new(Family::Inet, T))),
        &nft[1],
    );
    assert_eq!(flags, NLM_F_CREATE);
    let nat = Chain::base(Family::Inet, T, "c", ChainType::Nat, Hook::Prerouting, -100);
    let filter =
        Chain::base(Family::Inet, T, "f", ChainType::Filter, Hook::Forward, 0).policy(Policy::Drop);
    let regular = Chain::regular(Family::Inet, T, "c2");
    for (chain, want) in [(nat, &nft[2]), (filter, &nft[3]), (regular, &nft[4])] {
        let flags = same_but_flags(only(Batch::new().add_chain(&chain)), want);
        assert_eq!(flags, NLM_F_CREATE, "{}", chain.name);
    }
}

/// `msg` with the userdata of a NEWSET (attribute 13) reduced to the TLVs of types
/// `keep`, lengths fixed: `nft` also writes `typeof` descriptions (empty for sets declared
/// with `type`) and a data-interval flag, which only `nft` reads and ours need not carry.
fn keep_set_udata(msg: &[u8], keep: &[u8]) -> Vec<u8> {
    let mut out = msg[..20].to_vec();
    let mut at = 20;
    while at + 4 <= msg.len() {
        let len = u16::from_ne_bytes(msg[at..at + 2].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(msg[at + 2..at + 4].try_into().unwrap()) & 0x3fff;
        let end = (at + len + 3) & !3;
        if kind == 13 {
            let mut udata = Vec::new();
            let mut tlvs = &msg[at + 4..at + len];
            while let [ty, l, rest @ ..] = tlvs {
                let l = usize::from(*l);
                if keep.contains(ty) {
                    udata.extend_from_slice(&[*ty, l as u8]);
                    udata.extend_from_slice(&rest[..l]);
                }
                tlvs = &rest[l..];
            }
            out.extend_from_slice(&((udata.len() + 4) as u16).to_ne_bytes());
            out.extend_from_slice(&13u16.to_ne_bytes());
            out.extend_from_slice(&udata);
            out.resize(out.len().div_ceil(4) * 4, 0);
        } else {
            out.extend_from_slice(&msg[at..end.min(msg.len())]);
        }
        at = end;
    }
    let len = out.len() as u32;
    out[0..4].copy_from_slice(&len.to_ne_bytes());
    out
}

#[test]
fn sets_and_maps_match_nft_with_its_byte_order_hints() {
    let nft = nft_batch();
    let key = [
        DataType::Ipv4Addr,
        DataType::InetProto,
        DataType::InetService,
    ];
    let s = Set::new(Family::Inet, T, "s", &key);
    let m = Set::new(Family::Inet, T, "m", &key).map(SetData::Values(vec![
        DataType::Ipv4Addr,
        DataType::InetService,
    ]));
    let p = Set::new(Family::Inet, T, "p", &[DataType::Ipv4Addr]).flags(SET_INTERVAL);
    let mut batch = Batch::new();
    batch.add_set(&s).add_set(&m).add_set(&p);
    for (i, want) in nft[5..8].iter().enumerate() {
        // Key and data byte order (0, 1) and the comment (7) are what ours carry.
        let want = keep_set_udata(want, &[0, 1, 7]);
        same_but_flags(batch.entries[i].msg.clone(), &want);
    }
    // The interval set's userdata is nft's exactly: nothing was left out.
    same_but_flags(batch.entries[2].msg.clone(), &nft[7]);
}

/// Set userdata `nft --debug=mnl` (v1.0.6, x86_64) sent for sets declared with `type`,
/// minus its `typeof` and data-interval TLVs: the byte order of the key (TLV 0) and of a
/// map's data (TLV 1), little-endian `u32`s, then the comment (TLV 7).
#[test]
fn set_userdata_carries_nfts_byte_order_hints() {
    let one = |key: DataType| Set::new(Family::Inet, T, "x", &[key]);
    let cases = [
        (one(DataType::IfName), "000401000000"),
        (one(DataType::Mark), "000401000000"),
        (one(DataType::IfIndex), "000401000000"),
        (one(DataType::NfProto), "000400000000"),
        (one(DataType::InetProto), "000400000000"),
        (one(DataType::InetService), "000402000000"),
        (one(DataType::Ipv6Addr), "000402000000"),
        (one(DataType::EtherAddr), "000402000000"),
        (
            Set::new(
                Family::Bridge,
                T,
                "allowed",
                &[DataType::IfName, DataType::EtherAddr],
            ),
            "000400000000",
        ),
        (
            one(DataType::Ipv4Addr).map(SetData::Verdict),
            "000402000000010400000000",
        ),
        (
            one(DataType::IfName).map(SetData::Values(vec![DataType::Mark])),
            "000401000000010401000000",
        ),
        (
            one(DataType::Ipv4Addr).map(SetData::Values(vec![
                DataType::Ipv4Addr,
                DataType::InetService,
            ])),
            "000402000000010400000000",
        ),
        (
            one(DataType::IfName).comment("checked bridge ports"),
            "0004010000000715636865636b65642062726964676520706f72747300",
        ),
    ];
    for (set, want) in cases {
        assert_eq!(hex(&set.userdata()), want, "{:?}", set.key);
    }
}

#[test]
fn set_userdata_stays_within_the_kernels_limit() {
    let long = "é".repeat(300);
    let set = Set::new(Family::Inet, T, "x", &[DataType::Ipv4Addr])
        .map(SetData::Verdict)
        .comment(&long);
    let udata = set.userdata();
    assert!(udata.len() <= 256, "{}", udata.len());
    assert!(udata.len() >= 250, "the comment is cut, not dropped");
    // The cut comment still ends on a character boundary and reads back.
    let text = crate::nft::wire::parse_comment(7, &udata).unwrap();
    assert!(long.starts_with(&text) && !text.is_empty());
}

/// `ip daddr . meta l4proto . th dport @s counter dnat ip to ip daddr . meta l4proto .
/// th dport map @m comment "hi"`, built from fields.
pub(super) fn hostport_rule() -> Rule {
    let fields = [Field::IpDaddr, Field::L4Proto, Field::ThDport];
    let mut rule = Rule::new(Family::Inet, T, "c")
        .match_set(&fields, "s", false)
        .counter()
        .dnat_map(Family::Ip, &fields, "m")
        .comment("hi");
    set_ids(&mut rule, &[("s", 1), ("m", 2)]);
    rule
}

/// `nft` names the sets of a batch by id as well; ours go by name alone.
fn set_ids(rule: &mut Rule, ids: &[(&str, u32)]) {
    for e in &mut rule.exprs {
        if let Expr::Lookup(l) = e {
            l.set_id = ids.iter().find(|(n, _)| *n == l.set).map(|(_, id)| *id);
        }
    }
}

#[test]
fn rules_match_nft() {
    let nft = nft_batch();
    let flags = same_but_flags(only(Batch::new().add_rule(&hostport_rule())), &nft[9]);
    assert_eq!(flags, NLM_F_CREATE | NLM_F_APPEND);

    // `iifname "veth0" ip saddr 10.0.0.0/8 ct state established,related accept`; `nft`
    // turns the byte-aligned prefix into a one-byte comparison, written out here.
    let rule = Rule::new(Family::Inet, T, "f")
        .match_value(Field::IifName, &Value::IfName("veth0".into()), false)
        .match_value(Field::NfProto, &Value::Proto(2), false)
        .push(Expr::Payload(Payload {
            dreg: Reg::R1,
            base: PayloadBase::Network,
            offset: 12,
            len: 1,
        }))
        .push(Expr::Cmp(Cmp {
            sreg: Reg::R1,
            op: CmpOp::Eq,
            data: vec![10],
        }))
        .match_ct_state(CT_STATE_ESTABLISHED | CT_STATE_RELATED)
        .verdict(Verdict::Accept);
    same_but_flags(only(Batch::new().add_rule(&rule)), &nft[10]);

    // `ip daddr != @p fib daddr type local jump c2`
    let mut rule = Rule::new(Family::Inet, T, "f")
        .match_set(&[Field::IpDaddr], "p", true)
        .match_local_daddr()
        .verdict(Verdict::Jump("c2".into()));
    set_ids(&mut rule, &[("p", 3)]);
    same_but_flags(only(Batch::new().add_rule(&rule)), &nft[11]);
}

#[test]
fn interval_elements_match_nft() {
    let nft = nft_batch();
    // `nft` opens the interval set with an end at 0 and names the set by id too.
    let mut zero = Element::new(&[Value::Ipv4(0.into())]);
    zero.interval_end = true;
    let mut elements = vec![zero];
    for p in ["10.0.0.0/8", "192.168.1.0/24"] {
        elements.extend(Element::prefix(&p.parse::<IpPrefix>().unwrap()));
    }
    let set = SetRef::new(Family::Inet, T, "p");
    let msg = only(Batch::new().add_elements(&set, &elements));
    let flags = same_but_flags(msg, &strip_attr(&nft[8], 4)); // NFTA_SET_ELEM_LIST_SET_ID
    assert_eq!(flags, NLM_F_CREATE);
}

#[test]
fn prefixes_expand_to_start_and_end() {
    let keys = |p: &str| -> Vec<(String, bool)> {
        Element::prefix(&p.parse().unwrap())
            .into_iter()
            .map(|e| (hex(&e.key), e.interval_end))
            .collect()
    };
    assert_eq!(
        keys("10.1.2.3/16"),
        [("0a010000".into(), false), ("0a020000".into(), true)]
    );
    assert_eq!(keys("255.255.255.0/24"), [("ffffff00".into(), false)]);
    assert_eq!(keys("0.0.0.0/0"), [("00000000".into(), false)]);
    let v6 = keys("2001:db8::/32");
    assert_eq!(v6[1], ("20010db9000000000000000000000000".into(), true));
    assert_eq!(keys("::/0").len(), 1);
}

#[test]
fn concatenations_pad_each_field_to_a_word() {
    let key = concat(&[
        Value::Ipv4("198.18.0.2".parse().unwrap()),
        Value::Proto(17),
        Value::Port(8080),
    ]);
    assert_eq!(hex(&key), "c612000211000000".to_owned() + "1f900000");
    assert_eq!(concat(&[Value::Port(80)]), vec![0, 80]);
    assert_eq!(Value::IfName("eth0".into()).bytes().len(), 16);
}
