//! The watch journal's record framing: one event per line, `<crc32 of the JSON, 8 lowercase
//! hex> <JSON>\n` (the run journal's unchained frame, `journal::record`).
//!
//! Input: events to encode, or a journal file's bytes. Output: the framed batch, or the
//! events with the length of the trustworthy prefix.
//!
//! Invariants: compact JSON never holds a raw newline, so a newline ends a record. Only the
//! last line may be bad (the batch being written when the watcher died): an incomplete last
//! line, or a complete one whose checksum or JSON is wrong, is a torn tail and is dropped.
//! A bad line followed by more is [`JournalError::Damaged`] with its record number and byte
//! offset. A `watch_started` of another format version is [`JournalError::Version`], even
//! when the rest of its record is not a shape this drbook knows.

use super::event::{WatchEvent, WATCH_VERSION};
use crate::journal::JournalError;

/// A decoded watch journal.
#[derive(Debug)]
pub struct Decoded {
    pub events: Vec<WatchEvent>,
    /// Bytes up to the end of the last good record: where a torn tail starts.
    pub good_len: u64,
    pub torn_tail: bool,
}

/// The framed records of `events`, newlines included: what one append writes.
pub fn encode(events: &[WatchEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let json = serde_json::to_vec(e)
            .expect("invariant: watch events are plain data with string keys and serialize");
        out.extend_from_slice(format!("{:08x} ", crc32fast::hash(&json)).as_bytes());
        out.extend_from_slice(&json);
        out.push(b'\n');
    }
    out
}

/// Decodes a whole journal (see the module docs for what a torn tail is).
pub fn decode(bytes: &[u8]) -> Result<Decoded, JournalError> {
    let mut events = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let record = events.len() + 1;
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(nl) => (&rest[..nl], pos + nl + 1),
            None => return Ok(Decoded { events, good_len: pos as u64, torn_tail: true }),
        };
        match line_event(line) {
            Ok(e) => events.push(e),
            Err(Bad::Version(found)) => return Err(JournalError::Version { found }),
            Err(Bad::Line(_)) if next == bytes.len() => {
                return Ok(Decoded { events, good_len: pos as u64, torn_tail: true })
            }
            Err(Bad::Line(reason)) => {
                return Err(JournalError::Damaged { record, offset: pos as u64, reason })
            }
        }
        pos = next;
    }
    Ok(Decoded { events, good_len: pos as u64, torn_tail: false })
}

enum Bad {
    Version(u32),
    Line(String),
}

fn line_event(line: &[u8]) -> Result<WatchEvent, Bad> {
    if line.len() < 10 || line[8] != b' ' {
        return Err(Bad::Line("not a framed record (`<crc32> <json>`)".into()));
    }
    let (crc, json) = (&line[..8], &line[9..]);
    let want = std::str::from_utf8(crc)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|s| u32::from_str_radix(s, 16).ok())
        .ok_or_else(|| Bad::Line("its checksum is not 8 hex digits".into()))?;
    if crc32fast::hash(json) != want {
        return Err(Bad::Line("its checksum does not match".into()));
    }
    serde_json::from_slice(json).map_err(|e| {
        // A newer drbook's `watch_started` is refused by its version, not as damage.
        let v: Option<serde_json::Value> = serde_json::from_slice(json).ok();
        let version = v
            .as_ref()
            .filter(|v| v.get("event").and_then(|e| e.as_str()) == Some("watch_started"))
            .and_then(|v| v.get("v")?.as_u64())
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n != WATCH_VERSION);
        match version {
            Some(found) => Bad::Version(found),
            None => Bad::Line(format!("not a watch event: {e}")),
        }
    })
}
