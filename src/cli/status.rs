//! `drbook status [RUN]`: every run in the state dir (id, runbook, status, kind, start, achieved
//! RTO), or one run's steps with their approvals, rollbacks, what waits for a person and the
//! run's audit trail; as text or JSON on standard output. It only reads: the state dir is
//! never created, no lock is taken, and a run whose runner is gone shows as interrupted, as
//! does each step it left running, with what `resume` will do with it (`exec::on_resume`:
//! rerun it, re-attach, or ask a person; the runbook, read quietly, says which) and, when it
//! declares `objectives { }`, how each service stands against its own `rto`.

use super::achieved;
use super::args::StatusFormat;
use super::outcome::{CliError, Outcome};
use super::term::eprint;
use crate::diag::escape::Escaped;
use crate::exec::OnResume;
use crate::journal::{RunState, RunStatus, StepRecord, StepState, Store};
use crate::model::{fmt_duration, hash, Runbook};
use std::io::Write;
use std::path::PathBuf;

/// What `status` is asked.
pub struct StatusRequest {
    pub state_dir: PathBuf,
    /// One run; without it, every run is listed.
    pub run_id: Option<String>,
    pub format: StatusFormat,
}

pub fn status(asked: &StatusRequest) -> Result<Outcome, CliError> {
    let (run_id, format) = (asked.run_id.as_deref(), asked.format);
    let store = Store::at(&asked.state_dir);
    // Text shows journaled names and command output: control characters as visible escapes.
    let mut out: Box<dyn Write> = match format {
        StatusFormat::Json => Box::new(std::io::stdout().lock()),
        _ => Box::new(Escaped::new(std::io::stdout().lock())),
    };
    match run_id {
        None => {
            let ids = store.list_runs()?;
            let mut rows = Vec::new();
            for id in ids {
                match store.read_run(&id) {
                    Ok((s, info)) => rows.push((status_word(&s, info.live), s)),
                    Err(e) => eprint(&format!("warning: run `{id}`: {e}")),
                }
            }
            if format == StatusFormat::Json {
                let runs: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(st, s)| {
                        let got = achieved::ResultsReport::new(&achieved::results_now(s));
                        serde_json::json!({"run_id": s.run_id, "runbook": s.runbook, "status": st,
                        "kind": kind(s), "started_at": s.started_at, "achieved_rto_seconds": got.achieved_rto_seconds,
                        "rto_met": got.rto_met, "stopped_after_seconds": got.stopped_after_seconds})
                    })
                    .collect();
                let _ = writeln!(out, "{}", serde_json::json!({ "runs": runs }));
            } else {
                let _ = writeln!(
                    out,
                    "{:<44} {:<24} {:<12} {:<10} {:<25} RTO",
                    "RUN", "RUNBOOK", "STATUS", "KIND", "STARTED"
                );
                for (st, s) in &rows {
                    let rto = achieved::rto_cell(&achieved::results_now(s));
                    let _ = writeln!(
                        out,
                        "{:<44} {:<24} {:<12} {:<10} {:<25} {rto}",
                        s.run_id,
                        s.runbook,
                        st,
                        kind(s),
                        s.started_at
                    );
                }
            }
        }
        Some(id) => {
            let (s, info) = store.read_run(id)?;
            let word = status_word(&s, info.live);
            let resume = Resume::new(&s, info.live);
            if format == StatusFormat::Json {
                let steps: Vec<serde_json::Value> = s
                    .steps
                    .iter()
                    .map(|(id, r)| {
                        let undo = r.undo.as_ref().map(|u| {
                            serde_json::json!({"started_at": u.started_at, "finished_at": u.finished_at,
                            "duration_ms": u.duration_ms, "error": u.error, "reason": u.reason})
                        });
                        let approvals: Vec<serde_json::Value> = r.approvals.iter().map(|a| serde_json::json!({
                            "role": a.role, "by": a.by, "at": a.at, "how": a.how, "proof": a.proof(), "comment": a.comment})).collect();
                        let alive = leftover(r, info.live).map(|(_, a)| a);
                        serde_json::json!({"id": id, "state": step_word(r, info.live), "attempts": r.attempts,
                        "process_alive": alive, "on_resume": resume.of(id, r).flatten(),
                        "duration_ms": r.duration_ms, "error": r.error, "captures": r.captures,
                        "skip_reason": r.skipped_reason.as_ref().filter(|_| r.state == StepState::Skipped),
                        "gate": r.gate.as_ref().map(|g| serde_json::json!({"roles": g.roles, "requested_at": g.requested_at, "timeout_ms": g.timeout_ms})),
                        "missing_roles": r.missing_roles(), "approvals": approvals, "undo": undo,
                        "probe": r.probe, "decision_forced": r.forced,
                        "waiting_for": (r.state == StepState::Waiting).then(|| {
                            if r.gate.is_some() && !r.gate_satisfied() {
                                Some(format!("approval by {}", r.missing_roles().join(", ")))
                            } else {
                                r.waiting_reason.clone()
                            }
                        }).flatten()})
                    })
                    .collect();
                let got = achieved::results_now(&s);
                let rollback = got.rollback.as_ref().map(|p| {
                    serde_json::json!({"at": p.started_at, "reason": p.reason, "by": p.by,
                    "finished_at": p.finished_at, "outcome": p.outcome.as_str(),
                    "duration_seconds": achieved::secs(p.duration_ms)})
                });
                let drill = crate::journal::drill::drill_result(&s, crate::model::time::now_ms());
                let mut v = serde_json::json!({"run_id": s.run_id, "runbook": s.runbook, "status": word,
                    "kind": kind(&s), "drill": drill,
                    "started_at": s.started_at, "finished_at": s.finished_at,
                    "rollback": rollback, "steps": steps, "audit": s.audit,
                    "journal": super::verify::journal_json(&info)});
                super::tabletop::add_json(&mut v, &s);
                let services = achieved::service_reports(&services_now(&s));
                if let (Some(v), false) = (v.as_object_mut(), services.is_empty()) {
                    v.insert("services".into(), serde_json::json!(services));
                }
                if let (Some(v), Ok(serde_json::Value::Object(r))) =
                    (v.as_object_mut(), serde_json::to_value(achieved::ResultsReport::new(&got)))
                {
                    v.extend(r);
                }
                let _ = writeln!(out, "{v}");
            } else {
                let live = info.runner_pid.map_or(String::new(), |p| format!(" (runner pid {p})"));
                let _ = writeln!(
                    out,
                    "run {}  {}  {word}{live}\nkind {}\nstarted {}",
                    s.run_id,
                    s.runbook,
                    kind_line(&s),
                    s.started_at
                );
                if let Some(t) = &s.trigger {
                    let _ = writeln!(out, "{}", super::runreport::trigger_line(t));
                }
                let _ = writeln!(out, "{}", super::verify::journal_line(&info));
                if let Some(r) = &s.rollback {
                    let _ =
                        writeln!(out, "rolling back since {} ({}, by {})", r.at, r.reason, r.by);
                }
                for (id, r) in &s.steps {
                    let state = super::tabletop::step_word(&s, r)
                        .unwrap_or_else(|| shown_state(r, info.live));
                    let took = r
                        .duration_ms
                        .map_or(String::new(), |d| format!("  {}", fmt_duration(d / 1000 * 1000)));
                    let mut err = r.error.as_ref().map_or(String::new(), |e| format!("  — {e}"));
                    if let Some(e) = r.undo.as_ref().and_then(|u| u.error.as_ref()) {
                        err.push_str(&format!("  — rollback: {e}"));
                    }
                    if let Some((pid, true)) = leftover(r, info.live) {
                        err.push_str(&format!("  — process still running (pid {pid})"));
                    }
                    if let Some(Some(what)) = resume.of(id, r) {
                        err.push_str(&format!(
                            "  — {}",
                            will(what, resume.otherwise(id, r), r, resume.rolling)
                        ));
                    }
                    if r.stays_denied()
                        && (s.status.is_unfinished() || s.status == RunStatus::Failed)
                    {
                        err.push_str(&format!(
                            "  — stays denied (`{}` asks again)",
                            super::again::invocation(&asked.state_dir)
                                .command(&format!("resume {} --reopen {id}", s.run_id))
                        ));
                    }
                    let _ =
                        writeln!(out, "  {id:<28} {state:<12} attempts {}{took}{err}", r.attempts);
                    if r.state == StepState::Failed && !r.captures.is_empty() {
                        let c = super::runreport::captured(&r.captures);
                        let _ = writeln!(out, "  {:<28} captured: {c}", "");
                    }
                    if let Some(p) = &r.probe {
                        let out_text = if p.output.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", p.output)
                        };
                        let decided = if p.decided { "; counted as succeeded" } else { "" };
                        let _ = writeln!(
                            out,
                            "  {:<28} probe: effect {}{out_text} at {}{decided}",
                            "",
                            p.seen.as_str(),
                            p.at
                        );
                    }
                    if r.forced {
                        let _ =
                            writeln!(out, "  {:<28} decided with --force against its probe", "");
                    }
                    if r.gate.is_some()
                        && (r.state == StepState::Waiting || !r.approvals.is_empty())
                    {
                        let given: Vec<String> = r
                            .approvals
                            .iter()
                            .map(|a| {
                                format!(
                                    "{} by {} ({}, {})",
                                    a.role,
                                    a.by,
                                    a.how.as_str(),
                                    a.proof()
                                )
                            })
                            .collect();
                        let missing = r.missing_roles();
                        let mut parts = Vec::new();
                        if !given.is_empty() {
                            parts.push(format!("approved: {}", given.join(", ")));
                        }
                        if !missing.is_empty() && r.state == StepState::Waiting {
                            parts.push(format!("missing: {}", missing.join(", ")));
                        }
                        let _ = writeln!(out, "  {:<28} {}", "", parts.join("; "));
                    }
                }
                let got = achieved::results_now(&s);
                let (rto, rpo) = super::runreport::measures(s.drill.as_ref());
                let lines = std::iter::once(achieved::rto_line(&got))
                    .filter(|_| rto)
                    .chain(achieved::service_lines(&services_now(&s)))
                    .chain(achieved::rpo_lines(&got).into_iter().filter(|_| rpo))
                    .chain(achieved::rollback_phase_line(&got));
                for l in lines {
                    let _ = writeln!(out, "{l}");
                }
                // A finished run waits for nobody; a step stopped between a failed attempt and
                // its retry when the run turned to rolling back has nothing to decide.
                let rolling = s.rollback.is_some();
                let pending: Vec<&str> = s
                    .steps
                    .iter()
                    .filter(|_| s.status.is_unfinished())
                    .filter(|(id, r)| {
                        let halted = rolling && r.error.is_some() && r.process.is_none();
                        r.state == StepState::Waiting
                            || r.deciding
                            || match resume.of(id, r) {
                                Some(what) => what == Some(OnResume::Ask),
                                None => {
                                    (r.state == StepState::Interrupted && !halted)
                                        || (matches!(
                                            r.state,
                                            StepState::Running | StepState::Undoing
                                        ) && !info.live)
                                }
                            }
                    })
                    .map(|(id, _)| id.as_str())
                    .collect();
                let _ = write!(out, "{}", super::tabletop::findings_text(&s));
                if !pending.is_empty() && s.is_tabletop() {
                    let _ =
                        writeln!(out, "waiting for the team to discuss: {}", pending.join(", "));
                } else if !pending.is_empty() {
                    let _ =
                        writeln!(out, "waiting on a person or a decision: {}", pending.join(", "));
                }
                let audit = super::audit::text(&s.audit);
                if !audit.is_empty() {
                    let _ = write!(out, "\n{audit}");
                }
            }
        }
    }
    Ok(Outcome::Succeeded)
}

