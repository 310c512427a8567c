//! Journal truncation: a crash can cut the journal at any byte. For every record boundary and
//! several offsets inside each record, resume from the cut journal (deciding interrupted steps
//! as an operator would): drbook never panics, exits only with a documented code, and ends
//! with the run succeeded and each non-idempotent step's effect present exactly once.

use crate::runkit::{self, count, drb, kill_when, step_states, wait_no_procs, STATE};
use crate::Test;
use std::path::Path;
use std::time::Duration;

/// Each step writes its id into its own file under `${fx}`; `e` waits for `go` (so a run can
/// be SIGKILLed while `e` is in flight). `b` is idempotent, the others are not.
const RUNBOOK: &str = r#"runbook "cut" {
  owner "ops"
  rto   1h
  param fx: string
  step a { duration 1s; run "echo a >> ${fx}/a" }
  step b { needs a; duration 1s; run "echo b >> ${fx}/b"; idempotent }
  step c { needs a; duration 1s; run "echo c >> ${fx}/c" }
  step d { needs b, c; duration 1s; run "echo d >> ${fx}/d" }
  step e {
    needs d
    duration 1s
    run "touch ${fx}/../e.started; while ! test -f ${fx}/../go; do sleep 0.02; done; echo e >> ${fx}/e"
  }
}
"#;

const STEPS: [(&str, bool); 5] =
    [("a", false), ("b", true), ("c", false), ("d", false), ("e", false)];

/// Cut points: every record boundary, and inside each record just after its first byte, in
/// the middle, and just before its newline (the whole JSON written, the newline not).
fn cut_points(journal: &[u8]) -> Vec<(usize, &'static str)> {
    let mut cuts = vec![(0, "boundary")];
    let mut start = 0;
    for (i, &b) in journal.iter().enumerate() {
        if b == b'\n' {
            let end = i + 1;
            cuts.push((start + 1, "inside"));
            cuts.push((start + (end - start) / 2, "inside"));
            cuts.push((end - 1, "inside"));
            cuts.push((end, "boundary"));
            start = end;
        }
    }
    cuts
}

/// Puts the world back as it was when the journal was cut: a step the cut journal calls
/// succeeded has acted once; one it calls running may or may not have acted (`acted` says);
/// the others have not acted.
fn rebuild_effects(t: &Test, id: &str, fx: &Path, acted: bool) -> Vec<String> {
    let _ = std::fs::remove_dir_all(fx);
    std::fs::create_dir_all(fx).expect("create the effects dir");
    let mut flags = Vec::new();
    for (step, (st, _)) in step_states(t, id) {
        let idempotent = STEPS.iter().any(|(s, i)| *s == step && *i);
        let present = match st.as_str() {
            "succeeded" => true,
            "running" | "interrupted" => acted,
            "pending" => false,
            other => panic!("unexpected state {other} of {step}"),
        };
        if present {
            std::fs::write(fx.join(&step), format!("{step}\n")).expect("write an effect");
        }
        if matches!(st.as_str(), "running" | "interrupted") && !idempotent {
            flags.push("--interrupted".to_string());
            flags.push(format!("{step}={}", if present { "done" } else { "retry" }));
        }
    }
    flags
}

/// Resumes run `id` from every cut of `journal`, starting each time from `pristine` (a copy
/// of the state dir).
fn trials(t: &Test, id: &str, journal: &[u8], pristine: &Path) -> usize {
    let fx = t.path("fx");
    let state_dir = t.path(STATE);
    let mut n = 0;
    for (cut, kind) in cut_points(journal) {
        let _ = std::fs::remove_dir_all(&state_dir);
        copy_dir(pristine, &state_dir);
        runkit::write_crashed(t, id, &journal[..cut]);
        let what = format!("cut at byte {cut} ({kind}) of {}", journal.len());
        let status = drb(t, &["status", id, "--format", "json"]);
        if status.status != 0 {
            // Only a cut inside the first record leaves no run at all.
            let first_end = journal.iter().position(|&b| b == b'\n').expect("a record") + 1;
            assert!(cut < first_end, "{what}: status fails: {}", status.stderr);
            assert_eq!(status.status, 2, "{what}");
            drb(t, &["resume", id]).expect_status(2).expect_stderr("journal");
            continue;
        }
        // A step cut off mid-flight may or may not have acted: try both worlds.
        let in_flight = step_states(t, id)
            .values()
            .any(|(st, _)| matches!(st.as_str(), "running" | "interrupted"));
        for acted in if in_flight { vec![true, false] } else { vec![true] } {
            if !acted {
                let _ = std::fs::remove_dir_all(&state_dir);
                copy_dir(pristine, &state_dir);
                runkit::write_crashed(t, id, &journal[..cut]);
            }
            let what = format!("{what}, in-flight step acted: {acted}");
            let flags = rebuild_effects(t, id, &fx, acted);
            resume_and_verify(t, id, &fx, &flags, &what);
            n += 1;
        }
    }
    n
}

