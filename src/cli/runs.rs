//! `drbook run`, `drbook resume`, `drbook status`: load and check the runbook, open the
//! journal, hand the DAG to the executor, print the report, choose the exit code. The helpers
//! here are shared with `drbook rollback` (`super::undo`).

use super::args::{LogFormat, RunFlags, StatusFormat};
use super::decide::{refuse_retries, settle_steps};
use super::progress::Lines;
use super::prompt::{self, Terminal};
use super::runreport;
use super::Outcome;
use crate::check::Options;
use crate::exec::simulate;
use crate::exec::Aws;
use crate::exec::AwsOptions;
use crate::exec::Secrets;
use crate::exec::{execute, Finish, Job, Person};
use crate::journal::{
    self, Decision, Event, JournalError, RunState, RunStatus, Sink, StepState, Store,
};
use crate::model::time as clock;
use crate::model::{fmt_duration, Action, Runbook};
use crate::plan::PlanAction;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) fn eprint(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// The person acting: `--as`, else `DRBOOK_USER`, else the OS user.
pub fn identity(as_user: Option<&str>) -> String {
    as_user
        .map(str::to_string)
        .or_else(|| std::env::var("DRBOOK_USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// `--approve STEP` must name a gated step: a typo never passes silently.
fn check_approve_flags(rb: &Runbook, flags: &RunFlags) -> bool {
    let mut ok = true;
    for name in &flags.approve {
        match rb.steps.iter().find(|s| &s.id == name) {
            Some(s) if s.approval.is_some() => {}
            Some(_) => {
                eprint(&format!("error: `--approve {name}`: step `{name}` has no approval gate"));
                ok = false;
            }
            None => {
                let hint = crate::diag::did_you_mean(name, rb.steps.iter().map(|s| s.id.as_str()))
                    .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                eprint(&format!("error: `--approve {name}`: there is no step `{name}`{hint}"));
                ok = false;
            }
        }
    }
    ok
}

/// The checked runbook, its graph and param values; diagnostics printed on failure.
pub(super) struct Loaded {
    pub(super) rb: Arc<Runbook>,
    /// The SSM client, once [`connect_aws`] found the runbook needs one.
    pub(super) aws: Option<Arc<Aws>>,
    dag: Arc<crate::graph::Dag>,
    values: std::collections::HashMap<String, crate::model::ParamValue>,
    bytes: Vec<u8>,
    abs: PathBuf,
}

pub(super) fn load(file: &Path, params: Vec<(String, String)>, color: bool) -> Option<Loaded> {
    let opts =
        Options { today: super::commands::today(), params, require_params: true, strict: false };
    let (_, checked) = super::commands::checked_runbook(file, &opts, color)?;
    let bytes = std::fs::read(file).ok()?;
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let (Some(rb), Some(dag)) = (checked.runbook, checked.dag) else { return None };
    Some(Loaded {
        aws: None,
        rb: Arc::new(rb),
        dag: Arc::new(dag),
        values: checked.values,
        bytes,
        abs,
    })
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Each step's definition hash: everything the checker made of the step (action, env,
/// captures, checks, retry...), without source positions, with `needs` by id.
fn step_hashes(l: &Loaded) -> Vec<(String, String)> {
    l.rb.steps
        .iter()
        .map(|s| {
            let needs: Vec<&str> = s.needs.iter().map(|&i| l.rb.steps[i].id.as_str()).collect();
            let mut def = s.clone();
            def.span = crate::diag::Span::default();
            def.needs.clear();
            (s.id.clone(), sha256(format!("{def:?}|needs={needs:?}").as_bytes()))
        })
        .collect()
}

pub(super) fn secrets_for(l: &Loaded) -> Option<Secrets> {
    let base = l.abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let ssm = |name: &str| match (&l.aws, runtime()) {
        (Some(aws), Some(rt)) => rt.block_on(aws.get_parameter(name)),
        _ => Err("AWS is not configured".to_string()),
    };
    match Secrets::resolve(&l.rb.secrets, |v| std::env::var(v).ok(), ssm, &base) {
        Ok(s) => Some(s),
        Err(errs) => {
            for e in errs {
                eprint(&format!("error: {e}"));
            }
            eprint("nothing was run: every secret must resolve before the first step starts");
            None
        }
    }
}

/// Whether a person can be asked at this terminal.
pub(super) fn interactive(flags: &RunFlags) -> bool {
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    tty && !flags.non_interactive && std::env::var_os("CI").is_none()
}

pub(super) fn person(
    flags: &RunFlags,
    screen: Option<Arc<dyn prompt::Screen>>,
) -> Option<Arc<dyn Person>> {
    interactive(flags).then(|| Arc::new(Terminal { screen }) as Arc<dyn Person>)
}

/// The process's one tokio runtime: AWS clients made before a run are used by its executor.
/// It is never dropped, so a prompt left blocking on standard input never holds up the exit.
pub(super) fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RT: std::sync::OnceLock<Option<tokio::runtime::Runtime>> = std::sync::OnceLock::new();
    let rt = RT.get_or_init(|| {
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => Some(rt),
            Err(e) => {
                eprint(&format!("error: cannot start the executor: {e}"));
                None
            }
        }
    });
    rt.as_ref()
}

/// Whether the runbook reaches AWS: an `ssm` action or rollback, or an `ssm()` secret.
fn needs_aws(rb: &Runbook) -> bool {
    let ssm = |a: &Action| {
        matches!(
            a,
            Action::SsmCommand { .. } | Action::SsmAutomation { .. } | Action::SsmPut { .. }
        )
    };
    rb.steps.iter().any(|s| {
        s.action.as_ref().is_some_and(ssm) || s.rollback.as_ref().is_some_and(|r| ssm(&r.action))
    }) || rb.secrets.iter().any(|s| matches!(s.source, crate::model::SecretSource::Ssm(_)))
}

/// Connects to AWS when the runbook needs it; on failure says why and that nothing ran.
pub(super) fn connect_aws(l: &mut Loaded, flags: &RunFlags) -> bool {
    if !needs_aws(&l.rb) {
        return true;
    }
    let Some(rt) = runtime() else { return false };
    let opts = AwsOptions { profile: flags.aws_profile.clone(), region: flags.aws_region.clone() };
    match rt.block_on(Aws::connect(&opts)) {
        Ok(aws) => {
            l.aws = Some(Arc::new(aws));
            true
        }
        Err(e) => {
            eprint(&format!("error: {e}"));
            eprint("nothing was run: this runbook uses AWS Systems Manager");
            false
        }
    }
}

pub(super) fn store(dir: &Path) -> Option<Store> {
    match Store::open(dir) {
        Ok(s) => Some(s),
        Err(e) => {
            eprint(&format!("error: {e}"));
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    file: &Path,
    params: Vec<(String, String)>,
    flags: &RunFlags,
    run_id: Option<String>,
    since: Option<&str>,
    allow_concurrent: bool,
    dry_run: bool,
    user: String,
    color: bool,
) -> Outcome {
    let Some(mut l) = load(file, params, color) else { return Outcome::Invalid };
    if !check_approve_flags(&l.rb, flags) {
        eprint("nothing was run");
        return Outcome::Invalid;
    }
    let parallel = flags.parallel.unwrap_or(l.rb.parallel as usize);
    if dry_run {
        return dry(&l, parallel);
    }
    let clock_start = match since {
        Some(s) => {
            match clock::parse(s) {
                Some(ms) => ms,
                None => {
                    eprint(&format!("error: `--since {s}` is not an RFC 3339 timestamp (like 2026-11-23T21:40:00Z)"));
                    return Outcome::Invalid;
                }
            }
        }
        None => clock::now_ms(),
    };
    if !connect_aws(&mut l, flags) {
        return Outcome::Invalid;
    }
    let Some(secrets) = secrets_for(&l) else { return Outcome::Invalid };
    let Some(store) = store(&flags.state_dir) else { return Outcome::Invalid };
    // Checking for an unfinished run and creating the new one happen under one state-dir
    // lock, so two runners started at the same instant cannot both pass the check.
    let starting = match start_lock(&store) {
        Ok(f) => f,
        Err(e) => {
            eprint(&format!("error: cannot lock `{}`: {e}", store.root().display()));
            return Outcome::Invalid;
        }
    };
    if !allow_concurrent {
        if let Some(other) = unfinished_run_of(&store, &l.abs) {
            eprint(&format!(
                "error: run `{other}` of this runbook is unfinished; `drbook resume {other}` continues it (or pass --allow-concurrent)"
            ));
            return Outcome::Invalid;
        }
    }
    let now = clock::now();
    let named = run_id.is_some();
    let mut id = match run_id {
        Some(id) if !journal::valid_run_id(&id) => {
            eprint(&format!(
                "error: `{id}` is not a valid run id (letters, digits, `.`, `_`, `-`)"
            ));
            return Outcome::Invalid;
        }
        Some(id) => id,
        None => journal::new_run_id(&l.rb.name, &now),
    };
    let make_first = |id: &str| Event::RunStarted {
        v: journal::VERSION,
        run_id: id.to_string(),
        runbook: l.rb.name.clone(),
        file: file.display().to_string(),
        path: l.abs.display().to_string(),
        content_hash: sha256(&l.bytes),
        step_hashes: step_hashes(&l),
        params: l.values.iter().map(|(k, v)| (k.clone(), v.render())).collect(),
        at: now.clone(),
        clock_start: clock::format(clock_start),
        rto_ms: l.rb.rto,
        rpo_ms: l.rb.rpo,
        user: user.clone(),
        pid: std::process::id(),
    };
    // A generated id collides only if two runs start in the same second and draw the same
    // suffix: draw again. A name given with --run-id is never changed.
    let mut tries = 0;
    let handle = loop {
        match store.create_run(&id, &make_first(&id)) {
            Ok(h) => break h,
            Err(JournalError::RunExists(_)) if !named && tries < 5 => {
                tries += 1;
                id = journal::new_run_id(&l.rb.name, &clock::now());
            }
            Err(JournalError::RunExists(_)) => {
                eprint(&format!(
                    "error: a run named `{id}` already exists; resume it with `drbook resume {id}`"
                ));
                return Outcome::Invalid;
            }
            Err(e) => {
                eprint(&format!("error: {e}"));
                return Outcome::Invalid;
            }
        }
    };
    drop(starting); // admitted: the next runner sees this run as unfinished
    say(
        flags,
        &format!(
            "run {id}: {} ({} steps, budget {})",
            l.rb.name,
            l.rb.steps.len(),
            l.rb.rto.map_or("none".into(), fmt_duration)
        ),
    );
    drive(&store, &id, &l, Box::new(handle), secrets, flags, clock_start, user, Vec::new())
}

pub(super) fn say(flags: &RunFlags, text: &str) {
    if flags.log_format == LogFormat::Text {
        let _ = writeln!(std::io::stdout(), "{text}");
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn drive(
    store: &Store,
    id: &str,
    l: &Loaded,
    journal: Box<dyn Sink + Send>,
    secrets: Secrets,
    flags: &RunFlags,
    clock_start: i64,
    user: String,
    keep_failed: Vec<usize>,
) -> Outcome {
    let Some(rt) = runtime() else { return Outcome::Failed };
    let job = Job {
        aws: l.aws.clone(),
        rb: l.rb.clone(),
        dag: l.dag.clone(),
        values: Arc::new(l.values.clone()),
        secrets: Arc::new(secrets),
        run_id: id.to_string(),
        base_dir: l.abs.parent().map(Path::to_path_buf).unwrap_or_default(),
        parallel: flags.parallel.unwrap_or(l.rb.parallel as usize),
        clock_start_ms: clock_start,
        user,
        keep_failed,
        run_dir: Some(store.run_dir(id)),
        approve: flags.approve.clone(),
        wait: flags.wait,
    };
    let tty = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
    let live = (tty && flags.log_format == LogFormat::Text).then(|| {
        let st = journal.state();
        let done = st
            .steps
            .iter()
            .filter(|(_, r)| matches!(r.state, StepState::Succeeded | StepState::Skipped))
            .count();
        Arc::new(super::live::Live::new(l.rb.steps.len(), l.rb.rto, clock_start, done))
    });
    if flags.log_format == LogFormat::Json {
        super::progress::init_json();
    }
    let observer: Arc<dyn crate::exec::Observer> = match &live {
        Some(v) => v.clone(),
        None => Arc::new(Lines::new(flags.log_format == LogFormat::Json)),
    };
    let observer = Arc::new(super::progress::Tee::new(observer, store.run_dir(id).join("logs")));
    let screen = live.clone().map(|v| v as Arc<dyn prompt::Screen>);
    let finish = rt.block_on(execute(job, journal, observer, person(flags, screen)));
    // A prompt abandoned by Ctrl-C still blocks on stdin in a helper thread: do not wait for it.
    if let Some(v) = live {
        v.finish();
    }
    let finish = match finish {
        Ok(f) => f,
        Err(e) => {
            eprint(&format!("error: {e}"));
            return Outcome::Failed;
        }
    };
    let state = match store.read_run(id) {
        Ok((s, _)) => s,
        Err(e) => {
            eprint(&format!("error: {e}"));
            return Outcome::Failed;
        }
    };
    let report = runreport::build(&state, &l.rb);
    if flags.log_format == LogFormat::Text {
        let _ = write!(std::io::stdout(), "{}", runreport::text(&report));
    }
    if let Some(path) = &flags.report {
        if let Err(e) = runreport::write(&report, path) {
            eprint(&format!("error: cannot write the report to `{}`: {e}", path.display()));
        }
    }
    match finish {
        Finish::Succeeded if flags.strict_rto && report.rto_met == Some(false) => {
            eprint("the run succeeded but missed its RTO (--strict-rto)");
            Outcome::MissedRto
        }
        Finish::Succeeded => Outcome::Succeeded,
        Finish::Failed(why) => {
            eprint(&format!(
                "failed: {why}\nfix the cause, then `drbook resume {id}` retries the failed steps"
            ));
            Outcome::Failed
        }
        Finish::Paused(why) => {
            eprint(&format!(
                "paused: {why}\n`drbook resume {id}` continues once a person has acted"
            ));
            Outcome::Paused
        }
        Finish::Interrupted(sig) => {
            eprint(&format!("interrupted by {sig}; `drbook resume {id}` continues the run"));
            Outcome::Interrupted
        }
        Finish::RolledBack(what) => {
            let why = state.rollback.as_ref().map_or(String::new(), |r| format!(" ({})", r.reason));
            eprint(&format!("rolled back{why}: {what}"));
            Outcome::RolledBack
        }
        Finish::RollbackFailed(what) => {
            eprint(&format!(
                "rollback failed: {what}\nthe run is over; what remains must be undone by hand (`drbook status {id}` shows each step)"
            ));
            Outcome::RollbackFailed
        }
    }
}

fn dry(l: &Loaded, parallel: usize) -> Outcome {
    let slots = simulate(&l.rb, &l.dag, parallel);
    // What `http`, `notify` and `ssm` steps would send, as the plan shows it: params filled
    // in, secrets as `<secret:NAME>` (a dry run never resolves them).
    let plan = crate::plan::build(&l.rb, &l.dag, &l.values, Vec::new());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "dry run of {} (parallel {parallel}): nothing is executed, no state is written\n",
        l.rb.name
    );
    for s in &slots {
        let step = &l.rb.steps[s.step];
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
    let verdict = match l.rb.rto {
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

/// An exclusive lock on `STATE_DIR/start.lock`, held while a new run is admitted.
fn start_lock(store: &Store) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(store.root().join("start.lock"))?;
    f.lock()?;
    Ok(f)
}

/// An unfinished (running, paused or interrupted) run of the same runbook file.
fn unfinished_run_of(store: &Store, abs: &Path) -> Option<String> {
    let ids = store.list_runs().ok()?;
    ids.into_iter().find(|id| match store.read_run(id) {
        Ok((s, _)) => {
            s.path == abs.display().to_string()
                && matches!(
                    s.status,
                    RunStatus::Running | RunStatus::Paused | RunStatus::Interrupted
                )
        }
        Err(_) => false,
    })
}

pub(super) fn parse_decisions(raw: &[String]) -> Result<BTreeMap<String, Decision>, String> {
    let mut out = BTreeMap::new();
    for r in raw {
        let (step, d) = r
            .split_once('=')
            .ok_or_else(|| format!("`--interrupted {r}` must be STEP=retry|done|fail"))?;
        let d = match d.trim() {
            "retry" => Decision::Retry,
            "done" | "mark-done" => Decision::Done,
            "fail" => Decision::Fail,
            other => return Err(format!("`{other}` is not a decision; use retry, done or fail")),
        };
        out.insert(step.trim().to_string(), d);
    }
    Ok(out)
}

pub fn resume(
    run_id: &str,
    flags: &RunFlags,
    file: Option<&Path>,
    interrupted: &[String],
    allow_edited: bool,
    user: String,
    color: bool,
) -> Outcome {
    let decisions = match parse_decisions(interrupted) {
        Ok(d) => d,
        Err(e) => {
            eprint(&format!("error: {e}"));
            return Outcome::Invalid;
        }
    };
    let Some(store) = store(&flags.state_dir) else { return Outcome::Invalid };
    let mut handle = match store.resume_run(run_id) {
        Ok(h) => h,
        Err(e) => {
            eprint(&format!("error: {e}"));
            return Outcome::Invalid;
        }
    };
    let state = handle.state.clone();
    if state.status == RunStatus::Succeeded {
        say(flags, &format!("run {run_id} already succeeded; nothing to resume"));
        return Outcome::Succeeded;
    }
    if matches!(state.status, RunStatus::RolledBack | RunStatus::RollbackFailed) {
        say(flags, &format!("run {run_id} is over ({}); nothing to resume", state.status));
        return if state.status == RunStatus::RolledBack {
            Outcome::RolledBack
        } else {
            Outcome::RollbackFailed
        };
    }
    if let Err(why) = refuse_retries(&state, &decisions, state.rollback.is_some()) {
        eprint(&format!("error: {why}"));
        return Outcome::Invalid;
    }
    let path = file.map_or_else(|| PathBuf::from(&state.path), Path::to_path_buf);
    let params: Vec<(String, String)> =
        state.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let Some(mut l) = load(&path, params, color) else { return Outcome::Invalid };
    if let Err(why) = compare_definitions(&state, &l, allow_edited) {
        eprint(&format!("error: {why}"));
        return Outcome::Invalid;
    }
    if !check_approve_flags(&l.rb, flags) {
        return Outcome::Invalid;
    }
    if !connect_aws(&mut l, flags) {
        return Outcome::Invalid;
    }
    let Some(secrets) = secrets_for(&l) else { return Outcome::Invalid };
    let now = clock::now();
    if let Err(e) =
        handle.append(&Event::RunResumed { at: now, pid: std::process::id(), user: user.clone() })
    {
        eprint(&format!("error: {e}"));
        return Outcome::Invalid;
    }
    let keep_failed = match settle_steps(&mut handle, &l, &decisions, flags, &user, run_id) {
        Ok(k) => k,
        Err(outcome) => return outcome,
    };
    let clock_start = clock::parse(&state.clock_start).unwrap_or_else(clock::now_ms);
    say(flags, &format!("resuming run {run_id}: {}", l.rb.name));
    drive(&store, run_id, &l, Box::new(handle), secrets, flags, clock_start, user, keep_failed)
}

/// The runbook may have changed since the run started only in steps that have not started
/// (and then only with `--allow-edited`).
pub(super) fn compare_definitions(
    state: &RunState,
    l: &Loaded,
    allow_edited: bool,
) -> Result<(), String> {
    let now: BTreeMap<String, String> = step_hashes(l).into_iter().collect();
    let mut edited = Vec::new();
    for (id, old) in &state.step_hashes {
        let started = state.step(id).is_some_and(|r| r.state != StepState::Pending);
        match now.get(id) {
            Some(h) if h == old => {}
            _ if started => {
                return Err(format!(
                    "the runbook changed in step `{id}`, which already started in this run; restore it, or start a new run"
                ))
            }
            _ => edited.push(id.clone()),
        }
    }
    for id in now.keys() {
        if !state.step_hashes.iter().any(|(s, _)| s == id) {
            return Err(format!(
                "the runbook adds step `{id}`, which this run does not know; start a new run"
            ));
        }
    }
    if !edited.is_empty() && !allow_edited {
        return Err(format!(
            "the runbook changed in step(s) {} since the run started; pass --allow-edited to accept changes to steps that have not started",
            edited.join(", ")
        ));
    }
    Ok(())
}

pub fn status(state_dir: &Path, run_id: Option<&str>, format: StatusFormat) -> Outcome {
    let store = Store::at(state_dir);
    let mut out = std::io::stdout().lock();
    match run_id {
        None => {
            let ids = match store.list_runs() {
                Ok(ids) => ids,
                Err(e) => {
                    eprint(&format!("error: {e}"));
                    return Outcome::Invalid;
                }
            };
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
                    .map(|(st, s)| serde_json::json!({"run_id": s.run_id, "runbook": s.runbook, "status": st,
                        "started_at": s.started_at, "achieved_rto_seconds": runreport::achieved_rto_ms(s).map(|m| m as f64 / 1000.0)}))
                    .collect();
                let _ = writeln!(out, "{}", serde_json::json!({ "runs": runs }));
            } else {
                let _ = writeln!(
                    out,
                    "{:<44} {:<24} {:<12} {:<25} RTO",
                    "RUN", "RUNBOOK", "STATUS", "STARTED"
                );
                for (st, s) in &rows {
                    let rto = runreport::achieved_rto_ms(s)
                        .map_or("-".into(), |m| fmt_duration(m / 1000 * 1000));
                    let _ = writeln!(
                        out,
                        "{:<44} {:<24} {:<12} {:<25} {rto}",
                        s.run_id, s.runbook, st, s.started_at
                    );
                }
            }
        }
        Some(id) => {
            let (s, info) = match store.read_run(id) {
                Ok(x) => x,
                Err(e) => {
                    eprint(&format!("error: {e}"));
                    return Outcome::Invalid;
                }
            };
            let word = status_word(&s, info.live);
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
                            "role": a.role, "by": a.by, "at": a.at, "how": a.how, "comment": a.comment})).collect();
                        serde_json::json!({"id": id, "state": r.state, "attempts": r.attempts,
                        "duration_ms": r.duration_ms, "error": r.error,
                        "gate": r.gate.as_ref().map(|g| serde_json::json!({"roles": g.roles, "requested_at": g.requested_at, "timeout_ms": g.timeout_ms})),
                        "missing_roles": r.missing_roles(), "approvals": approvals, "undo": undo,
                        "waiting_for": (r.state == StepState::Waiting).then(|| {
                            if r.gate.is_some() && !r.gate_satisfied() {
                                Some(format!("approval by {}", r.missing_roles().join(", ")))
                            } else {
                                r.waiting_reason.clone()
                            }
                        }).flatten()})
                    })
                    .collect();
                let rollback = s
                    .rollback
                    .as_ref()
                    .map(|r| serde_json::json!({"at": r.at, "reason": r.reason, "by": r.by}));
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::json!({"run_id": s.run_id, "runbook": s.runbook, "status": word,
                    "started_at": s.started_at, "finished_at": s.finished_at,
                    "rollback": rollback, "steps": steps})
                );
            } else {
                let live = info.runner_pid.map_or(String::new(), |p| format!(" (runner pid {p})"));
                let _ = writeln!(
                    out,
                    "run {}  {}  {word}{live}\nstarted {}",
                    s.run_id, s.runbook, s.started_at
                );
                if let Some(r) = &s.rollback {
                    let _ =
                        writeln!(out, "rolling back since {} ({}, by {})", r.at, r.reason, r.by);
                }
                for (id, r) in &s.steps {
                    let state = serde_json::to_value(r.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let took = r
                        .duration_ms
                        .map_or(String::new(), |d| format!("  {}", fmt_duration(d / 1000 * 1000)));
                    let mut err = r.error.as_ref().map_or(String::new(), |e| format!("  — {e}"));
                    if let Some(e) = r.undo.as_ref().and_then(|u| u.error.as_ref()) {
                        err.push_str(&format!("  — rollback: {e}"));
                    }
                    let _ =
                        writeln!(out, "  {id:<28} {state:<12} attempts {}{took}{err}", r.attempts);
                    if r.gate.is_some()
                        && (r.state == StepState::Waiting || !r.approvals.is_empty())
                    {
                        let given: Vec<String> = r
                            .approvals
                            .iter()
                            .map(|a| format!("{} by {} ({})", a.role, a.by, a.how.as_str()))
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
                // A finished run waits for nobody; a step stopped between a failed attempt and
                // its retry when the run turned to rolling back has nothing to decide.
                let rolling = s.rollback.is_some();
                let pending: Vec<&str> = s
                    .steps
                    .iter()
                    .filter(|_| s.status.is_unfinished())
                    .filter(|(_, r)| {
                        let halted = rolling && r.error.is_some() && r.process.is_none();
                        r.state == StepState::Waiting
                            || (r.state == StepState::Interrupted && !halted)
                            || (matches!(r.state, StepState::Running | StepState::Undoing)
                                && !info.live)
                    })
                    .map(|(id, _)| id.as_str())
                    .collect();
                if !pending.is_empty() {
                    let _ =
                        writeln!(out, "waiting on a person or a decision: {}", pending.join(", "));
                }
            }
        }
    }
    Outcome::Succeeded
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
