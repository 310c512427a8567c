//! `drbook run FILE`: a new run. The runbook is loaded and checked, `--approve` names judged,
//! AWS connected and every secret resolved, then the run is admitted (under the state dir's
//! start lock: no other unfinished run of the file, a free id) and its `run_started` record
//! written, and the prepared run is driven. `--dry-run` stops after the checks and prints the
//! simulated schedule instead; it resolves nothing and writes nothing.

use super::again::invocation;
use super::drive::drive;
use super::outcome::{CliError, Outcome};
use super::prepare::{Book, Ready, RunRequest};
use super::term::say;
use crate::exec::simulate;
use crate::journal::{self, Event, JournalError, RunHandle, RunStatus, Store};
use crate::model::time as clock;
use crate::model::{fmt_duration, hash, Action};
use crate::plan::PlanAction;
use std::io::Write;
use std::path::Path;

/// What `run` is asked besides the runbook and the run flags.
pub struct NewRun {
    /// `--run-id`: a name that is never changed (refused when taken).
    pub run_id: Option<String>,
    /// `--since`: when the incident was declared; the RTO clock starts there.
    pub since: Option<String>,
    pub allow_concurrent: bool,
    pub dry_run: bool,
    /// Set by `drill`: the run is a drill of this type (journaled in `run_started`).
    pub drill: Option<crate::journal::DrillInfo>,
    /// Set by `drill --notify URL`: where the drill's summary is posted when it ends.
    pub notify: Option<String>,
    /// Set by `drbook watch`: its trigger fired (journaled in `run_started`).
    pub trigger: Option<crate::journal::TriggerInfo>,
}

pub fn run(req: RunRequest<'_>, new: &NewRun) -> Result<Outcome, CliError> {
    let book = req.load()?;
    book.check_approve_flags(req.flags).map_err(|e| e.then("nothing was run"))?;
    book.check_report_flag(req.flags).map_err(|e| e.then("nothing was run"))?;
    if let Some(drill) = &new.drill {
        book.check_drill_targets(drill)?;
    }
    if new.dry_run {
        return Ok(dry(&book, req.flags.parallel.unwrap_or(book.rb.parallel as usize)));
    }
    let clock_start = match &new.since {
        Some(s) => clock::parse(s).ok_or_else(|| {
            CliError::invalid(format!(
                "`--since {s}` is not an RFC 3339 timestamp (like 2026-11-23T21:40:00Z)"
            ))
        })?,
        None => clock::now_ms(),
    };
    let tabletop = new.drill.as_ref().is_some_and(|d| d.kind == crate::model::DrillKind::Tabletop);
    let ready = if tabletop {
        req.executing_nothing(book, new.notify.is_some())?
    } else {
        req.connect(book)?
    };
    let store = Store::open(&ready.req.flags.state_dir)?;
    let (id, handle) = admit(&store, &ready, new, clock_start)?;
    let rb = &ready.book.rb;
    let budget = rb.rto.map_or("none".into(), fmt_duration);
    // `component drill ID: ...` for a drill.
    let what = match (&new.drill, &new.trigger) {
        (Some(d), _) => format!("{} drill", d.kind),
        (None, Some(_)) => "triggered run".to_string(),
        (None, None) => "run".to_string(),
    };
    let headline = format!("{what} {id}: {} ({} steps, budget {budget})", rb.name, rb.steps.len());
    say(ready.req.flags, &headline);
    let mut prepared = ready.take(store, id, handle, clock_start);
    prepared.notify = new.notify.clone();
    drive(prepared)
}