fn resume_and_verify(t: &Test, id: &str, fx: &Path, flags: &[String], what: &str) {
    let mut args = vec!["resume", id];
    args.extend(flags.iter().map(String::as_str));
    let out = drb(t, &args);
    assert_eq!(out.status, 0, "{what}: resume {flags:?}\n{}\n{}", out.stdout, out.stderr);
    for (step, idempotent) in STEPS {
        let times = count(&fx.join(step), step);
        if idempotent {
            assert!(times >= 1, "{what}: {step} never acted");
        } else {
            assert_eq!(times, 1, "{what}: {step} acted {times} times (flags {flags:?})");
        }
    }
    for (step, (st, _)) in step_states(t, id) {
        assert_eq!(st, "succeeded", "{what}: step {step}");
    }
    assert_eq!(runkit::status_json(t, id)["status"], "succeeded", "{what}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a dir");
    for e in std::fs::read_dir(from).expect("list a dir") {
        let e = e.expect("an entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy a file");
        }
    }
}

fn snapshot(t: &Test, id: &str) -> (Vec<u8>, std::path::PathBuf) {
    let journal = std::fs::read(runkit::journal_path(t, id)).expect("read the journal");
    let pristine = t.path("pristine");
    copy_dir(&t.path(STATE), &pristine);
    (journal, pristine)
}

#[test]
fn resume_from_every_cut_of_a_completed_runs_journal() {
    let t = Test::new().file("cut.drbook", RUNBOOK).file("go", "");
    let fx = format!("fx={}", t.path("fx").display());
    std::fs::create_dir_all(t.path("fx")).expect("fx");
    drb(&t, &["run", "cut.drbook", "--param", &fx, "--run-id", "full"]).expect_status(0);
    let (journal, pristine) = snapshot(&t, "full");
    let n = trials(&t, "full", &journal, &pristine);
    assert!(n > 40, "only {n} trials resumed");
}

#[test]
fn resume_from_every_cut_of_a_sigkilled_runs_journal() {
    let t = Test::new().file("cut.drbook", RUNBOOK);
    std::fs::create_dir_all(t.path("fx")).expect("fx");
    let fx = format!("fx={}", t.path("fx").display());
    kill_when(&t, &["run", "cut.drbook", "--param", &fx, "--run-id", "killed"], "e.started");
    // The dead runner's step keeps running in its own process group: let it finish.
    std::fs::write(t.path("go"), "").expect("go");
    wait_no_procs(&t.path("fx").display().to_string(), Duration::from_secs(20));
    // The journal says `running`; with its runner dead, status says `interrupted`.
    assert_eq!(runkit::step_state(&t, "killed", "e"), "interrupted");
    let (journal, pristine) = snapshot(&t, "killed");
    let n = trials(&t, "killed", &journal, &pristine);
    assert!(n > 30, "only {n} trials resumed");
}

/// A failed run `j` (its step `a` needs the file `ok`), and its journal's bytes.
fn failed_run() -> (Test, Vec<u8>) {
    let rb = crate::runkit::runbook(
        "dmg",
        r#"  step a { duration 1s; run "test -f ok && echo a >> log"; idempotent }"#,
    );
    let t = Test::new().file("d.drbook", &rb);
    drb(&t, &["run", "d.drbook", "--run-id", "j"]).expect_status(1);
    let bytes = std::fs::read(runkit::journal_path(&t, "j")).expect("journal");
    (t, bytes)
}

