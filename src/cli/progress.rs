//! What a person or a log sees while a run goes: one line per event, timestamped (text), or
//! one JSON object per line (`--log-format json`: each carries the run's id, and the last one
//! is `run_finished`), and the terminal prompt for manual steps.

use crate::exec::Stream;
use crate::exec::{Note, Observer};
use crate::journal::StepLogs;
use crate::model::fmt_duration;
use std::io::Write;
use std::sync::Mutex;

/// Prints notes as they come.
pub struct Lines {
    pub json: bool,
    out: Mutex<std::io::Stdout>,
}

impl Lines {
    pub fn new(json: bool) -> Lines {
        Lines { json, out: Mutex::new(std::io::stdout()) }
    }

    fn emit(&self, text: &str) {
        if super::prompt::print_above(text) {
            return;
        }
        let out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = out.lock();
        if self.json {
            let _ = writeln!(out, "{text}");
        } else {
            let _ = writeln!(out, "{}", crate::diag::escape::escape(text));
        }
        let _ = out.flush();
    }
}

fn hms() -> String {
    let now = crate::model::time::now();
    now.get(11..19).unwrap_or("").to_string()
}

fn dur(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        fmt_duration(ms / 1000 * 1000)
    }
}

impl Observer for Lines {
    fn note(&self, n: Note) {
        if self.json {
            trace(&n);
            return;
        }
        let mut line = String::new();
        self.render(&n, &mut line);
        self.emit(&line);
    }
}

impl Lines {
    /// The text line for a note.
    pub fn render(&self, n: &Note, out: &mut String) {
        let t = hms();
        let line = match n.clone() {
            Note::StepStarted { step, attempt, expected_ms } => {
                let exp = expected_ms
                    .map_or(String::new(), |e| format!(", expected {}", fmt_duration(e)));
                format!("{t}  ▶ {step} (attempt {attempt}{exp})")
            }
            Note::Output { step, stream, line } => {
                let mark = if stream == Stream::Stderr { "!" } else { "│" };
                format!("{t}    {step} {mark} {line}")
            }
            Note::StepSucceeded { step, took_ms, expected_ms, .. } => {
                let exp = expected_ms
                    .map_or(String::new(), |e| format!(" (expected {})", fmt_duration(e)));
                format!("{t}  ✓ {step} in {}{exp}", dur(took_ms))
            }
            Note::StepFailed { step, attempt, error, retry_in_ms } => {
                let retry =
                    retry_in_ms.map_or(String::new(), |w| format!("; retrying in {}", dur(w)));
                let which =
                    if attempt > 0 { format!(" (attempt {attempt})") } else { String::new() };
                format!("{t}  ✗ {step} failed{which}: {error}{retry}")
            }
            Note::StepSkipped { step, reason }
                if crate::journal::drill::skipped_by_drill(&reason) =>
            {
                format!("{t}  - {step} skipped ({reason})")
            }
            Note::StepSkipped { step, reason } => format!("{t}  - {step} skipped: {reason}"),
            Note::StepWaiting { step, reason } => {
                format!("{t}  ⏸ {step} waits for a person: {reason}")
            }
            Note::StepInterrupted { step } => format!("{t}  ■ {step} interrupted"),
            Note::Discuss { ask } => {
                let card = super::prompt::discuss_card(&ask);
                format!("{t}  ⏸ {} is up for discussion:{}", ask.step, card.trim_end())
            }
            Note::Discussed { step, by, issue, update, took_ms } => {
                let said = issue.map_or("ready".to_string(), |i| format!("issue found: {i}"));
                let update = update.map_or(String::new(), |u| format!("; update needed: {u}"));
                format!("{t}  ✓ {step} discussed by {by} in {}: {said}{update}", dur(took_ms))
            }
            Note::Overrun { step, expected_ms, elapsed_ms } => {
                format!(
                    "{t}  ⚠ {step} overran its expected {}: {}",
                    fmt_duration(expected_ms),
                    dur(elapsed_ms)
                )
            }
            Note::AwaitingApproval { step, missing, approved } => {
                let so_far: Vec<String> =
                    approved.iter().map(|(r, by)| format!("{r} by {by}")).collect();
                let so_far = if so_far.is_empty() {
                    String::new()
                } else {
                    format!(" (approved: {})", so_far.join(", "))
                };
                format!("{t}  ⏸ {step} waits for approval by {}{so_far}", missing.join(", "))
            }
            Note::ApprovalRecorded { step, message } => format!("{t}  ✔ {step}: {message}"),
            Note::ApprovalRefused { step, by, reason } => {
                // The reason says what was refused ("refused: the probe ..."), or is the
                // rule an approval broke.
                let reason = reason.strip_prefix("refused: ").unwrap_or(reason.as_str());
                format!("{t}  ⚠ {step}: the answer of {by} was refused: {reason}")
            }
            Note::Clock { elapsed_ms, projected_ms, rto_ms, over } => {
                let budget = match rto_ms {
                    Some(r) if over => format!(
                        " — OVER the {} budget by {}",
                        fmt_duration(r),
                        dur(projected_ms - r)
                    ),
                    Some(r) => {
                        format!(" of {} budget (slack {})", fmt_duration(r), dur(r - projected_ms))
                    }
                    None => String::new(),
                };
                format!(
                    "{t}    clock: elapsed {}, projected finish {}{budget}",
                    dur(elapsed_ms),
                    dur(projected_ms)
                )
            }
            Note::RollbackStarted { reason } => {
                format!("{t}  ↩ rolling back ({reason}): running steps finish, then each step that succeeded is undone")
            }
            Note::FinallyStarted { status } => {
                format!("{t}  ▸ the run ended {status}: its finally steps run now")
            }
            Note::UndoStarted { step } => format!("{t}  ↩ {step}: rollback started"),
            Note::UndoSucceeded { step, took_ms } => {
                format!("{t}  ✓ {step} undone in {}", dur(took_ms))
            }
            Note::UndoFailed { step, error } => format!("{t}  ✗ {step}: rollback failed: {error}"),
            Note::UndoSkipped { step, reason } => format!("{t}  - {step} not undone: {reason}"),
            Note::UndoWaiting { step, instructions } => {
                format!("{t}  ⏸ {step}: manual rollback waits for a person: {instructions}")
            }
            Note::UndoInterrupted { step } => format!("{t}  ■ {step}: rollback interrupted"),
            Note::Probed { step, seen, output, decided } => {
                let then = if decided { ": counted as succeeded" } else { "" };
                let out = if output.is_empty() { String::new() } else { format!(" ({output})") };
                format!("{t}  ? {step}: its probe says the effect is {seen}{out}{then}")
            }
        };
        out.push_str(&line);
    }
}

