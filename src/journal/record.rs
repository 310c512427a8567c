//! Record framing: one event per line. A journal is chained (see `chain`): every line is
//! `<sha256, 64 lowercase hex> <record number> <JSON>\n`; or, written by an older drbook, not
//! chained: every line is `<crc32 of the JSON, 8 lowercase hex> <JSON>\n`. The first line
//! decides which, for the whole journal; a runner resuming an old journal goes on writing it
//! the old way.
//!
//! Input: an [`Event`] to encode, or a journal file's bytes to decode.
//! Output: the framed line, or the events with the length of the trustworthy prefix.
//!
//! Invariants: compact JSON never contains a raw newline (serde_json escapes control
//! characters), so a newline always ends a record. Only the *last* line may be bad, because
//! only the record being written when the runner died can be: an incomplete final line, or a
//! complete final line whose checksum or JSON is wrong, is a torn tail and is dropped. A bad
//! line followed by more lines is damage and is reported with its 1-based record number and
//! byte offset, never skipped. In a chained journal only an incomplete final line (no newline)
//! is torn: a complete one is what was written, so a bad one is damage too, and every record
//! must sit where the chain puts it ([`super::JournalError::Tampered`] otherwise).

use super::chain::{self, Head, Link};
use super::{Event, JournalError, VERSION};

/// A decoded journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub events: Vec<Event>,
    /// Bytes up to the end of the last good record: where a torn tail starts.
    pub good_len: u64,
    /// A torn final record was dropped.
    pub torn_tail: bool,
    /// Chained: the hash of each record, in order (verified). `None`: not chained.
    pub chain: Option<Vec<[u8; 32]>>,
}

impl Decoded {
    /// The head of the chain after the last good record; `None` when not chained.
    pub fn head(&self) -> Option<Head> {
        let hashes = self.chain.as_ref()?;
        Some(Head { records: hashes.len() as u64, hash: hashes.last().copied().unwrap_or([0; 32]) })
    }
}

/// `e` as compact JSON: what a record frames.
pub(super) fn json(e: &Event) -> Vec<u8> {
    serde_json::to_vec(e)
        .expect("invariant: events are plain data with string keys and always serialize")
}

/// The framed record for `e` following `chain` (which moves past it), or, for a journal that
/// is not chained (`None`), the old CRC frame.
pub(super) fn frame(chain: Option<&mut Head>, json: &[u8]) -> Vec<u8> {
    match chain {
        Some(head) => head.frame(json),
        None => crc_frame(json),
    }
}

/// The record for `e` as an older drbook framed it (`<crc32> <JSON>`, not chained), newline
/// included; a journal of such records is read as not chained.
pub fn encode(e: &Event) -> Vec<u8> {
    crc_frame(&json(e))
}

fn crc_frame(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 10);
    out.extend_from_slice(format!("{:08x} ", crc32fast::hash(json)).as_bytes());
    out.extend_from_slice(json);
    out.push(b'\n');
    out
}

/// Decodes a whole journal. See the module docs for what counts as a torn tail.
///
/// A large journal is decoded in parts on scoped threads (JSON parsing dominates the time
/// of `status` and `resume`); parts split at newlines and are stitched back in order, so the
/// result, down to which damaged record is reported first, is that of a single pass.
pub fn decode_all(bytes: &[u8]) -> Result<Decoded, JournalError> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    decode_in_parts(bytes, cores.min(8).min(bytes.len() / PART_MIN))
}

/// Journals smaller than two of these are decoded on the calling thread.
const PART_MIN: usize = 512 * 1024;

