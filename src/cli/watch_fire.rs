//! Firing a trigger: `fired` (and, unless `--dry-run`, `disarmed`) is journaled durably in one
//! write with the run id chosen up front, then a normal run of the runbook starts in this
//! process through the same path as `drbook run` (same journal, locks and reports), with its
//! clock started at the outage's `detected_at`, the watcher's `--param` values overlaid with
//! the trigger's `params` (`${trigger.fired_at}`, `${trigger.detected_at}` filled in), and
//! `run_started.trigger` saying what fired it. When the run ends, `run_ended` is journaled;
//! the watcher stays disarmed until a person acknowledges.
//!
//! Input: the watcher's options, its probes' context and the state it fires from. Output: the journaled events, the run's own
//! output (as `drbook run` prints it), and the helpers the watcher needs to start
//! ([`run_flags`], [`sha256`], [`probes_aws`]).

use super::args::{LogFormat as RunLogFormat, RunFlags};
use super::prepare::{Ready, RunRequest};
use super::run::{self, NewRun};
use super::watch_args::{LogFormat, WatchOptions};
use super::CliError;
use crate::exec::Standalone;
use crate::journal::watch::{ProbeOutcome, WatchEvent, WatchState};
use crate::journal::TriggerInfo;
use crate::model::time as clock;
use crate::model::{Action, Trigger};
use std::sync::Arc;

/// The run flags of the watcher's runs: unattended (gates wait for `drbook approve` from
/// other shells instead of prompting), on the watcher's state dir, printing as it prints.
pub(super) fn run_flags(opts: &WatchOptions) -> RunFlags {
    RunFlags {
        state_dir: opts.state_dir.clone(),
        parallel: None,
        non_interactive: true,
        strict_rto: false,
        strict_rpo: false,
        fail_on_continue: false,
        report: None,
        log_format: match opts.log_format {
            LogFormat::Text => RunLogFormat::Text,
            LogFormat::Json => RunLogFormat::Json,
        },
        approve: Vec::new(),
        aws_profile: None,
        aws_region: None,
        wait: true,
        root: None,
        sign: None,
    }
}

/// SHA-256 of the runbook file's bytes, hex (as `run_started.content_hash`).
pub(super) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The AWS client `ssm` probes need: the run's, or one connected for them. Without it, an
/// `ssm` probe would fail every round and fire the trigger: refused before watching.
pub(super) fn probes_aws(
    ready: &Ready<'_>,
    t: &Trigger,
) -> Result<Option<Arc<crate::exec::Aws>>, CliError> {
    let ssm = t.probes.iter().any(|p| matches!(p.action, Action::SsmCommand { .. }));
    if !ssm || ready.aws.is_some() {
        return Ok(ready.aws.clone());
    }
    let opts = crate::exec::AwsOptions { profile: None, region: None };
    match ready.rt.block_on(crate::exec::Aws::connect(&opts)) {
        Ok(aws) => Ok(Some(Arc::new(aws))),
        Err(e) => Err(CliError::invalid(e.to_string())
            .then("nothing is watched: the trigger's probes use AWS Systems Manager")),
    }
}

/// A firing, prepared: what to journal before the run starts, and the run to start.
pub(super) struct Firing {
    pub run_id: String,
    /// `fired` (and `disarmed`), journaled durably in one write before [`start`].
    pub events: Vec<WatchEvent>,
    params: Vec<(String, String)>,
    info: TriggerInfo,
}

/// Prepares the firing from `state` with `evidence` (the probes of the round that reached the
/// threshold). `Err`: a trigger param could not be rendered (nothing may fire).
pub(super) fn prepare(
    opts: &WatchOptions,
    sa: &Standalone<'_>,
    t: &Trigger,
    state: &WatchState,
    evidence: Vec<ProbeOutcome>,
) -> Result<Firing, String> {
    let now = clock::now();
    let detected_at = state.detected_at.clone().unwrap_or_else(|| now.clone());
    let run_id = crate::journal::new_run_id(&sa.rb.name, &now);
    let by = match &state.awaiting {
        Some((_, approvals)) if !approvals.is_empty() => approvals
            .iter()
            .map(|a| format!("{} ({})", a.by, a.role))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "auto".to_string(),
    };
    let mut params = opts.params.clone();
    for (name, text) in &t.params {
        let v = sa
            .render(text, &now, &detected_at)
            .map_err(|why| format!("the trigger's param `{name}` cannot be rendered: {why}"))?;
        params.retain(|(k, _)| k != name);
        params.push((name.clone(), v));
    }
    let shown_id = if opts.dry_run { String::new() } else { run_id.clone() };
    let events = crate::watch::fire_events(state, &shown_id, opts.dry_run, evidence.clone(), &now);
    let info =
        TriggerInfo { detected_at, fired_at: now, evidence, by, watcher_pid: std::process::id() };
    Ok(Firing { run_id, events, params, info })
}

/// Starts the prepared run through `drbook run`'s path and waits for it; its status as its
/// journal says, or why it could not start (masked).
pub(super) fn start(
    opts: &WatchOptions,
    secrets: &crate::exec::Secrets,
    f: Firing,
) -> Result<String, String> {
    let flags = run_flags(opts);
    let req = RunRequest {
        file: opts.file.clone(),
        params: f.params,
        flags: &flags,
        user: opts.user.clone(),
        color: opts.color,
    };
    let new = NewRun {
        run_id: Some(f.run_id.clone()),
        since: Some(f.info.detected_at.clone()),
        allow_concurrent: false,
        dry_run: false,
        drill: None,
        notify: None,
        trigger: Some(f.info),
    };
    match run::run(req, &new) {
        Ok(_) => Ok(run_status(opts, &f.run_id)),
        Err(e) => Err(secrets.scrub(&e.to_string())),
    }
}

/// The run's status as its journal says (`succeeded`, `failed`, `paused`, ...).
fn run_status(opts: &WatchOptions, run_id: &str) -> String {
    let read = crate::journal::Store::open(&opts.state_dir).and_then(|s| s.read_run(run_id));
    match read {
        Ok((s, _)) => serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into()),
        Err(e) => format!("unknown ({e})"),
    }
}
