//! The hash chain over a journal's records, and its anchor outside the journal.
//!
//! Input: each record's JSON as it is framed (writing), or the framed lines of a journal
//! (reading), and the run's anchor file. Output: chained record frames, the chain [`Head`]
//! after the last record, and [`JournalError::Tampered`] naming the first record that does
//! not belong where it is.
//!
//! A chained record is `<sha256, 64 lowercase hex> <record number> <JSON>\n`; its hash is
//! `SHA-256(hash of the record before it || "<record number> " || JSON)`, with 32 zero bytes
//! before the first record. Changing a record's content breaks its own hash; deleting,
//! inserting or moving a record breaks the numbering (and the hashes after it). What the
//! chain alone cannot show is a journal rewritten consistently from some record on (the hash
//! is unkeyed) or cut after a whole record: that is what the anchor is for.
//!
//! The anchor is `runs/<id>/head`, written only by the runner holding the run's lock: the
//! record count and hash of the last records made durable, and whether the runner closed
//! the journal (`closed`) or is (or was, when it died) still writing it (`open`). It is
//! overwritten in place after each `fdatasync` of the journal, never before, so it may lag
//! the journal (by the records of one sync, if the runner died in between) but never lead
//! it; it is synced when the runner closes the journal. Invariant on reading: the anchored
//! record exists and has the anchored hash; records past it are accepted only when the
//! anchor is `open` (a crash before the anchor caught up).
//!
//! Not here yet: signing a run's final head with the runner's SSH key (`--sign KEY` on
//! `run` / `resume`, issue 11 §3). It would plug in where the anchor is closed
//! ([`Anchor`]'s drop, which knows the final [`Head`]): sign `Head::display()` with the run id
//! in the `drbook` namespace next to the anchor, and `verify --signers FILE` would check it.

use super::JournalError;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The anchor file in a run's directory.
pub(super) const ANCHOR: &str = "head";

/// Where a chain stands: how many records, and the hash of the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub records: u64,
    pub hash: [u8; 32],
}

impl Head {
    /// Before the first record.
    pub const GENESIS: Head = Head { records: 0, hash: [0; 32] };

    /// `sha256:<hex>`, as reports and `status` print it.
    pub fn display(&self) -> String {
        format!("sha256:{}", hex(&self.hash))
    }

    /// Frames `json` as the next record and moves the head past it.
    pub fn frame(&mut self, json: &[u8]) -> Vec<u8> {
        let n = self.records + 1;
        let hash = link(&self.hash, n, json);
        let mut out = Vec::with_capacity(json.len() + 90);
        out.extend_from_slice(hex(&hash).as_bytes());
        out.extend_from_slice(format!(" {n} ").as_bytes());
        out.extend_from_slice(json);
        out.push(b'\n');
        *self = Head { records: n, hash };
        out
    }
}

fn link(prev: &[u8; 32], n: u64, json: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(format!("{n} ").as_bytes());
    h.update(json);
    h.finalize().into()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// `sha256:<hex>` (as printed) back to a hash.
pub fn parse_head_hash(text: &str) -> Option<[u8; 32]> {
    unhex(text.strip_prefix("sha256:").unwrap_or(text).as_bytes())
}

/// One chained record as read: what its frame says, and where it is.
#[derive(Clone, Debug)]
pub(super) struct Link<'a> {
    pub recorded: [u8; 32],
    pub number: u64,
    pub json: &'a [u8],
    /// Byte offset of the line in the journal.
    pub offset: u64,
}

/// Follows the chain over every record; `Ok`: the hash of each record, in order.
pub(super) fn verify(links: &[Link<'_>]) -> Result<Vec<[u8; 32]>, JournalError> {
    let mut hashes = Vec::with_capacity(links.len());
    let mut prev = [0u8; 32];
    for (i, l) in links.iter().enumerate() {
        let at = i as u64 + 1;
        let tampered =
            |what: String| JournalError::Tampered { record: i + 1, offset: l.offset, what };
        if l.number != at {
            let what = if let Some(p) = links[i + 1..].iter().position(|x| x.number == at) {
                format!(
                    "is out of order: it is record {} of the chain, and record {at} was moved to position {} (reordered)",
                    l.number,
                    i + 2 + p
                )
            } else if l.number > at {
                let last = l.number - 1;
                let missing = if last == at {
                    format!("record {at} is")
                } else {
                    format!("records {at} to {last} are")
                };
                format!("follows a gap: {missing} missing (deleted)")
            } else {
                format!("was inserted: it claims to be record {} of the chain", l.number)
            };
            return Err(tampered(what));
        }
        if link(&prev, at, l.json) != l.recorded {
            let what = if links.get(i + 1).is_some_and(|x| x.number == at) {
                format!("was inserted: record {at} of the chain appears twice, and this one does not match its hash")
            } else {
                "was edited: its content does not match its hash in the chain".into()
            };
            return Err(tampered(what));
        }
        prev = l.recorded;
        hashes.push(l.recorded);
    }
    Ok(hashes)
}

/// What the anchor file says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchored {
    pub head: Head,
    /// The runner that wrote it closed the journal.
    pub closed: bool,
}

/// How a journal stands against its chain and anchor, for `status`, reports and `verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainInfo {
    /// Written by an older drbook: CRC-only records, edits are not detected.
    NotChained,
    /// Chained, and the anchor holds the head.
    Anchored { head: Head },
    /// Chained, with records past the anchor left by a runner that died before it could
    /// anchor them.
    Ahead { head: Head, anchored: Head },
}