/// Each service of the run's `objectives { }`, from its runbook read quietly (none when it
/// cannot be read, or for a component or tabletop drill: those restore nothing).
fn services_now(s: &RunState) -> Vec<crate::journal::services::ServiceResult> {
    if !super::runreport::measures(s.drill.as_ref()).0 {
        return Vec::new();
    }
    achieved::services_of(s, super::report_cmd::runbook_of(s, None).as_ref())
}

/// For a step (or rollback) in flight when its runner died: its recorded process, and whether
/// anything of it still runs. `None` while a runner drives the run, or with no process record.
fn leftover(r: &crate::journal::StepRecord, runner_live: bool) -> Option<(u32, bool)> {
    if runner_live {
        return None;
    }
    let p = match r.state {
        StepState::Running | StepState::Interrupted => r.process,
        StepState::Undoing => r.undo.as_ref().and_then(|u| u.process),
        _ => None,
    }?;
    Some((p.0, crate::exec::leftover::alive(p)))
}

/// A step's state as shown: one the journal calls running whose runner is gone was
/// interrupted (a crash), like its run.
fn step_word(r: &StepRecord, live: bool) -> &'static str {
    match r.state {
        StepState::Running if !live => "interrupted",
        other => other.as_str(),
    }
}

/// `run`, or the drill's type.
fn kind(s: &RunState) -> &'static str {
    s.drill.as_ref().map_or("run", |d| d.kind.as_str())
}