/// Byte offsets where each record starts.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(bytes.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i + 1));
    starts.pop();
    starts
}

#[test]
fn a_damaged_record_before_the_end_is_diagnosed_never_skipped() {
    let (t, mut bytes) = failed_run();
    let starts = record_starts(&bytes);
    assert!(starts.len() >= 4, "{starts:?}");
    bytes[starts[1] + 80] ^= 0x01; // inside the JSON of record 2
    std::fs::write(runkit::journal_path(&t, "j"), &bytes).expect("damage");
    std::fs::write(t.path("ok"), "").expect("fix");
    let want = format!("record 2 (byte {})", starts[1]);
    drb(&t, &["status", "j"]).expect_status(2).expect_stderr(&want);
    drb(&t, &["resume", "j"]).expect_status(2).expect_stderr(&want);
    let list = drb(&t, &["status"]);
    list.expect_status(0).expect_stderr(&want);
    assert!(!t.path("log").exists(), "nothing ran");
    let after = std::fs::read(runkit::journal_path(&t, "j")).expect("journal");
    assert_eq!(after, bytes, "a damaged journal is left as it is, not repaired");
}

/// A complete final record is what was written: damaged, it is refused, not dropped (in a
/// chained journal, only a record without its newline is torn).
#[test]
fn a_damaged_final_record_is_refused_and_a_torn_one_is_cut_away() {
    let (t, bytes) = failed_run();
    let last = *record_starts(&bytes).last().expect("a record");
    let mut damaged = bytes.clone();
    damaged[last + 80] ^= 0x01; // the final `run_finished`, newline intact
    std::fs::write(runkit::journal_path(&t, "j"), &damaged).expect("damage");
    let want = format!("record {} (byte {last})", record_starts(&bytes).len());
    drb(&t, &["status", "j"]).expect_status(2).expect_stderr(&want);
    drb(&t, &["resume", "j"]).expect_status(2).expect_stderr(&want);
    // Torn: the runner died writing it.
    runkit::write_crashed(&t, "j", &bytes[..bytes.len() - 10]);
    // Without its final record the run was cut off mid-flight: a reader says so.
    assert_eq!(runkit::status_json(&t, "j")["status"], "interrupted");
    assert_eq!(
        std::fs::read(runkit::journal_path(&t, "j")).expect("j"),
        bytes[..bytes.len() - 10],
        "readers never cut"
    );
    std::fs::write(t.path("ok"), "").expect("fix");
    drb(&t, &["resume", "j"]).expect_status(0);
    let records = runkit::journal(&t, "j"); // every line parses again
    assert_eq!(records.last().expect("records")["event"], "run_finished");
    assert_eq!(count(&t.path("log"), "a"), 1);
}

#[test]
fn a_journal_of_another_format_version_is_refused() {
    let (t, bytes) = failed_run();
    let text = String::from_utf8(bytes).expect("UTF-8");
    let (first, rest) = text.split_once('\n').expect("a first record");
    let json = runkit::record_json(first).replacen("\"v\":1,", "\"v\":99,", 1);
    assert_ne!(json, runkit::record_json(first), "the first record holds `\"v\":1,`");
    // A version-99 journal of one record, chained (and anchored) as a runner would have.
    let _ = rest;
    let hash = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update([0u8; 32]);
        h.update(b"1 ");
        h.update(json.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let record = format!("{hash} 1 {json}\n");
    runkit::write_crashed(&t, "j", record.as_bytes());
    drb(&t, &["status", "j"]).expect_status(2).expect_stderr("version 99 is not supported");
    drb(&t, &["resume", "j"]).expect_status(2).expect_stderr("version 99 is not supported");
}

#[test]
fn status_refuses_a_journal_that_names_another_run() {
    let (t, _) = failed_run();
    copy_dir(&t.path("state/runs/j"), &t.path("state/runs/copy"));
    drb(&t, &["resume", "copy"]).expect_status(2).expect_stderr("names run `j`");
    // Today: exit 0, printing "run j  dmg  failed" for the directory `copy`.
    drb(&t, &["status", "copy"]).expect_status(2).expect_stderr("names run `j`");
}
