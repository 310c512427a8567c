//! `drbook verify RUN [--head sha256:…]`: checks a run's journal offline and read-only (no
//! lock, nothing written): every record where the hash chain puts it, and the chain's head
//! matching the run's anchor (or the head given with `--head`, e.g. one a report printed or a
//! signed copy kept elsewhere). Exit 0 only then; exit 1 naming what is wrong (the record,
//! and what was done to it as far as can be told); exit 2 for a run that is not there.
//!
//! Also the journal lines `status` and reports print ([`journal_line`], [`journal_json`]).

use super::outcome::{CliError, Outcome};
use super::term::eprint;
use crate::journal::chain::{parse_head_hash, ChainInfo, Head};
use crate::journal::sign;
use crate::journal::{JournalError, ReadInfo, RunState, Store};
use std::io::Write;
use std::path::PathBuf;

/// What `verify` is asked.
pub struct VerifyRequest {
    pub state_dir: PathBuf,
    pub run_id: String,
    /// The head the chain must end in, `sha256:<hex>`.
    pub head: Option<String>,
    /// An allowed_signers file: the head must carry a signature by one of its keys.
    pub signers: Option<PathBuf>,
}

pub fn verify(asked: &VerifyRequest) -> Result<Outcome, CliError> {
    let want = match asked.head.as_deref() {
        Some(h) => Some(parse_head_hash(h).ok_or_else(|| {
            CliError::invalid(format!("--head `{h}` is not `sha256:` and 64 lowercase hex digits"))
        })?),
        None => None,
    };
    let store = Store::at(&asked.state_dir);
    let (state, info) = match store.read_run(&asked.run_id) {
        Ok(r) => r,
        Err(e) if tampering(&e) => return Ok(failed(&format!("{e}"))),
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    let head = match &info.chain {
        ChainInfo::NotChained => {
            return Ok(failed(&format!(
                "run `{}`: the journal is not chained (written by an older drbook: its records carry only a CRC, so edits cannot be detected)",
                state.run_id
            )))
        }
        ChainInfo::Ahead { head, .. } if want == Some(head.hash) => *head,
        ChainInfo::Ahead { head, anchored } => {
            return Ok(failed(&format!(
                "run `{}`: the journal goes on past its anchor ({} records anchored, {} in the journal): its last runner died before it anchored them; `drbook resume` anchors them, or pass the head you trust with --head",
                state.run_id, anchored.records, head.records
            )))
        }
        ChainInfo::Anchored { head } => *head,
    };
    if let Some(want) = want {
        if want != head.hash {
            return Ok(failed(&format!(
                "run `{}`: the journal's head is {} after {} records, not the head given with --head: the journal was rewritten or cut, or the head is of another run",
                state.run_id,
                head.display(),
                head.records
            )));
        }
    }
    let signed = match &asked.signers {
        Some(path) => match signed_by(&store, &state.run_id, path, head) {
            Ok(who) => Some(who),
            Err(why) => return Ok(failed(&format!("run `{}`: {why}", state.run_id))),
        },
        None => None,
    };
    let _ = writeln!(
        out,
        "ok: run `{}`: {} records, chain whole{}\njournal head: {}",
        state.run_id,
        head.records,
        if want.is_some() { ", head as given" } else { ", head matches the anchor" },
        head.display()
    );
    if let Some((fp, names)) = signed {
        let _ = writeln!(out, "journal head signed by {} (key {fp})", names.join(", "));
    }
    if info.torn_tail {
        let _ = writeln!(out, "{}", TORN);
    }
    Ok(Outcome::Succeeded)
}

/// Signs `head` with `key` into the run's `head.sig` and says so; a failure is said, not
/// fatal: the run is over either way, and `verify --signers` will find no signature.
pub fn sign_head(store: &Store, run_id: &str, key: &sign::PrivateKey, head: Head) {
    let message = sign::head_message(run_id, head.records, &head.display());
    let done = sign::sign(key, &message)
        .and_then(|pem| store.write_head_signature(run_id, &pem).map_err(|e| e.to_string()));
    match done {
        Ok(()) => eprint(&format!(
            "journal head {} signed with key {} (`drbook verify {run_id} --signers FILE` checks it)",
            head.display(),
            sign::fingerprint(key)
        )),
        Err(why) => eprint(&format!("error: the journal head was not signed: {why}")),
    }
}

/// Who signed the run's `head` (`run --sign`), by the keys of the allowed_signers file at
/// `path`: the key's fingerprint and its principals.
fn signed_by(
    store: &Store,
    run_id: &str,
    path: &std::path::Path,
    head: Head,
) -> Result<(String, Vec<String>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the signers file `{}`: {e}", path.display()))?;
    let signers = sign::Signers::parse(&text)
        .map_err(|(line, why)| format!("`{}` line {line}: {why}", path.display()))?;
    let pem = store.read_head_signature(run_id).map_err(|e| e.to_string())?.ok_or_else(|| {
        "its journal head is not signed (the runner signs it with `run --sign KEY` / `resume --sign KEY`)".to_string()
    })?;
    let message = sign::head_message(run_id, head.records, &head.display());
    signers.verify_message(&message, &pem, "the signers file").map_err(|why| {
        format!(
            "the head signature does not hold for the journal's head {} after {} records: {why} (the journal changed after it was signed, or the signature is of another run or key)",
            head.display(),
            head.records
        )
    })
}

const TORN: &str = "journal: ends in a torn record (the runner crashed while writing it; it was never acknowledged and `resume` drops it)";

/// Errors that are findings of `verify` (exit 1), not a run it could not look at (exit 2).
fn tampering(e: &JournalError) -> bool {
    matches!(
        e.root(),
        JournalError::Tampered { .. }
            | JournalError::Anchor { .. }
            | JournalError::Damaged { .. }
            | JournalError::Impossible { .. }
    )
}

fn failed(why: &str) -> Outcome {
    eprint(&format!("verify failed: {why}"));
    Outcome::Failed
}

/// Says so when the runbook about to be resumed is not byte for byte the file the run
/// started with (its content hash in `run_started`, which the chain protects). What may run
/// from it was decided by the edited-runbook rules before this (`compare_definitions`): steps
/// that started must be unchanged, other changes need `--allow-edited`.
pub fn note_content_change(state: &RunState, bytes: &[u8]) {
    use sha2::{Digest, Sha256};
    let now: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    if now != state.content_hash {
        eprint(&format!(
            "note: the runbook `{}` is not the file run `{}` started with (content sha256:{} then, sha256:{now} now); its steps were compared with the run's",
            state.path, state.run_id, state.content_hash
        ));
    }
}

/// The journal's line in `status` and reports.
pub fn journal_line(info: &ReadInfo) -> String {
    let mut line = match &info.chain {
        ChainInfo::NotChained => {
            "journal: not chained (written by an older drbook: edits are not detected)".to_string()
        }
        ChainInfo::Anchored { head } => {
            format!("journal head: {} ({} records, anchored)", head.display(), head.records)
        }
        ChainInfo::Ahead { head, anchored } => format!(
            "journal head: {} ({} records; {} anchored: the last runner died before anchoring the rest)",
            head.display(),
            head.records,
            anchored.records
        ),
    };
    if info.torn_tail {
        line.push('\n');
        line.push_str(TORN);
    }
    line
}

/// The journal's entry in `status --format json`.
pub fn journal_json(info: &ReadInfo) -> serde_json::Value {
    let head = info.chain.head();
    serde_json::json!({
        "chained": head.is_some(),
        "head": head.map(|h| h.display()),
        "records": head.map(|h| h.records),
        "anchored": match &info.chain {
            ChainInfo::NotChained => None,
            ChainInfo::Anchored { head } | ChainInfo::Ahead { anchored: head, .. } => Some(head.records),
        },
        "torn_tail": info.torn_tail,
    })
}
