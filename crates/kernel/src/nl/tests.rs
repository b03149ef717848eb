//! Netlink core: builder bytes, attribute walking, reply assembly, hostile input.
//! Byte layouts are host order; the expected bytes below are for little-endian hosts.

use super::consts::*;
use super::message::{align, HEADER_LEN};
use super::reply::{parse_error, Progress, ReplyError, ReplyReader};
use super::*;

/// A message as the kernel would send it: header then payload.
fn msg(msg_type: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = MessageBuilder::new(msg_type, flags);
    b.push_bytes(payload);
    let mut out = b.finish(seq, 4242).unwrap();
    // The builder pads; a kernel message's length field excludes trailing padding.
    let len = (HEADER_LEN + payload.len()) as u32;
    out[0..4].copy_from_slice(&len.to_ne_bytes());
    out
}

#[cfg(target_endian = "little")]
#[test]
fn builder_writes_header_padding_and_nests() {
    let mut b = MessageBuilder::new(RTM_NEWLINK, NLM_F_CREATE);
    b.push_bytes(&[1, 2, 3]);
    b.attr_str(IFLA_IFNAME, "ab");
    let nest = b.nest_start(IFLA_LINKINFO);
    b.attr_u32(7, 0x0102_0304);
    b.nest_end(nest);
    let bytes = b.with_flags(NLM_F_REQUEST).finish(9, 0).unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        40, 0, 0, 0,  16, 0,  0x01, 0x04,  9, 0, 0, 0,  0, 0, 0, 0,
        1, 2, 3, 0,                          // fixed header, padded
        7, 0, 3, 0,  b'a', b'b', 0, 0,       // "ab\0" + 1 byte padding
        12, 0, 18, 0,                        // nest covering the u32 attribute
        8, 0, 7, 0,  4, 3, 2, 1,
    ];
    assert_eq!(bytes, want);
}

#[test]
fn builder_reports_oversized_attribute() {
    let mut b = MessageBuilder::new(RTM_NEWLINK, 0);
    b.attr(1, &vec![0; 70_000]);
    assert_eq!(b.finish(1, 0), Err(WireError::TooLong));
    let mut b = MessageBuilder::new(RTM_NEWLINK, 0);
    let nest = b.nest_start_flagged(1);
    for _ in 0..20 {
        b.attr(2, &[0; 4000]);
    }
    b.nest_end(nest);
    assert_eq!(b.finish(1, 0), Err(WireError::TooLong));
}

#[test]
fn attributes_strip_flags_and_decode() {
    let mut b = MessageBuilder::new(0, 0);
    let nest = b.nest_start_flagged(3);
    b.attr_u8(1, 0xab).attr_u16(2, 0x1234).attr_i32(3, -5);
    b.nest_end(nest);
    b.attr_ip(4, &"198.18.0.1".parse().unwrap());
    b.attr_ip(5, &"2001:db8::1".parse().unwrap());
    let bytes = b.finish(0, 0).unwrap();
    let attrs: Vec<Attr<'_>> = Attrs::new(&bytes[HEADER_LEN..])
        .map(Result::unwrap)
        .collect();
    assert_eq!(attrs.len(), 3);
    assert_eq!(attrs[0].kind(), 3);
    assert!(attrs[0].is_flagged_nested());
    let inner: Vec<Attr<'_>> = attrs[0].nested().map(Result::unwrap).collect();
    assert_eq!(inner[0].as_u8(), Ok(0xab));
    assert_eq!(inner[1].as_u16(), Ok(0x1234));
    assert_eq!(inner[2].as_i32(), Ok(-5));
    assert_eq!(
        inner[2].as_u16(),
        Err(WireError::BadLength("u16 attribute"))
    );
    assert_eq!(attrs[1].as_ip().unwrap().to_string(), "198.18.0.1");
    assert_eq!(attrs[2].as_ip().unwrap().to_string(), "2001:db8::1");
}