impl ChainInfo {
    /// The head of the chain, when chained.
    pub fn head(&self) -> Option<Head> {
        match self {
            ChainInfo::NotChained => None,
            ChainInfo::Anchored { head } | ChainInfo::Ahead { head, .. } => Some(*head),
        }
    }
}

/// Checks a chained journal's `hashes` against its anchor (at `path`), which must have
/// been read before the journal: a live runner may anchor records the journal read missed.
pub(super) fn check_anchor(
    path: &Path,
    anchored: Option<Anchored>,
    hashes: &[[u8; 32]],
) -> Result<ChainInfo, JournalError> {
    let path = path.to_path_buf();
    let count = hashes.len() as u64;
    let head = Head { records: count, hash: hashes.last().copied().unwrap_or([0; 32]) };
    let bad = |what: String| JournalError::Anchor { path: path.clone(), what };
    let Some(a) = anchored else {
        return Err(bad(
            "is missing: a chained journal always has one, so it was removed (or the run was copied without it)".into(),
        ));
    };
    let n = a.head.records;
    if n > count {
        let missing = if n == count + 1 {
            format!("record {n} is")
        } else {
            format!("records {} to {n} are", count + 1)
        };
        return Err(bad(format!(
            "says the journal has {n} records, but it has {count}: {missing} missing at the end (the journal was cut)"
        )));
    }
    if n > 0 && hashes[n as usize - 1] != a.head.hash {
        return Err(bad(format!(
            "does not match record {n}: the journal was rewritten up to there (anchored {}, found {})",
            a.head.display(),
            Head { records: n, hash: hashes[n as usize - 1] }.display()
        )));
    }
    if n == count {
        return Ok(ChainInfo::Anchored { head });
    }
    if a.closed {
        let extra = if count == n + 1 {
            format!("record {count} was")
        } else {
            format!("records {} to {count} were", n + 1)
        };
        return Err(bad(format!(
            "says the journal was closed after record {n}: {extra} added afterwards (appended)"
        )));
    }
    Ok(ChainInfo::Ahead { head, anchored: a.head })
}

/// Reads an anchor file; `None` when there is none.
pub(super) fn read_anchor(path: &Path) -> Result<Option<Anchored>, JournalError> {
    let file = match OpenOptions::new().read(true).custom_flags(libc_nofollow()).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(JournalError::io(path, e)),
    };
    let mut buf = vec![0u8; 256];
    let n = file.read_at(&mut buf, 0).map_err(|e| JournalError::io(path, e))?;
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    let unreadable =
        || JournalError::Anchor { path: path.to_path_buf(), what: "is not a drbook anchor".into() };
    let parts: Vec<&str> = text.split_whitespace().collect();
    let ["drbook-head", "1", records, hash, state] = parts[..] else { return Err(unreadable()) };
    let records: u64 = records.parse().map_err(|_| unreadable())?;
    let hash = parse_head_hash(hash).ok_or_else(unreadable)?;
    let closed = match state {
        "closed" => true,
        "open" => false,
        _ => return Err(unreadable()),
    };
    Ok(Some(Anchored { head: Head { records, hash }, closed }))
}

fn libc_nofollow() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

/// The anchor file of a run being written, held by its runner.
#[derive(Debug)]
pub(super) struct Anchor {
    file: File,
    path: PathBuf,
    head: Head,
    /// The journal (another descriptor of it), and a head written but not yet synced.
    journal: File,
    unsynced: Option<Head>,
}

impl Anchor {
    /// Creates (or takes over) the anchor in `dir` and writes `head` into it, durably.
    /// `journal` is the journal the anchor is for, already synced up to `head`.
    pub fn create(dir: &Path, head: Head, journal: &File) -> Result<Anchor, JournalError> {
        let path = dir.join(ANCHOR);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc_nofollow())
            .open(&path)
            .map_err(|e| JournalError::io(&path, e))?;
        let journal = journal.try_clone().map_err(|e| JournalError::io(&path, e))?;
        let a = Anchor { file, path, head, journal, unsynced: None };
        a.write(false)
            .and_then(|()| a.file.sync_data())
            .map_err(|e| JournalError::io(&a.path, e))?;
        Ok(a)
    }

    /// Records that the journal is durable up to `head` (not synced: see the module docs).
    pub fn set(&mut self, head: Head) {
        self.head = head;
        self.unsynced = None;
        // A failed write leaves the anchor behind the journal, which it may be.
        let _ = self.write(false);
    }

    /// Records that the journal holds records up to `head` not yet synced: anchored by the
    /// next [`Anchor::set`], or on drop after a sync of the journal.
    pub fn set_unsynced(&mut self, head: Head) {
        self.unsynced = Some(head);
    }

    fn write(&self, closed: bool) -> io::Result<()> {
        let state = if closed { "closed" } else { "open  " };
        let line =
            format!("drbook-head 1 {:020} {} {state}\n", self.head.records, self.head.display());
        self.file.write_all_at(line.as_bytes(), 0)
    }
}

impl Drop for Anchor {
    /// The runner is done with the journal: the anchor says so, durably.
    fn drop(&mut self) {
        if let Some(head) = self.unsynced.take() {
            if self.journal.sync_data().is_ok() {
                self.head = head;
            }
        }
        if self.write(true).is_ok() {
            let _ = self.file.sync_data();
        }
    }
}
