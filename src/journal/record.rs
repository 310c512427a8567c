//! Record framing: one event per line, `<crc32 of the JSON, 8 lowercase hex> <JSON>\n`.
//!
//! Input: an [`Event`] to encode, or a journal file's bytes to decode.
//! Output: the framed line, or the events with the length of the trustworthy prefix.
//!
//! Invariants: compact JSON never contains a raw newline (serde_json escapes control
//! characters), so a newline always ends a record. Only the *last* line may be bad, because
//! only the record being written when the runner died can be: an incomplete final line, or a
//! complete final line whose checksum or JSON is wrong, is a torn tail and is dropped. A bad
//! line followed by more lines is damage and is reported with its 1-based record number and
//! byte offset, never skipped.

use super::{Event, JournalError, VERSION};

/// A decoded journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub events: Vec<Event>,
    /// Bytes up to the end of the last good record: where a torn tail starts.
    pub good_len: u64,
    /// A torn final record was dropped.
    pub torn_tail: bool,
}

/// The framed record for `e`, newline included.
pub fn encode(e: &Event) -> Vec<u8> {
    let json = serde_json::to_vec(e)
        .expect("invariant: events are plain data with string keys and always serialize");
    let mut out = Vec::with_capacity(json.len() + 10);
    out.extend_from_slice(format!("{:08x} ", crc32fast::hash(&json)).as_bytes());
    out.extend_from_slice(&json);
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
pub(super) fn decode_in_parts(bytes: &[u8], n: usize) -> Result<Decoded, JournalError> {
    let parts = split(bytes, n);
    let last = parts.len() - 1;
    let decode = |i: usize, part: &[u8]| decode_part(part, i == 0, i == last);
    let results: Vec<Result<Part, PartError>> = if parts.len() == 1 {
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
    let mut offset = 0u64;
    for (result, part) in results.into_iter().zip(&parts) {
        match result {
            Ok(p) => {
                events.extend(p.events);
                if p.torn_tail {
                    return Ok(Decoded { events, good_len: offset + p.good_len, torn_tail: true });
                }
                offset += part.len() as u64;
            }
            Err(PartError { record, offset: at, bad }) => {
                return Err(match bad {
                    Bad::Version(found) => JournalError::Version { found },
                    Bad::Line(reason) => JournalError::Damaged {
                        record: events.len() + record,
                        offset: offset + at,
                        reason,
                    },
                })
            }
        }
    }
    Ok(Decoded { events, good_len: offset, torn_tail: false })
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

struct Part {
    events: Vec<Event>,
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
fn decode_part(bytes: &[u8], first: bool, last: bool) -> Result<Part, PartError> {
    let mut events = Vec::with_capacity(bytes.len() / 96);
    let mut pos = 0usize;
    let mut record = 0usize;
    while pos < bytes.len() {
        record += 1;
        let rest = &bytes[pos..];
        let Some(n) = memchr::memchr(b'\n', rest) else {
            return Ok(Part { events, good_len: pos as u64, torn_tail: true });
        };
        let next = pos + n + 1;
        match parse_line(&rest[..n], first && record == 1) {
            Ok(e) => events.push(e),
            Err(Bad::Line(_)) if last && next == bytes.len() => {
                return Ok(Part { events, good_len: pos as u64, torn_tail: true })
            }
            Err(bad) => return Err(PartError { record, offset: pos as u64, bad }),
        }
        pos = next;
    }
    Ok(Part { events, good_len: pos as u64, torn_tail: false })
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