/// [`decode_all`] with the journal cut into (at most) `n` parts.
pub(super) fn decode_in_parts<'b>(bytes: &'b [u8], n: usize) -> Result<Decoded, JournalError> {
    let parts = split(bytes, n);
    let last = parts.len() - 1;
    let chained = is_chained(bytes);
    let decode = |i: usize, part: &'b [u8]| decode_part(part, i == 0, i == last, chained);
    let results: Vec<Result<Part<'b>, PartError>> = if parts.len() == 1 {
        vec![decode(0, parts[0])]
    } else {
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..parts.len())
                .map(|i| {
                    let part = parts[i];
                    std::thread::Builder::new().spawn_scoped(s, move || decode(i, part))
                })
                .collect();
            // A part whose thread could not be spawned (or died) is decoded here instead.
            let joined = threads.into_iter().map(|t| t.ok().and_then(|t| t.join().ok()));
            joined.enumerate().map(|(i, r)| r.unwrap_or_else(|| decode(i, parts[i]))).collect()
        })
    };
    let mut events = Vec::with_capacity(results.iter().flatten().map(|p| p.events.len()).sum());
    let mut links = Vec::new();
    let mut offset = 0u64;
    let mut torn = None;
    for (result, part) in results.into_iter().zip(&parts) {
        match result {
            Ok(p) => {
                events.extend(p.events);
                links.extend(p.links.into_iter().map(|l| Link { offset: l.offset + offset, ..l }));
                if p.torn_tail {
                    torn = Some(offset + p.good_len);
                    break;
                }
                offset += part.len() as u64;
            }
            Err(PartError { record, offset: at, bad }) => {
                let n = events.len() + record;
                if let (true, Bad::Line(_)) = (chained, &bad) {
                    if let Some(tampered) = chain_breaks_by(bytes, n) {
                        return Err(tampered);
                    }
                }
                return Err(match bad {
                    Bad::Version(found) => JournalError::Version { found },
                    Bad::Line(reason) => JournalError::Damaged {
                        record: events.len() + record,
                        offset: offset + at,
                        reason,
                    },
                });
            }
        }
    }
    let chain = if chained { Some(chain::verify(&links)?) } else { None };
    let (good_len, torn_tail) = torn.map_or((offset, false), |at| (at, true));
    Ok(Decoded { events, good_len, torn_tail, chain })
}

/// Whether the journal's first line is a chained record.
fn is_chained(bytes: &[u8]) -> bool {
    bytes.len() > 65 && bytes[64] == b' ' && chain::unhex(&bytes[..64]).is_some()
}

/// `bytes` cut into at most `n` parts of about equal size, all but the last ending in a
/// newline, so that every part holds whole lines.
fn split(bytes: &[u8], n: usize) -> Vec<&[u8]> {
    let n = n.max(1);
    let mut parts = Vec::with_capacity(n);
    let mut rest = bytes;
    for i in 1..n {
        let taken = bytes.len() - rest.len();
        let want = (bytes.len() * i / n).saturating_sub(taken);
        match rest.get(want..).and_then(|tail| memchr::memchr(b'\n', tail)) {
            Some(nl) => {
                let (head, tail) = rest.split_at(want + nl + 1);
                parts.push(head);
                rest = tail;
            }
            None => break,
        }
    }
    // An empty last part would make the part before it look like it is not the last.
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest);
    }
    parts
}

struct Part<'b> {
    events: Vec<Event>,
    links: Vec<Link<'b>>,
    good_len: u64,
    torn_tail: bool,
}

/// A bad line of a part: its 1-based record number and offset within the part.
struct PartError {
    record: usize,
    offset: u64,
    bad: Bad,
}

/// Decodes one part; only the last part of a journal may end in a torn record.
fn decode_part(
    bytes: &[u8],
    first: bool,
    last: bool,
    chained: bool,
) -> Result<Part<'_>, PartError> {
    let mut events = Vec::with_capacity(bytes.len() / 96);
    let mut links = Vec::with_capacity(if chained { bytes.len() / 96 } else { 0 });
    let mut pos = 0usize;
    let mut record = 0usize;
    while pos < bytes.len() {
        record += 1;
        let rest = &bytes[pos..];
        let Some(n) = memchr::memchr(b'\n', rest) else {
            return Ok(Part { events, links, good_len: pos as u64, torn_tail: true });
        };
        let next = pos + n + 1;
        let parsed = if chained {
            parse_chained(&rest[..n], first && record == 1, pos as u64).map(|(e, l)| {
                links.push(l);
                e
            })
        } else {
            parse_line(&rest[..n], first && record == 1)
        };
        match parsed {
            Ok(e) => events.push(e),
            Err(Bad::Line(_)) if last && next == bytes.len() && !chained => {
                return Ok(Part { events, links, good_len: pos as u64, torn_tail: true })
            }
            Err(bad) => return Err(PartError { record, offset: pos as u64, bad }),
        }
        pos = next;
    }
    Ok(Part { events, links, good_len: pos as u64, torn_tail: false })
}

