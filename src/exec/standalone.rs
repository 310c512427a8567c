//! One action run on its own, outside any run and without a journal: a trigger's probe, or a
//! runbook step run as a measurement (the trigger's RPO gate). `drbook watch` uses it.
//!
//! Input: the checked runbook, its params and resolved secrets, the shell and the AWS client
//! (as a run would have them), and the probe's action or the step's index. Output: a [`Ran`]:
//! whether it succeeded, a masked and bounded detail, how long it took and, for a step, its
//! captures (checked like the step's own: its `check`s apply).
//!
//! It runs like a step's action (shell-quoted interpolation, secrets through the environment,
//! the step's `env` and `workdir`, `http` status ranges), within its timeout; nothing is
//! journaled. A step's texts may not use other steps' captures here (no run holds them): such
//! a reference fails the action with a clear reason.

use super::action::{
    aws::Aws, http, run_action, ActionEnv, Attempt, BoxFuture, Client, Hooks, Spawned, Stream,
};
use super::secrets::Secrets;
use super::values::Values;
use crate::model::{Action, Millis, ParamValue, Runbook, Step};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Lines of output kept, and the characters of a detail.
const KEEP_LINES: usize = 4;
pub const DETAIL_CHARS: usize = 200;
/// How long a step run on its own may take when it has no `timeout`.
pub const STEP_TIMEOUT: Millis = 60_000;

/// What actions run on their own need: what a run would have.
pub struct Standalone<'a> {
    pub rb: &'a Runbook,
    pub values: &'a HashMap<String, ParamValue>,
    pub secrets: &'a Secrets,
    /// Directory of the runbook file: relative `workdir`s start here.
    pub base_dir: &'a Path,
    pub shell: &'a Path,
    pub aws: Option<&'a Arc<Aws>>,
    /// One HTTP client (connection pool) for every action run through this value.
    pub http: Client,
}

/// What one action run on its own came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ran {
    pub ok: bool,
    /// On success the last line of output (or `ok`); on failure why. Masked, bounded.
    pub detail: String,
    pub ms: u64,
    /// A step's captures (masked by nobody: the caller masks what it shows).
    pub captures: BTreeMap<String, String>,
}