/// One `tracing` event per note; with the JSON subscriber installed by [`init_json`] each
/// becomes one JSON object per line on stdout.
fn trace(n: &Note) {
    use tracing::info;
    let rid = RUN_ID.get().map_or("", String::as_str);
    match n {
        Note::StepStarted { step, attempt, expected_ms: Some(e) } => {
            info!(run_id = %rid, event = "step_started", step = %step, attempt, expected_ms = e)
        }
        Note::StepStarted { step, attempt, expected_ms: None } => {
            info!(run_id = %rid, event = "step_started", step = %step, attempt)
        }
        Note::Output { step, stream, line } => {
            let stream = if *stream == Stream::Stderr { "stderr" } else { "stdout" };
            info!(run_id = %rid, event = "output", step = %step, stream, line = %line)
        }
        Note::StepSucceeded { step, attempt, took_ms, expected_ms: Some(e) } => {
            info!(run_id = %rid, event = "step_succeeded", step = %step, attempt, took_ms, expected_ms = e)
        }
        Note::StepSucceeded { step, attempt, took_ms, expected_ms: None } => {
            info!(run_id = %rid, event = "step_succeeded", step = %step, attempt, took_ms)
        }
        Note::StepFailed { step, attempt, error, retry_in_ms: Some(w) } => {
            info!(run_id = %rid, event = "step_failed", step = %step, attempt, error = %error, retry_in_ms = w)
        }
        Note::StepFailed { step, attempt, error, retry_in_ms: None } => {
            info!(run_id = %rid, event = "step_failed", step = %step, attempt, error = %error)
        }
        Note::StepSkipped { step, reason } => {
            info!(run_id = %rid, event = "step_skipped", step = %step, reason = %reason)
        }
        Note::StepWaiting { step, reason } => {
            info!(run_id = %rid, event = "step_waiting", step = %step, reason = %reason)
        }
        Note::StepInterrupted { step } => {
            info!(run_id = %rid, event = "step_interrupted", step = %step)
        }
        Note::Discuss { ask } => {
            let rollback = ask.rollback.as_deref().unwrap_or("");
            info!(run_id = %rid, event = "step_shown", step = %ask.step, action = %ask.action, rollback = %rollback)
        }
        Note::Discussed { step, by, issue, update, took_ms } => {
            let (issue, update) = (issue.as_deref().unwrap_or(""), update.as_deref().unwrap_or(""));
            info!(run_id = %rid, event = "step_discussed", step = %step, by = %by, issue = %issue, update = %update, took_ms)
        }
        Note::Overrun { step, expected_ms, elapsed_ms } => {
            tracing::warn!(run_id = %rid, event = "overrun", step = %step, expected_ms, elapsed_ms)
        }
        Note::AwaitingApproval { step, missing, approved } => {
            let missing = missing.join(",");
            let approved: Vec<String> =
                approved.iter().map(|(r, by)| format!("{r}={by}")).collect();
            let approved = approved.join(",");
            info!(run_id = %rid, event = "awaiting_approval", step = %step, missing = %missing, approved = %approved)
        }
        Note::ApprovalRecorded { step, message } => {
            info!(run_id = %rid, event = "approval_recorded", step = %step, message = %message)
        }
        Note::ApprovalRefused { step, by, reason } => {
            tracing::warn!(run_id = %rid, event = "approval_refused", step = %step, by = %by, reason = %reason)
        }
        Note::Clock { elapsed_ms, projected_ms, rto_ms: Some(r), over } => {
            info!(run_id = %rid, event = "clock", elapsed_ms, projected_ms, rto_ms = r, over_budget = over)
        }
        Note::Clock { elapsed_ms, projected_ms, rto_ms: None, over } => {
            info!(run_id = %rid, event = "clock", elapsed_ms, projected_ms, over_budget = over)
        }
        Note::RollbackStarted { reason } => {
            info!(run_id = %rid, event = "rollback_started", reason = %reason)
        }
        Note::UndoStarted { step } => info!(run_id = %rid, event = "undo_started", step = %step),
        Note::FinallyStarted { status } => {
            info!(run_id = %rid, event = "finally_started", status = %status)
        }
        Note::UndoSucceeded { step, took_ms } => {
            info!(run_id = %rid, event = "undo_succeeded", step = %step, took_ms)
        }
        Note::UndoFailed { step, error } => {
            info!(run_id = %rid, event = "undo_failed", step = %step, error = %error)
        }
        Note::UndoSkipped { step, reason } => {
            info!(run_id = %rid, event = "undo_skipped", step = %step, reason = %reason)
        }
        Note::UndoWaiting { step, instructions } => {
            info!(run_id = %rid, event = "undo_waiting", step = %step, instructions = %instructions)
        }
        Note::UndoInterrupted { step } => {
            info!(run_id = %rid, event = "undo_interrupted", step = %step)
        }
        Note::Probed { step, seen, output, decided } => {
            info!(run_id = %rid, event = "step_probed", step = %step, seen = %seen, output = %output, decided)
        }
    }
}