/// Admits the new run and writes its first record. Checking for an unfinished run and
/// creating the new one happen under one state-dir lock, so two runners started at the same
/// instant cannot both pass the check.
fn admit(
    store: &Store,
    ready: &Ready<'_>,
    new: &NewRun,
    clock_start: i64,
) -> Result<(String, RunHandle), CliError> {
    let book = &ready.book;
    let _starting = start_lock(store)
        .map_err(|e| CliError::invalid(format!("cannot lock `{}`: {e}", store.root().display())))?;
    let again = invocation(&ready.req.flags.state_dir);
    // A tabletop or component drill changes nothing: it may go on beside an unfinished run.
    let harmless = new.drill.as_ref().is_some_and(|d| d.kind.changes_nothing());
    if !new.allow_concurrent && !harmless {
        if let Some(other) = unfinished_run_of(store, &book.abs) {
            return Err(CliError::invalid(format!(
                "run `{other}` of this runbook is unfinished; `{}` continues it (or pass --allow-concurrent)",
                again.command(&format!("resume {other}"))
            )));
        }
    }
    let now = clock::now();
    let mut id = match &new.run_id {
        Some(id) if !journal::valid_run_id(id) => {
            return Err(CliError::invalid(format!(
                "`{id}` is not a valid run id (letters, digits, `.`, `_`, `-`)"
            )))
        }
        Some(id) => id.clone(),
        None => journal::new_run_id(&book.rb.name, &now),
    };
    let first = |id: &str| Event::RunStarted {
        v: journal::VERSION,
        run_id: id.to_string(),
        runbook: book.rb.name.clone(),
        file: ready.req.file.display().to_string(),
        path: book.abs.display().to_string(),
        content_hash: sha256(&book.bytes),
        step_hashes: hash::step_hashes(&book.rb.steps),
        params: book.values.iter().map(|(k, v)| (k.clone(), v.render())).collect(),
        at: now.clone(),
        clock_start: clock::format(clock_start),
        rto_ms: book.rb.rto,
        rpo_ms: book.rb.rpo,
        user: ready.req.user.clone(),
        pid: std::process::id(),
        drill: new.drill.clone(),
        trigger: new.trigger.clone(),
    };
    // A generated id collides only if two runs start in the same second and draw the same
    // suffix: draw again. A name given with --run-id is never changed.
    let mut tries = 0;
    loop {
        match store.create_run(&id, &first(&id)) {
            // Admitted once created: the next runner sees this run as unfinished.
            Ok(h) => return Ok((id, h)),
            Err(JournalError::RunExists(_)) if new.run_id.is_none() && tries < 5 => {
                tries += 1;
                id = journal::new_run_id(&book.rb.name, &clock::now());
            }
            Err(JournalError::RunExists(_)) => {
                return Err(CliError::invalid(format!(
                    "a run named `{id}` already exists; resume it with `{}`",
                    again.command(&format!("resume {id}"))
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// An exclusive lock on `STATE_DIR/start.lock`, held while a new run is admitted.
fn start_lock(store: &Store) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = crate::journal::fsx::open(
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600),
        &store.root().join("start.lock"),
    )?;
    f.lock()?;
    Ok(f)
}

/// An unfinished (running, paused or interrupted) run of the same runbook file. A tabletop
/// or component drill left unfinished changes nothing, so it never holds a real run back.
fn unfinished_run_of(store: &Store, abs: &Path) -> Option<String> {
    let ids = store.list_runs().ok()?;
    ids.into_iter().find(|id| match store.read_run(id) {
        Ok((s, _)) => {
            s.path == abs.display().to_string()
                && !s.drill.as_ref().is_some_and(|d| d.kind.changes_nothing())
                && matches!(
                    s.status,
                    RunStatus::Running | RunStatus::Paused | RunStatus::Interrupted
                )
        }
        Err(_) => false,
    })
}

/// `--dry-run`: the simulated schedule, what remote steps would send, the projected RTO.
fn dry(book: &Book, parallel: usize) -> Outcome {
    let slots = simulate(&book.rb, &book.dag, parallel);
    // What `http`, `notify` and `ssm` steps would send, as the plan shows it: params filled
    // in, secrets as `<secret:NAME>` (a dry run never resolves them).
    let plan = crate::plan::build(&book.rb, &book.dag, &book.values, Vec::new());
    // Params are filled in: control characters as visible escapes.
    let mut out = crate::diag::escape::Escaped::new(std::io::stdout().lock());
    let _ = writeln!(
        out,
        "dry run of {} (parallel {parallel}): nothing is executed, no state is written\n",
        book.rb.name
    );
    for s in &slots {
        let step = &book.rb.steps[s.step];
        let action =
            step.action.as_ref().map_or("gate".to_string(), |a| a.kind().replace('_', " "));
        let sends = match plan.steps.get(s.step).and_then(|p| p.action.as_ref()) {
            Some(PlanAction::Http { method, url, .. }) => format!("  sends {method} {url}"),
            Some(PlanAction::Notify { url, text }) => format!("  sends POST {url} {text:?}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  +{:<8} {:<24} {:<8} until +{}{sends}",
            fmt_duration(s.start_ms),
            step.id,
            action,
            fmt_duration(s.end_ms)
        );
        for line in plan.steps.get(s.step).map(super::dry::decides).unwrap_or_default() {
            let _ = writeln!(out, "{line}");
        }
        let remote = step.action.as_ref().is_some_and(|a| {
            matches!(
                a,
                Action::SsmCommand { .. } | Action::SsmAutomation { .. } | Action::SsmPut { .. }
            )
        });
        if let (true, Some(a)) = (remote, plan.steps.get(s.step).and_then(|p| p.action.as_ref())) {
            let sent = a.describe().replace('\n', "\n             ");
            let _ = writeln!(out, "             would send: {sent}");
        }
    }
    let end = slots.iter().map(|s| s.end_ms).max().unwrap_or(0);
    let verdict = match book.rb.rto {
        Some(r) if end > r => {
            format!("OVER the {} budget by {}", fmt_duration(r), fmt_duration(end - r))
        }
        Some(r) => {
            format!("within the {} budget (slack {})", fmt_duration(r), fmt_duration(r - end))
        }
        None => "no `rto` budget".into(),
    };
    let _ = writeln!(out, "\nprojected RTO {} — {verdict}", fmt_duration(end));
    Outcome::Succeeded
}