/// `run`, `component drill`, `partial drill (targets: a, b)`.
fn kind_line(s: &RunState) -> String {
    match &s.drill {
        None => "run".into(),
        Some(d) if d.targets.is_empty() => format!("{} drill", d.kind),
        Some(d) => format!("{} drill (targets: {})", d.kind, d.targets.join(", ")),
    }
}

/// A step's state in the text view: `skipped (drill)` for a step outside a drill.
fn shown_state(r: &StepRecord, live: bool) -> &'static str {
    let by_drill = r.skipped_reason.as_deref().is_some_and(crate::journal::drill::skipped_by_drill);
    if r.state == StepState::Skipped && by_drill {
        return "skipped (drill)";
    }
    step_word(r, live)
}

/// What resume will do with the steps a dead runner left in flight, from the run's runbook.
struct Resume {
    /// The runbook, when it still reads and checks; no runner drives the run.
    rb: Option<Runbook>,
    rolling: bool,
    /// Each step's definition hash now, to trust only steps unchanged since the run started.
    hashes: Vec<(String, String)>,
    started: Vec<(String, String)>,
}

impl Resume {
    fn new(s: &RunState, live: bool) -> Resume {
        let in_flight = s.steps.iter().any(|(_, r)| {
            matches!(r.state, StepState::Running | StepState::Interrupted | StepState::Undoing)
        });
        let rb = if live || !in_flight { None } else { super::report_cmd::runbook_of(s, None) };
        let rolling =
            rb.as_ref().map_or(s.rollback.is_some(), |rb| super::decide::will_roll_back(s, rb));
        let hashes = rb.as_ref().map(|rb| hash::step_hashes(&rb.steps)).unwrap_or_default();
        Resume { rb, rolling, hashes, started: s.step_hashes.clone() }
    }

