//! Record framing: the line format, damage in the middle, torn tails at the end.

use super::*;
use crate::journal::record::decode_in_parts;

/// Ways to cut a journal for decoding: in one pass, and on threads in several parts.
const PARTS: [usize; 4] = [1, 2, 3, 7];

/// 20 records, none of them `run_finished`, so a `run_paused` may follow any prefix.
pub(in crate::journal) fn twenty() -> Vec<Event> {
    let steps: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let ids: Vec<&str> = steps.iter().map(String::as_str).collect();
    let mut rest = Vec::new();
    for id in &ids[..9] {
        rest.push(start(id, 1));
        rest.push(ok(id, 1));
    }
    rest.push(start(ids[9], 1));
    let all = journal(&ids, rest);
    assert_eq!(all.len(), 20);
    all
}

/// Byte offsets where each record ends (its newline + 1).
pub(in crate::journal) fn boundaries(events: &[Event]) -> Vec<usize> {
    events
        .iter()
        .scan(0, |end, e| {
            *end += encode(e).len();
            Some(*end)
        })
        .collect()
}

#[test]
fn a_record_is_crc_space_json_newline() {
    let e = start("promote", 1);
    let line = encode(&e);
    let text = std::str::from_utf8(&line).expect("utf-8");
    let (crc, json) = text.split_at(8);
    assert!(crc.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{text}");
    assert_eq!(
        u32::from_str_radix(crc, 16).ok(),
        Some(crc32fast::hash(json[1..].trim_end().as_bytes()))
    );
    assert_eq!(json, " {\"event\":\"step_started\",\"step\":\"promote\",\"attempt\":1,\"at\":\"2026-11-23T22:15:30.000Z\"}\n");
    let d = decode_all(&line).expect("decodes");
    assert_eq!(
        d,
        Decoded { events: vec![e], good_len: line.len() as u64, torn_tail: false, chain: None }
    );
}

#[test]
fn newlines_in_values_stay_inside_one_record() {
    let e = Event::StepFailed {
        step: "a".into(),
        attempt: 1,
        at: AT.into(),
        error: "line one\nline two\r\n\u{0}".into(),
        will_retry: false,
        captures: BTreeMap::new(),
        unbegun: false,
    };
    let line = encode(&e);
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
    assert_eq!(decode_all(&line).expect("decodes").events, [e]);
}

#[test]
fn every_flipped_byte_in_a_middle_record_is_damage_naming_that_record() {
    let events = twenty();
    let bytes = bytes_of(&events);
    let ends = boundaries(&events);
    let (from, to) = (ends[3], ends[4]); // record 5
    for i in from..to {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        for n in PARTS {
            match decode_in_parts(&bad, n) {
                Err(JournalError::Damaged { record, offset, reason }) => {
                    assert_eq!((record, offset), (5, from as u64), "byte {i}, {n} parts: {reason}");
                }
                other => panic!("byte {i}, {n} parts: expected damage at record 5, got {other:?}"),
            }
        }
    }
    let mut bad = bytes.clone();
    bad[from + 20] ^= 0x01;
    let err = decode_all(&bad).expect_err("damaged");
    assert!(
        err.to_string()
            .starts_with(&format!("record 5 (byte {from}) is damaged: checksum mismatch")),
        "{err}"
    );
}

#[test]
fn other_damage_in_the_middle_is_reported() {
    let events = twenty();
    let bytes = bytes_of(&events);
    let ends = boundaries(&events);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        ([&bytes[..ends[1]], b"\n", &bytes[ends[1]..]].concat(), "not a `<crc32> <json>` record"),
        ([&bytes[..ends[1]], b"0000000G {}\n", &bytes[ends[1]..]].concat(), "not 8 lowercase hex"),
        (
            [&bytes[..ends[1]], &encode_raw(b"{\"event\":\"nope\"}"), &bytes[ends[1]..]].concat(),
            "not a journal event",
        ),
        (
            [&bytes[..ends[1]], &encode_raw(b"{\"ev"), &bytes[ends[1]..]].concat(),
            "not a journal event",
        ),
    ];
    for (bad, want) in cases {
        for n in PARTS {
            match decode_in_parts(&bad, n) {
                Err(JournalError::Damaged { record: 3, reason, .. }) => {
                    assert!(reason.contains(want), "{reason}")
                }
                other => panic!("{n} parts: expected damage at record 3 ({want}), got {other:?}"),
            }
        }
    }
}