#[test]
fn messages_walks_a_datagram_and_stops_at_garbage() {
    let mut datagram = msg(RTM_NEWLINK, NLM_F_MULTI, 1, &[1, 2, 3, 4, 5]);
    datagram.resize(align(datagram.len()), 0);
    datagram.extend(msg(NLMSG_DONE, NLM_F_MULTI, 1, &[0; 4]));
    datagram.extend([200, 0, 0, 0, 1, 1]); // a header claiming 200 bytes, truncated
    let all: Vec<_> = Messages::new(&datagram).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].as_ref().unwrap().payload(), &[1, 2, 3, 4, 5]);
    assert_eq!(all[1].as_ref().unwrap().msg_type(), NLMSG_DONE);
    assert!(all[2].is_err());
}

fn error_payload(code: i32, echoed: &[u8], tlvs: &[u8]) -> Vec<u8> {
    let mut p = code.to_ne_bytes().to_vec();
    p.extend_from_slice(echoed);
    p.extend_from_slice(tlvs);
    p
}

#[test]
fn ack_and_error_with_extended_message() {
    let ack = msg(NLMSG_ERROR, 0, 5, &error_payload(0, &[0; 16], &[]));
    assert_eq!(
        parse_error(&Message::new_checked(&ack).unwrap()),
        Ok(Ok(()))
    );

    // EEXIST, the whole 24-byte request echoed, then an NLMSGERR_ATTR_MSG.
    let mut echoed = (24u32).to_ne_bytes().to_vec();
    echoed.resize(24, 7);
    let mut tlv = MessageBuilder::new(0, 0);
    tlv.attr_str(NLMSGERR_ATTR_MSG, "ipv4: Address already assigned");
    let tlv = tlv.finish(0, 0).unwrap();
    let err = msg(
        NLMSG_ERROR,
        NLM_F_ACK_TLVS,
        5,
        &error_payload(-libc::EEXIST, &echoed, &tlv[HEADER_LEN..]),
    );
    let parsed = parse_error(&Message::new_checked(&err).unwrap()).unwrap();
    let k = parsed.unwrap_err();
    assert_eq!(k.errno.raw(), libc::EEXIST);
    assert_eq!(k.message.as_deref(), Some("ipv4: Address already assigned"));

    // Capped: only the echoed header precedes the TLVs.
    let capped = msg(
        NLMSG_ERROR,
        NLM_F_ACK_TLVS | NLM_F_CAPPED,
        5,
        &error_payload(-libc::EINVAL, &[0; 16], &tlv[HEADER_LEN..]),
    );
    let k = parse_error(&Message::new_checked(&capped).unwrap())
        .unwrap()
        .unwrap_err();
    assert_eq!(k.message.as_deref(), Some("ipv4: Address already assigned"));
}

#[test]
fn dump_skips_stale_sequences_and_reports_interruption() {
    let mut reader = ReplyReader::new(7, true);
    let mut seen = Vec::new();
    let mut first = msg(RTM_NEWLINK, NLM_F_MULTI, 6, &[0xee; 4]); // stale reply
    first.extend(msg(RTM_NEWLINK, NLM_F_MULTI, 7, &[1; 4]));
    let p = reader.feed(&first, |m| {
        seen.push(m.payload()[0]);
        Ok(())
    });
    assert_eq!(p.unwrap(), Progress::More);
    let mut second = msg(RTM_NEWLINK, NLM_F_MULTI | NLM_F_DUMP_INTR, 7, &[2; 4]);
    second.extend(msg(NLMSG_DONE, NLM_F_MULTI, 7, &0i32.to_ne_bytes()));
    let p = reader.feed(&second, |m| {
        seen.push(m.payload()[0]);
        Ok(())
    });
    assert_eq!(p.unwrap(), Progress::Done { interrupted: true });
    assert_eq!(seen, [1, 2]);

    let mut clean = ReplyReader::new(8, true);
    let done = msg(NLMSG_DONE, NLM_F_MULTI, 8, &0i32.to_ne_bytes());
    let p = clean.feed(&done, |_| Ok(()));
    assert_eq!(p.unwrap(), Progress::Done { interrupted: false });
}