enum Bad {
    Line(String),
    /// The first record is intact but written by another format version.
    Version(u32),
}

fn parse_line(line: &[u8], first: bool) -> Result<Event, Bad> {
    if line.len() < 10 || line[8] != b' ' {
        return Err(Bad::Line("not a `<crc32> <json>` record".into()));
    }
    let Some(want) = parse_crc(&line[..8]) else {
        return Err(Bad::Line("the checksum is not 8 lowercase hex digits".into()));
    };
    let json = &line[9..];
    let got = crc32fast::hash(json);
    if got != want {
        return Err(Bad::Line(format!(
            "checksum mismatch (recorded {want:08x}, computed {got:08x})"
        )));
    }
    event(json, first)
}

/// A chained line: its event, and its link for the chain (checked by `chain::verify`).
fn parse_chained(line: &[u8], first: bool, offset: u64) -> Result<(Event, Link<'_>), Bad> {
    let link = read_frame(line, offset)?;
    let e = event(link.json, first)?;
    Ok((e, link))
}

/// A chained line's frame (hash, number, JSON), its JSON not decoded.
fn read_frame(line: &[u8], offset: u64) -> Result<Link<'_>, Bad> {
    let not_chained =
        || Bad::Line("not a `<sha256> <number> <json>` record of a chained journal".into());
    if line.len() < 68 || line[64] != b' ' {
        return Err(not_chained());
    }
    let recorded = chain::unhex(&line[..64]).ok_or_else(not_chained)?;
    let rest = &line[65..];
    let space = memchr::memchr(b' ', rest).ok_or_else(not_chained)?;
    let number = std::str::from_utf8(&rest[..space])
        .ok()
        .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(not_chained)?;
    let json = &rest[space + 1..];
    Ok(Link { recorded, number, json, offset })
}

/// Why record `record` (1-based) of a chained journal does not decode, when the chain says
/// it: a record edited into something that is no event is tampering, named as such, not
/// damage. `None` when the chain up to it holds (the record was damaged as written).
fn chain_breaks_by(bytes: &[u8], record: usize) -> Option<JournalError> {
    let mut links = Vec::with_capacity(record);
    let mut pos = 0usize;
    while links.len() < record && pos < bytes.len() {
        let n = memchr::memchr(b'\n', &bytes[pos..])?;
        links.push(read_frame(&bytes[pos..pos + n], pos as u64).ok()?);
        pos += n + 1;
    }
    chain::verify(&links).err()
}

fn event(json: &[u8], first: bool) -> Result<Event, Bad> {
    serde_json::from_slice(json).map_err(|e| {
        if first {
            if let Some(found) = foreign_version(json) {
                return Bad::Version(found);
            }
        }
        Bad::Line(format!("not a journal event: {e}"))
    })
}

/// The `v` of a `run_started` record from another version, whose other fields this build may
/// not understand.
fn foreign_version(json: &[u8]) -> Option<u32> {
    #[derive(serde::Deserialize)]
    struct Probe {
        event: String,
        v: Option<u32>,
    }
    let p: Probe = serde_json::from_slice(json).ok()?;
    (p.event == "run_started").then_some(p.v).flatten().filter(|&v| v != VERSION)
}

fn parse_crc(hex: &[u8]) -> Option<u32> {
    hex.iter().try_fold(0u32, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u32::from(d))
    })
}