/// A record with a correct checksum around arbitrary bytes.
fn encode_raw(json: &[u8]) -> Vec<u8> {
    [format!("{:08x} ", crc32fast::hash(json)).as_bytes(), json, b"\n"].concat()
}

#[test]
fn a_bad_last_line_is_a_torn_tail() {
    let events = twenty();
    let bytes = bytes_of(&events);
    let ends = boundaries(&events);
    let mut bad = bytes.clone();
    let last = bad.len() - 5;
    bad[last] ^= 0x01;
    for n in PARTS {
        let d = decode_in_parts(&bad, n).expect("torn tail");
        assert_eq!(
            (d.events.len(), d.good_len, d.torn_tail),
            (19, ends[18] as u64, true),
            "{n} parts"
        );
    }
    let zeroes = [&bytes[..], &[0u8; 40]].concat();
    let d = decode_all(&zeroes).expect("torn tail");
    assert_eq!((d.events.len(), d.good_len, d.torn_tail), (20, bytes.len() as u64, true));
    assert_eq!(
        decode_all(b"").expect("empty"),
        Decoded { events: vec![], good_len: 0, torn_tail: false, chain: None }
    );
}

#[test]
fn a_cut_at_every_byte_decodes_to_a_prefix() {
    let events = twenty();
    let bytes = bytes_of(&events);
    let ends = boundaries(&events);
    for cut in 0..=bytes.len() {
        let whole = ends.iter().filter(|&&end| end <= cut).count();
        let good = if whole == 0 { 0 } else { ends[whole - 1] };
        for n in PARTS {
            let d = decode_in_parts(&bytes[..cut], n)
                .unwrap_or_else(|e| panic!("cut at {cut}, {n} parts: {e}"));
            assert_eq!(d.events, events[..whole], "cut at {cut}, {n} parts");
            assert_eq!(d.good_len, good as u64, "cut at {cut}, {n} parts");
            assert_eq!(d.torn_tail, cut != good, "cut at {cut}, {n} parts");
        }
    }
}

#[test]
fn a_first_record_from_another_version_is_a_version_error() {
    let future = encode_raw(br#"{"event":"run_started","v":2,"shape":"unknown to v1"}"#);
    assert!(matches!(decode_all(&future), Err(JournalError::Version { found: 2 })));
    let more = [&future[..], &bytes_of(&twenty()[1..])].concat();
    for n in PARTS {
        assert!(
            matches!(decode_in_parts(&more, n), Err(JournalError::Version { found: 2 })),
            "{n} parts"
        );
    }
    let ours = encode_raw(br#"{"event":"run_started","v":1,"shape":"broken"}"#);
    let two = [&ours[..], &ours[..]].concat();
    assert!(matches!(decode_all(&two), Err(JournalError::Damaged { record: 1, .. })));
}

#[test]
fn a_big_journal_decodes_the_same_in_parts() {
    let ids: Vec<String> = (0..5000).map(|i| format!("s{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let events = journal(&refs, refs.iter().flat_map(|id| [start(id, 1), ok(id, 1)]).collect());
    let bytes = bytes_of(&events);
    assert!(bytes.len() > 2 * 512 * 1024, "big enough to be decoded on threads");
    let d = decode_all(&bytes).expect("decodes");
    assert_eq!(
        (d.events.len(), d.good_len, d.torn_tail),
        (events.len(), bytes.len() as u64, false)
    );
    assert_eq!(d.events, events);
    let ends = boundaries(&events);
    let mut bad = bytes.clone();
    bad[ends[4999] + 12] ^= 0x01;
    assert!(matches!(decode_all(&bad), Err(JournalError::Damaged { record: 5001, .. })));
}

#[test]
fn an_events_name_is_its_tag() {
    let all = [
        started(&["a"]),
        resumed(),
        start("a", 1),
        process("a", 1),
        ok("a", 1),
        fail("a", 1, true),
        skip("a"),
        wait("a"),
        interrupt("a", 1),
        decide("a", Decision::Retry),
        paused(),
        run_interrupted(),
        finished(Outcome::Failed),
    ];
    for e in &all {
        let json = serde_json::to_value(e).expect("serializes");
        assert_eq!(json["event"], e.name());
    }
}