    /// `Some(what resume does)` when it is known (`Some(None)`: nothing to settle); `None`
    /// while a runner drives the run, or when the runbook changed or cannot be read.
    fn of(&self, id: &str, r: &StepRecord) -> Option<Option<OnResume>> {
        let rb = self.rb.as_ref()?;
        let same =
            self.hashes.iter().find(|(s, _)| s == id) == self.started.iter().find(|(s, _)| s == id);
        let step = rb.steps.iter().find(|st| st.id == id).filter(|_| same)?;
        Some(crate::exec::on_resume(step, r, self.rolling))
    }

    /// What resume does with a probed step once its probe did not find the effect in place.
    fn otherwise(&self, id: &str, r: &StepRecord) -> Option<OnResume> {
        let step = self.rb.as_ref()?.steps.iter().find(|st| st.id == id)?;
        crate::exec::after_probe(step, r, self.rolling)
    }
}

/// What resume will do, as `status` says it; `otherwise`: what follows a probe that does not
/// find the effect in place.
fn will(what: OnResume, otherwise: Option<OnResume>, r: &StepRecord, rolling: bool) -> String {
    let rollback = r.state == StepState::Undoing;
    match what {
        OnResume::Rerun => "resume reruns it (idempotent)".into(),
        OnResume::Reattach => "resume re-attaches to its SSM operation".into(),
        OnResume::Probe => {
            let then = match otherwise {
                Some(OnResume::Rerun) => "reruns it (idempotent)",
                Some(OnResume::Reattach) => "re-attaches to its SSM operation",
                _ => "asks a person, showing what the probe saw",
            };
            format!("resume runs its verify probe first: effect in place, it succeeded; otherwise resume {then}")
        }
        OnResume::Ask if rollback => {
            "its rollback was interrupted: resume asks a person (done|fail)".into()
        }
        OnResume::Ask if rolling => "resume asks a person whether it acted (done|fail)".into(),
        OnResume::Ask => "resume asks a person whether it acted (retry|done|fail)".into(),
    }
}

/// A run the journal calls running but whose runner is gone was interrupted (a crash).
fn status_word(s: &RunState, live: bool) -> &'static str {
    match s.status {
        RunStatus::Running if !live => "interrupted",
        RunStatus::Running => "running",
        RunStatus::Paused => "paused",
        RunStatus::Interrupted => "interrupted",
        other => other.as_str(),
    }
}
