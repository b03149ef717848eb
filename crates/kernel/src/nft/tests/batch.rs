//! Batch encoding (sequence numbers, chunked elements) and the matching of answers.

use crate::nft::reply::{BatchReplies, Culprit};
use crate::nft::*;
use crate::nl::consts::NLMSG_ERROR;
use crate::nl::{MessageBuilder, Messages};

/// An `NLMSG_ERROR` for `seq` with `errno` (0: an acknowledgement), capped.
fn answer(seq: u32, errno: i32) -> Vec<u8> {
    let mut b = MessageBuilder::new(NLMSG_ERROR, 0x100);
    b.push_bytes(&(-errno).to_ne_bytes());
    b.push_bytes(&[0; 16]);
    b.finish(seq, 0).unwrap()
}

#[test]
fn each_change_gets_the_next_sequence_number() {
    let set = SetRef::new(Family::Ip, "cni_hostport", "hostports");
    let mut batch = Batch::new();
    batch
        .add_table(&Table::new(Family::Ip, "cni_hostport"))
        .add_elements(&set, &[Element::new(&[Value::Port(80)])])
        .delete_elements(&set, &[Element::new(&[Value::Port(81)])]);
    let bytes = batch.encode(100, 7).unwrap();
    let seqs: Vec<(u16, u32, u32)> = Messages::new(&bytes)
        .map(|m| m.unwrap())
        .map(|m| (m.msg_type(), m.seq(), m.port()))
        .collect();
    assert_eq!(
        seqs,
        [
            (0x10, 100, 7),
            (0x0a00, 101, 7),
            (0x0a0c, 102, 7),
            (0x0a0e, 103, 7),
            (0x11, 104, 7)
        ]
    );
}

#[test]
fn ten_thousand_elements_are_split_under_the_attribute_limit() {
    let set = SetRef::new(Family::Inet, "twill", "hostport_dnat");
    let elements: Vec<Element> = (0..10_000u32)
        .map(|i| {
            let pod = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            Element::new(&[Value::Ipv4(pod), Value::Proto(6), Value::Port(8080)])
                .to_values(&[Value::Ipv4(pod), Value::Port(80)])
        })
        .collect();
    let mut batch = Batch::new();
    batch.add_elements(&set, &elements);
    assert_eq!(batch.len(), 7, "about 1,500 host-port elements per message");
    let bytes = batch.encode(1, 0).unwrap(); // would fail on an overlong attribute
    let mut total = 0;
    for msg in Messages::new(&bytes).map(|m| m.unwrap()) {
        if msg.msg_type() == 0x0a0c {
            let (set, els) = parse_elements(&msg).unwrap();
            assert_eq!(set, "hostport_dnat");
            total += els.len();
        }
    }
    assert_eq!(total, 10_000);
}

#[test]
fn answers_map_to_the_message_that_failed() {
    let mut replies = BatchReplies::new(10, 3);
    let mut datagram = answer(11, 0);
    datagram.extend(answer(12, libc::EEXIST));
    datagram.extend(answer(5, libc::ENOENT)); // a left-over of an earlier request
    replies.feed(&datagram).unwrap();
    assert!(!replies.complete());
    replies.feed(&answer(13, libc::ENOENT)).unwrap();
    assert!(replies.complete());
    let (culprit, e) = replies.first_error().unwrap();
    assert_eq!(*culprit, Culprit::Entry(1));
    assert_eq!(e.errno.raw(), libc::EEXIST);
}

#[test]
fn a_batch_level_error_is_reported_when_no_change_failed() {
    let mut replies = BatchReplies::new(10, 2);
    let mut datagram = answer(10, libc::ENOMEM);
    datagram.extend(answer(11, 0));
    datagram.extend(answer(12, 0));
    replies.feed(&datagram).unwrap();
    assert!(replies.complete());
    let (culprit, e) = replies.first_error().unwrap();
    assert_eq!((*culprit, e.errno.raw()), (Culprit::Batch, libc::ENOMEM));
}

#[test]
fn error_names_operation_and_object() {
    let set = SetRef::new(Family::Ip, "cni_hostport", "hostports");
    let mut batch = Batch::new();
    batch.create_elements(&set, &[Element::new(&[Value::Port(80)])]);
    let entry = &batch.entries[0];
    let kernel = crate::nl::reply::KernelError {
        errno: crate::Errno::new(libc::EEXIST),
        message: None,
    };
    let e = crate::Error::new(
        entry.op,
        entry.object.clone(),
        crate::ErrorKind::Kernel(kernel),
    );
    assert_eq!(
        e.to_string(),
        "create element in set \"ip cni_hostport hostports\": File exists"
    );
    let mut batch = Batch::new();
    batch.add_elements(&set, &[Element::new(&[Value::Port(80)])]);
    assert_eq!(batch.entries[0].op, "add element to set");
}

#[test]
fn empty_element_lists_send_nothing_and_flush_sends_one() {
    let set = SetRef::new(Family::Inet, "t", "s");
    let mut batch = Batch::new();
    batch.add_elements(&set, &[]).delete_elements(&set, &[]);
    assert!(batch.is_empty(), "an empty delete would flush the set");
    batch.flush_set(&set);
    assert_eq!(batch.len(), 1);
}