impl<'a> Standalone<'a> {
    pub fn new(
        rb: &'a Runbook,
        values: &'a HashMap<String, ParamValue>,
        secrets: &'a Secrets,
        base_dir: &'a Path,
        shell: &'a Path,
        aws: Option<&'a Arc<Aws>>,
    ) -> Standalone<'a> {
        Standalone { rb, values, secrets, base_dir, shell, aws, http: Client::default() }
    }

    /// Runs a probe: `action` (named `name` in its process and messages) within `timeout`.
    pub async fn probe(&self, name: &str, action: &Action, timeout: Millis) -> Ran {
        let step = probe_step(name);
        let (ran, _) = self.act(&step, action, timeout).await;
        ran
    }

    /// Runs step `i`'s action within its `timeout` (or [`STEP_TIMEOUT`]), then its captures
    /// and checks. A step without an action fails.
    pub async fn step(&self, i: usize) -> Ran {
        let Some(step) = self.rb.steps.get(i) else {
            return failed(format!("the runbook has no step number {i}"));
        };
        let Some(action) = &step.action else {
            return failed(format!("step `{}` has no action to run", step.id));
        };
        let timeout = step.timeout.unwrap_or(STEP_TIMEOUT);
        let (mut ran, output) = self.act(step, action, timeout).await;
        if !ran.ok {
            return ran;
        }
        let steps = &self.rb.steps;
        let cap = move |i: usize, n: &str| no_capture(steps, i, n);
        let vals = self.values_with(&cap);
        match super::step::finish(step, &vals, &output) {
            Ok((captures, _)) => ran.captures = captures,
            Err((why, captures)) => {
                ran.ok = false;
                ran.detail = self.bound(&why);
                ran.captures = captures;
            }
        }
        ran
    }

    fn values_with<'v>(
        &'v self,
        cap: &'v (dyn Fn(usize, &str) -> Result<String, String> + Sync),
    ) -> Values<'v> {
        Values {
            params: self.values,
            secrets: self.secrets,
            capture: cap,
            run_id: "",
            runbook: &self.rb.name,
            own: None,
            ended: None,
            steps: &self.rb.steps,
        }
    }

    /// Runs `action` as `step`'s; the result and the action's full output (stdout or body).
    async fn act(&self, step: &Step, action: &Action, timeout: Millis) -> (Ran, String) {
        let started = Instant::now();
        let steps = &self.rb.steps;
        let cap = move |i: usize, n: &str| no_capture(steps, i, n);
        let vals = self.values_with(&cap);
        let lines: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let out = |_: Stream, line: &str| {
            let mut l = lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            l.push(line.chars().take(DETAIL_CHARS).collect());
            if l.len() > KEEP_LINES {
                l.remove(0);
            }
        };
        // Kept alive until the action ended: a dropped sender reads as a stop request.
        let (_stop_tx, stop) = tokio::sync::watch::channel(false);
        let env = ActionEnv {
            step,
            vals: &vals,
            secrets: self.secrets,
            timeout: Some(timeout),
            base_dir: self.base_dir,
            shell: self.shell,
            stop,
            out: &out,
            http: &self.http,
            aws: self.aws,
            hooks: &Alone,
            undo: false,
        };
        let limit = std::time::Duration::from_millis(timeout.saturating_add(2_000));
        let attempt = match tokio::time::timeout(limit, run_action(&env, action)).await {
            Ok(a) => a,
            Err(_) => {
                Attempt::Failed(format!("timed out after {}", crate::model::fmt_duration(timeout)))
            }
        };
        let ms = started.elapsed().as_millis() as u64;
        let shown = lines.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (ok, detail, output) = match attempt {
            Attempt::Ok(output) => {
                let last = output.lines().rev().find(|l| !l.trim().is_empty());
                let last = last.or(shown.last().map(String::as_str)).unwrap_or("ok");
                (true, last.trim().to_string(), output)
            }
            Attempt::Failed(why) => (false, why, String::new()),
            Attempt::Stopped => (false, "stopped before it ended".into(), String::new()),
            Attempt::Person(_) => {
                (false, "a manual action cannot run on its own".into(), String::new())
            }
        };
        let ran = Ran { ok, detail: self.bound(&detail), ms, captures: BTreeMap::new() };
        (ran, output)
    }

    /// Renders `text` (not shell-quoted) with the params and secrets; `${trigger.fired_at}`
    /// and `${trigger.detected_at}` become `fired_at` and `detected_at`.
    pub fn render(
        &self,
        text: &crate::model::Text,
        fired_at: &str,
        detected_at: &str,
    ) -> Result<String, String> {
        use crate::model::{Part, Ref, TriggerField};
        fn fill(parts: &[Part], fired: &str, detected: &str) -> Vec<Part> {
            parts
                .iter()
                .map(|p| match p {
                    Part::Ref(Ref::Trigger(TriggerField::FiredAt)) => Part::Lit(fired.into()),
                    Part::Ref(Ref::Trigger(TriggerField::DetectedAt)) => Part::Lit(detected.into()),
                    Part::Word(inner) => Part::Word(fill(inner, fired, detected)),
                    other => other.clone(),
                })
                .collect()
        }
        let text = crate::model::Text { parts: fill(&text.parts, fired_at, detected_at) };
        let steps = &self.rb.steps;
        let cap = move |i: usize, n: &str| no_capture(steps, i, n);
        self.values_with(&cap).render(&text, false).map_err(|e| self.secrets.scrub(&e))
    }

    /// POSTs `body` as JSON to `url` (a URL, or a text naming a secret that holds one),
    /// within 10 s. An error says why; neither the URL nor any secret is in it.
    pub async fn post(
        &self,
        url: &crate::model::Text,
        body: &serde_json::Value,
    ) -> Result<(), String> {
        let steps = &self.rb.steps;
        let cap = move |i: usize, n: &str| no_capture(steps, i, n);
        let vals = self.values_with(&cap);
        let url = vals.render(url, false).map_err(|e| self.secrets.scrub(&e))?;
        let url_itself = Secrets::from_pairs(vec![("notify_url".into(), url.clone())]);
        let timeout = std::time::Duration::from_secs(10);
        http::post_json(&self.http, self.secrets, &url, body, timeout)
            .await
            .map_err(|e| url_itself.scrub(&self.secrets.scrub(&e)))
    }

    /// `text` masked and cut to [`DETAIL_CHARS`], on one line.
    pub fn bound(&self, text: &str) -> String {
        bound(&self.secrets.scrub(text))
    }
}

/// `text` on one line, cut to [`DETAIL_CHARS`] characters (with `…`).
pub fn bound(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= DETAIL_CHARS {
        return one;
    }
    let mut cut: String = one.chars().take(DETAIL_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn failed(detail: String) -> Ran {
    Ran { ok: false, detail, ms: 0, captures: BTreeMap::new() }
}

fn no_capture(steps: &[Step], i: usize, name: &str) -> Result<String, String> {
    let id = steps.get(i).map_or("?", |s| s.id.as_str());
    Err(format!("`${{steps.{id}.{name}}}` has no value outside a run"))
}

/// The step a probe's action runs as: its name, no `env`, no `workdir`.
fn probe_step(name: &str) -> Step {
    Step {
        id: name.to_string(),
        title: None,
        owner: None,
        duration: None,
        timeout: None,
        needs: Vec::new(),
        when: None,
        retry: None,
        on_failure: crate::model::FailurePolicy::Abort,
        idempotent: true,
        approval: None,
        env: Vec::new(),
        workdir: None,
        captures: Vec::new(),
        checks: Vec::new(),
        measure_rpo: None,
        action: None,
        rollback: None,
        verify: None,
        span: crate::diag::Span::default(),
        finally: false,
        safe: true,
        restores: Vec::new(),
    }
}

/// Nothing is journaled: every action may begin at once.
struct Alone;

impl Hooks for Alone {
    fn begin(&self, _process: Option<Spawned>) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async { Ok(true) })
    }

    fn remote_started(&self, _kind: &str, _id: &str) -> Result<(), String> {
        Ok(())
    }

    fn previous_remote(&self, _kind: &str) -> Option<String> {
        None
    }

    fn answered(&self) {}
}
