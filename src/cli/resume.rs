//! `drbook resume RUN`: continue an interrupted, paused or failed run. The run's lock is taken
//! first (one runner per run), so everything after judges the run as it stands: a run that is
//! over is said so (and its report written when `--report` asks); `--interrupted` decisions
//! and `--reopen` steps are judged; the runbook (the journal's file, or `--file`) is loaded
//! with the run's params and its steps compared with the journal's; AWS and secrets are
//! prepared; `run_resumed` is written with each re-opened gate, interrupted steps settled, and
//! the run driven. Succeeded steps never run again, and a denied gate stays denied unless
//! `--reopen` names it.

use super::decide::{parse_decisions, refuse_retries, will_roll_back};
use super::drive::settle_then_drive;
use super::outcome::{CliError, Outcome};
use super::prepare::ExistingRun;
use super::term::{eprint, say};
use crate::journal::{Event, RunState, RunStatus, StepState, Store};
use crate::model::time as clock;

pub fn resume(asked: &ExistingRun<'_>) -> Result<Outcome, CliError> {
    let (run_id, flags) = (asked.run_id, asked.flags);
    let decisions = parse_decisions(asked.interrupted)?;
    let store = Store::open(&flags.state_dir)?;
    let mut handle = store.resume_run(run_id)?;
    let state = handle.state.clone();
    if !state.status.is_unfinished() && state.status != RunStatus::Failed {
        if state.status == RunStatus::Succeeded {
            say(flags, &format!("run {run_id} already succeeded; nothing to resume"));
        } else {
            say(flags, &format!("run {run_id} is over ({}); nothing to resume", state.status));
        }
        let outcome = match state.status {
            RunStatus::RolledBack => Outcome::RolledBack,
            RunStatus::RollbackFailed => Outcome::RollbackFailed,
            _ => Outcome::Succeeded,
        };
        // A drill that is over exits as it did: 1 when its result is FAILED.
        let drill = crate::journal::drill::drill_result(&state, clock::now_ms());
        let outcome = match drill.filter(|r| !r.success && outcome == Outcome::Succeeded) {
            Some(r) => {
                let why = super::drillreport::why_failed(&r);
                eprint(&format!("the {} drill FAILED: {why} (exit 1)", r.drill_type));
                Outcome::Failed
            }
            None => outcome,
        };
        over(asked, &state, outcome, handle.head());
        return Ok(outcome);
    }
    let req = asked.request(&state);
    let book = req.load()?;
    let rolling = will_roll_back(&state, &book.rb);
    refuse_retries(&state, &decisions, rolling)?;
    let reopen = judge_reopen(&state, asked.reopen, rolling)?;
    book.compare_definitions(&state, asked.allow_edited)?;
    super::verify::note_content_change(&state, &book.bytes);
    book.check_approve_flags(flags)?;
    book.check_report_flag(flags)?;
    // A tabletop drill executes nothing, so it resolves no secret either.
    let ready = if state.is_tabletop() {
        req.executing_nothing(book, asked.notify.is_some())?
    } else {
        req.connect(book)?
    };
    let (user, at) = (ready.req.user.clone(), clock::now());
    let mut events = vec![Event::RunResumed { at: at.clone(), pid: std::process::id(), user }];
    events.extend(reopen.iter().map(|step| Event::GateReopened {
        step: step.clone(),
        by: ready.req.user.clone(),
        at: at.clone(),
        // Written here, not by the executor's masking journal: masked the same way.
        reason: asked.reason.map(|r| ready.secrets.scrub(r)),
    }));
    handle.append_batch(&events)?;
    for (id, r) in &state.steps {
        let Some(d) = r.denial.as_ref().filter(|_| r.stays_denied() && !reopen.contains(id)) else {
            continue;
        };
        eprint(&format!(
            "step `{id}` stays failed: its approval was denied by {} at {}: {}\n  (`{}` asks for its approvals again)",
            d.by,
            d.at,
            d.reason,
            super::again::invocation(&flags.state_dir)
                .command(&format!("resume {run_id} --reopen {id}"))
        ));
    }
    let clock_start = clock::parse(&state.clock_start).unwrap_or_else(clock::now_ms);
    let headline = format!("resuming run {run_id}: {}", ready.book.rb.name);
    let mut prepared = ready.take(store, run_id.to_string(), handle, clock_start);
    prepared.decision_reason = asked.reason.map(str::to_string);
    prepared.force = asked.force;
    prepared.notify = asked.notify.map(str::to_string);
    settle_then_drive(prepared, &decisions, &headline)
}

/// A run that is over: its report still goes where `--report` says, and the JSON progress
/// stream still ends with the run's finish.
fn over(
    asked: &ExistingRun<'_>,
    state: &RunState,
    outcome: Outcome,
    head: Option<crate::journal::chain::Head>,
) {
    let flags = asked.flags;
    if let Some(path) = &flags.report {
        let mut r = super::report_cmd::report_of(state, asked.file);
        r.journal_head = head.map(|h| h.display());
        if let Err(e) = super::runreport::write(&r, path) {
            eprint(&format!("error: cannot write the report to `{}`: {e}", path.display()));
        }
    }
    if flags.log_format == super::args::LogFormat::Json {
        super::progress::init_json(&state.run_id);
        super::progress::run_finished(&state.run_id, state.status.as_str(), outcome);
    }
}

/// `--reopen STEP` names a step whose gate was denied and stays so; never while the run rolls
/// back (nothing runs forward again). Every wrong name is reported, before anything is written.
fn judge_reopen(
    state: &RunState,
    reopen: &[String],
    rolling: bool,
) -> Result<Vec<String>, CliError> {
    let mut errors = Vec::new();
    for name in reopen {
        match state.step(name) {
            None => {
                let ids = state.steps.iter().map(|(id, _)| id.as_str());
                let hint = crate::diag::did_you_mean(name, ids)
                    .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                errors.push(format!("`--reopen {name}`: there is no step `{name}`{hint}"));
            }
            Some(r) if !r.stays_denied() => {
                let what = if r.state == StepState::Failed && r.gate.is_some() {
                    "failed, but its gate was not denied".to_string()
                } else {
                    r.state.to_string()
                };
                errors.push(format!(
                    "`--reopen {name}`: step `{name}` has no denied approval to re-open (it is {what})"
                ));
            }
            Some(_) if rolling => errors.push(format!(
                "`--reopen {name}`: the run is rolling back, so no step runs forward again"
            )),
            Some(_) => {}
        }
    }
    if errors.is_empty() {
        let mut steps: Vec<String> = Vec::new();
        for name in reopen {
            if !steps.contains(name) {
                steps.push(name.clone());
            }
        }
        Ok(steps)
    } else {
        Err(CliError::Invalid { errors, then: Some("nothing was changed".into()) })
    }
}
