//! Firing a trigger: `fired` (and, unless `--dry-run`, `disarmed`) is journaled durably in one
//! write with the run id chosen up front, then a normal run of the runbook starts in this
//! process through the same path as `drbook run` (same journal, locks and reports), with its
//! clock started at the outage's `detected_at`, the watcher's `--param` values overlaid with
//! the trigger's `params` (`${trigger.fired_at}`, `${trigger.detected_at}` filled in), and
//! `run_started.trigger` saying what fired it. When the run ends, `run_ended` is journaled;
//! the watcher stays disarmed until a person acknowledges.
//!
//! Input: the watcher and the state it fires from. Output: the journaled events, the run's own
//! output (as `drbook run` prints it), and the helpers the watcher needs to start
//! ([`run_flags`], [`sha256`], [`probes_aws`]).

use super::args::{LogFormat as RunLogFormat, RunFlags};
use super::prepare::{Ready, RunRequest};
use super::run::{self, NewRun};
use super::watch::Watcher;
use super::watch_args::{LogFormat, WatchOptions};
use super::CliError;
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

/// Fires from `state` with `evidence` (the probes of the round that reached the threshold).
pub(super) fn fire(
    w: &mut Watcher<'_>,
    state: &WatchState,
    evidence: Vec<ProbeOutcome>,
) -> Result<(), CliError> {
    let rb = &w.ready.book.rb;
    let now = clock::now();
    let detected_at = state.detected_at.clone().unwrap_or_else(|| now.clone());
    let run_id = crate::journal::new_run_id(&rb.name, &now);
    let by = match &state.awaiting {
        Some((_, approvals)) if !approvals.is_empty() => approvals
            .iter()
            .map(|a| format!("{} ({})", a.by, a.role))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "auto".to_string(),
    };
    let mut params = w.opts.params.clone();
    for (name, text) in &w.trigger.params {
        match w.sa.render(text, &now, &detected_at) {
            Ok(v) => {
                params.retain(|(k, _)| k != name);
                params.push((name.clone(), v));
            }
            // Before anything is journaled: the trigger never fires with a param it could
            // not render; the same would happen at every firing, so the watcher stops.
            Err(why) => {
                let reason = format!("the trigger's param `{name}` cannot be rendered: {why}");
                w.journal(vec![WatchEvent::WatchStopped { at: now, reason: reason.clone() }])?;
                return Err(CliError::invalid(reason).then("nothing fired; the watcher stopped"));
            }
        }
    }
    let shown_id = if w.opts.dry_run { String::new() } else { run_id.clone() };
    let events =
        crate::watch::fire_events(state, &shown_id, w.opts.dry_run, evidence.clone(), &now);
    w.journal(events)?;
    if w.opts.dry_run {
        return Ok(());
    }
    let info = TriggerInfo {
        detected_at: detected_at.clone(),
        fired_at: now.clone(),
        evidence,
        by,
        watcher_pid: std::process::id(),
    };
    let flags = run_flags(w.opts);
    let req = RunRequest {
        file: w.opts.file.clone(),
        params,
        flags: &flags,
        user: w.opts.user.clone(),
        color: w.opts.color,
    };
    let new = NewRun {
        run_id: Some(run_id.clone()),
        since: Some(detected_at),
        allow_concurrent: false,
        dry_run: false,
        drill: None,
        notify: None,
        trigger: Some(info),
    };
    let status = match run::run(req, &new) {
        Ok(_) => run_status(w, &run_id),
        Err(e) => {
            let why = w.ready.secrets.scrub(&e.to_string());
            w.log.warn(&clock::now(), &format!("run {run_id} could not start: {why}"));
            format!("not started: {}", why.lines().next().unwrap_or_default())
        }
    };
    w.journal(vec![WatchEvent::RunEnded { at: clock::now(), run_id, status }])
}

/// The run's status as its journal says (`succeeded`, `failed`, `paused`, ...).
fn run_status(w: &Watcher<'_>, run_id: &str) -> String {
    let read = crate::journal::Store::open(&w.opts.state_dir).and_then(|s| s.read_run(run_id));
    match read {
        Ok((s, _)) => serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into()),
        Err(e) => format!("unknown ({e})"),
    }
}