#[test]
fn done_with_error_and_overrun_fail() {
    let mut reader = ReplyReader::new(3, true);
    let done = msg(
        NLMSG_DONE,
        NLM_F_MULTI,
        3,
        &(-libc::EOPNOTSUPP).to_ne_bytes(),
    );
    match reader.feed(&done, |_| Ok(())) {
        Err(ReplyError::Kernel(k)) => assert_eq!(k.errno.raw(), libc::EOPNOTSUPP),
        other => panic!("unexpected {other:?}"),
    }
    let mut reader = ReplyReader::new(3, true);
    let overrun = msg(NLMSG_OVERRUN, 0, 3, &[]);
    assert!(matches!(
        reader.feed(&overrun, |_| Ok(())),
        Err(ReplyError::Overrun)
    ));
}

#[test]
fn single_reply_ends_after_first_data_message() {
    let mut reader = ReplyReader::new(2, false);
    let reply = msg(RTM_NEWLINK, 0, 2, &[9; 16]);
    let mut count = 0;
    let p = reader.feed(&reply, |_| {
        count += 1;
        Ok(())
    });
    assert_eq!(p.unwrap(), Progress::Done { interrupted: false });
    assert_eq!(count, 1);
}

/// A small deterministic generator, so the garbage tests need no dependency and reproduce.
pub(crate) fn noise(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*seed >> 33) as u8
        })
        .collect()
}

#[test]
fn garbage_and_truncation_never_panic() {
    let mut seed = 1;
    let mut valid = msg(RTM_NEWLINK, NLM_F_MULTI, 1, &[0; 20]);
    valid.extend(msg(
        NLMSG_ERROR,
        0,
        1,
        &error_payload(-1, &[0; 16], &[5, 0]),
    ));
    let mut inputs: Vec<Vec<u8>> = (0..valid.len()).map(|n| valid[..n].to_vec()).collect();
    inputs.extend((0..2000).map(|i| noise(&mut seed, i % 97)));
    for input in &inputs {
        for m in Messages::new(input).flatten() {
            let _ = parse_error(&m);
            for a in Attrs::new(m.payload()).flatten() {
                let _ = (a.as_str(), a.as_ip(), a.as_u32());
                let _ = a.nested().count();
            }
        }
        let _ = ReplyReader::new(1, true).feed(input, |_| Ok(()));
        let _ = ReplyReader::new(1, false).feed(input, |_| Ok(()));
    }
}

#[test]
fn zero_length_attribute_is_an_error_not_a_loop() {
    let bytes = [0u8, 0, 1, 0, 8, 0, 2, 0];
    let all: Vec<_> = Attrs::new(&bytes).collect();
    assert_eq!(all, vec![Err(WireError::BadLength("attribute"))]);
}

#[test]
fn interrupted_dumps_are_repeated_a_bounded_number_of_times() {
    use super::socket::{retry_interrupted, Retry};
    // Interrupted twice, then clean: the clean result is returned.
    let mut calls = 0;
    let got = retry_interrupted(8, || -> Result<(u32, bool), ()> {
        calls += 1;
        Ok((calls, calls < 3))
    });
    assert_eq!(got.unwrap(), 3);
    // Always interrupted: gives up after exactly the bound.
    let mut calls = 0;
    let got = retry_interrupted(4, || -> Result<((), bool), ()> {
        calls += 1;
        Ok(((), true))
    });
    assert!(matches!(got, Err(Retry::Exhausted)));
    assert_eq!(calls, 4);
    // A failure stops at once.
    let got = retry_interrupted(4, || -> Result<((), bool), &str> { Err("boom") });
    assert!(matches!(got, Err(Retry::Failed("boom"))));
}
