//! Finished runs written straight into a state dir (a chained journal and its closed anchor,
//! exactly as a runner leaves them, without a summary): many runs at fixed times for the
//! `history` and `readiness` tests, where running each would take minutes.

use crate::runkit::STATE;
use crate::Test;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// One finished run of a one-step runbook (step `a`).
pub struct Forged<'a> {
    pub id: &'a str,
    pub runbook: &'a str,
    /// The runbook file's absolute path, and the content hash the run started from.
    pub path: &'a str,
    pub hash: &'a str,
    /// `None`: a plain run; else the drill type.
    pub kind: Option<&'a str>,
    /// Start, milliseconds since the epoch.
    pub start_ms: i64,
    /// From the start to `run_finished`.
    pub took_ms: i64,
    pub ok: bool,
    pub rto_ms: Option<u64>,
    pub user: &'a str,
}

impl Default for Forged<'_> {
    fn default() -> Self {
        Forged {
            id: "r",
            runbook: "quick",
            path: "/nowhere/q.drbook",
            hash: "00",
            kind: None,
            start_ms: 1_795_000_000_000,
            took_ms: 60_000,
            ok: true,
            rto_ms: Some(3_600_000),
            user: "ana",
        }
    }
}

/// RFC 3339 with milliseconds, as drbook journals times.
pub fn at(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Writes `f` into `t`'s state dir.
pub fn forge(t: &Test, f: &Forged<'_>) {
    let start = at(f.start_ms);
    let end = at(f.start_ms + f.took_ms);
    let mut first = json!({"event": "run_started", "v": 1, "run_id": f.id, "runbook": f.runbook,
        "file": "q.drbook", "path": f.path, "content_hash": f.hash,
        "step_hashes": [["a", "v2:00"]], "params": {}, "at": start, "clock_start": start,
        "rto_ms": f.rto_ms, "rpo_ms": null, "user": f.user, "pid": 1});
    if let Some(kind) = f.kind {
        first["drill"] = json!({"type": kind});
    }
    let step_end = if f.ok {
        json!({"event": "step_succeeded", "step": "a", "attempt": 1, "at": end,
            "duration_ms": f.took_ms, "captures": {}, "rpo_ms": null})
    } else {
        json!({"event": "step_failed", "step": "a", "attempt": 1, "at": end,
            "error": "exit status 1", "will_retry": false})
    };
    let outcome = if f.ok { "succeeded" } else { "failed" };
    let mut events: Vec<Value> = vec![
        first,
        json!({"event": "step_started", "step": "a", "attempt": 1, "at": start}),
        step_end,
        json!({"event": "run_finished", "at": end, "outcome": outcome}),
    ];
    // A tabletop drill runs nothing: its step is shown and discussed (an issue when not ok).
    if f.kind == Some("tabletop") {
        let issue = (!f.ok).then_some("an issue found");
        events[1] = json!({"event": "step_waiting", "step": "a", "at": start, "reason": "discuss"});
        events[2] = json!({"event": "step_discussed", "step": "a", "at": end, "by": f.user,
            "how": "cli", "issue": issue, "duration_ms": f.took_ms});
        events[3] = json!({"event": "run_finished", "at": end, "outcome": "succeeded"});
    }
    write_run(t, f.id, &events);
}

/// Writes `events` as run `id`'s chained journal with its closed anchor.
pub fn write_run(t: &Test, id: &str, events: &[Value]) {
    let dir = t.path(STATE).join("runs").join(id);
    std::fs::create_dir_all(&dir).expect("create the run dir");
    private(&t.path(STATE));
    private(&t.path(STATE).join("runs"));
    private(&dir);
    let mut prev = [0u8; 32];
    let mut journal = String::new();
    for (i, e) in events.iter().enumerate() {
        let n = i + 1;
        let text = e.to_string();
        let mut h = Sha256::new();
        h.update(prev);
        h.update(format!("{n} ").as_bytes());
        h.update(text.as_bytes());
        prev = h.finalize().into();
        journal.push_str(&format!("{} {n} {text}\n", hex(&prev)));
    }
    let anchor = format!("drbook-head 1 {:020} sha256:{} closed\n", events.len(), hex(&prev));
    write_private(&dir.join("journal"), journal.as_bytes());
    write_private(&dir.join("head"), anchor.as_bytes());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn private(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}

fn write_private(path: &std::path::Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).expect("write a forged file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// SHA-256 of `bytes`, lowercase hex (a runbook's content hash).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