/// The run the JSON lines are about: every line carries its id.
static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The last JSON line of a runner: how its session left the run (`status`, as `drbook status`
/// words it) and the exit code the process ends with.
pub fn run_finished(run_id: &str, status: &str, outcome: super::Outcome) {
    let exit_code = super::exit_code(outcome);
    tracing::info!(run_id = %run_id, event = "run_finished", status = %status, exit_code);
}

/// Installs the JSON-lines subscriber for `--log-format json` (once per process), for the
/// lines of run `run_id`.
pub fn init_json(run_id: &str) {
    let _ = RUN_ID.set(run_id.to_string());
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .try_init();
}

/// Keeps each step's output (already scrubbed of secrets) in `RUN_DIR/logs/STEP.log`, up to
/// [`LOG_LIMIT`] bytes per step, and passes every note on.
pub struct Tee {
    pub inner: std::sync::Arc<dyn Observer>,
    pub logs: StepLogs,
    files: Mutex<std::collections::HashMap<String, (std::fs::File, u64)>>,
    /// A header line per step, written before the next line kept for it.
    headers: Mutex<std::collections::HashMap<String, String>>,
}

/// The most output kept per step; the rest is shown live but not kept.
pub const LOG_LIMIT: u64 = 16 << 20;

impl Tee {
    pub fn new(inner: std::sync::Arc<dyn Observer>, logs: StepLogs) -> Tee {
        Tee {
            inner,
            logs,
            files: Mutex::new(std::collections::HashMap::new()),
            headers: Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn header(&self, step: &str, text: String) {
        let mut h = self.headers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        h.insert(step.to_string(), text);
    }

    fn keep(&self, step: &str, text: &str) {
        let header = {
            let mut h = self.headers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            h.remove(step)
        };
        if let Some(header) = header {
            self.write(step, &header);
        }
        self.write(step, text);
    }

    fn write(&self, step: &str, text: &str) {
        let mut files = self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !files.contains_key(step) {
            let Ok(f) = self.logs.open_step(step) else { return };
            let len = f.metadata().map_or(0, |m| m.len());
            files.insert(step.to_string(), (f, len));
        }
        if let Some((f, len)) = files.get_mut(step) {
            if *len < LOG_LIMIT {
                let line = format!("{text}\n");
                if f.write_all(line.as_bytes()).is_ok() {
                    *len += line.len() as u64;
                }
            }
        }
    }
}

impl Observer for Tee {
    fn note(&self, n: Note) {
        match &n {
            Note::Output { step, stream, line } => {
                let mark = if *stream == Stream::Stderr { "!" } else { "|" };
                self.keep(step, &format!("{} {mark} {line}", crate::model::time::now()));
            }
            // Headers wait for something to follow them: a step that prints nothing and does
            // not fail leaves no log file (creating one per step costs more than the step).
            Note::StepStarted { step, attempt, .. } => {
                self.header(step, format!("{} == attempt {attempt}", crate::model::time::now()));
            }
            Note::StepFailed { step, attempt, error, .. } => {
                self.keep(
                    step,
                    &format!("{} == attempt {attempt} failed: {error}", crate::model::time::now()),
                );
            }
            Note::UndoStarted { step } => {
                self.header(step, format!("{} == rollback", crate::model::time::now()));
            }
            Note::UndoFailed { step, error } => {
                self.keep(
                    step,
                    &format!("{} == rollback failed: {error}", crate::model::time::now()),
                );
            }
            _ => {}
        }
        self.inner.note(n);
    }
}
