//! The executor's side of the `ssm` actions: renders the request (values in the `commands` of
//! an `ssm command` are shell words, as in `run`), journals the command or execution id the
//! moment it is known (`step_remote`, durably), re-attaches to the id a crashed runner left,
//! and streams per-instance results to the step's output, secrets scrubbed.

use super::env::{begin, ActionEnv, Attempt};
use super::process::Stream;
use super::remote::{AutomationSpec, CommandSpec, Ended};
use crate::exec::values::Values;
use crate::model::{Action, SsmTargets, Text};
use std::collections::BTreeMap;
use std::time::Duration;

/// The `ssm` parameter whose values are shell commands.
const COMMANDS: &str = "commands";

fn render_all(vals: &Values<'_>, texts: &[Text], shell: bool) -> Result<Vec<String>, String> {
    texts.iter().map(|t| vals.render(t, shell)).collect()
}

fn render_opt(vals: &Values<'_>, t: Option<&Text>) -> Result<Option<String>, String> {
    t.map(|t| vals.render(t, false)).transpose()
}

fn parameters(
    vals: &Values<'_>,
    ps: &[(String, Vec<Text>)],
) -> Result<BTreeMap<String, Vec<String>>, String> {
    ps.iter().map(|(k, v)| Ok((k.clone(), render_all(vals, v, k == COMMANDS)?))).collect()
}

/// The rendered Run Command request of an `ssm command` action.
pub fn command_spec(vals: &Values<'_>, a: &Action) -> Result<Option<CommandSpec>, String> {
    let Action::SsmCommand {
        document,
        targets,
        parameters: ps,
        max_concurrency,
        max_errors,
        comment,
    } = a
    else {
        return Ok(None);
    };
    let mut spec = CommandSpec {
        document: vals.render(document, false)?,
        parameters: parameters(vals, ps)?,
        max_concurrency: render_opt(vals, max_concurrency.as_ref())?,
        max_errors: render_opt(vals, max_errors.as_ref())?,
        comment: render_opt(vals, comment.as_ref())?,
        ..CommandSpec::default()
    };
    match targets {
        SsmTargets::Instances(ids) => spec.instances = render_all(vals, ids, false)?,
        SsmTargets::Tags(tags) => {
            for (k, v) in tags {
                spec.tags.push((vals.render(k, false)?, vals.render(v, false)?));
            }
        }
    }
    Ok(Some(spec))
}

/// Runs an `ssm` action (as a rollback, `env.undo`, it is never re-attached).
pub(super) async fn run(env: &ActionEnv<'_>, action: &Action) -> Attempt {
    let Some(aws) = env.aws.cloned() else {
        return Attempt::Failed("AWS is not configured for this run".into());
    };
    let vals = env.vals;
    let say = |line: String| (env.out)(Stream::Stdout, &line);
    let timeout = env.timeout.map(Duration::from_millis);
    let previous = |kind: &str| if env.undo { None } else { env.hooks.previous_remote(kind) };
    let journal_id = |kind: &'static str| {
        move |remote: &str| -> Result<(), String> {
            if env.undo {
                return Ok(());
            }
            env.hooks.remote_started(kind, remote)
        }
    };
    if let Some(a) = begin(env, None).await {
        return a;
    }
    let ended = match action {
        Action::SsmCommand { .. } => {
            let spec = match command_spec(vals, action) {
                Ok(Some(s)) => s,
                Ok(None) => return Attempt::Failed("not an ssm command".into()),
                Err(e) => return Attempt::Failed(e),
            };
            let again = previous("command");
            aws.command(&spec, again, journal_id("command"), say, timeout, env.stop.clone()).await
        }
        Action::SsmAutomation { document, parameters: ps } => {
            let spec = match (vals.render(document, false), parameters(vals, ps)) {
                (Ok(document), Ok(parameters)) => AutomationSpec { document, parameters },
                (Err(e), _) | (_, Err(e)) => return Attempt::Failed(e),
            };
            let again = previous("automation");
            let started = journal_id("automation");
            aws.automation(&spec, again, started, say, timeout, env.stop.clone()).await
        }
        Action::SsmPut { name, value, secure } => {
            let (name, value) = match (vals.render(name, false), vals.render(value, false)) {
                (Ok(n), Ok(v)) => (n, v),
                (Err(e), _) | (_, Err(e)) => return Attempt::Failed(e),
            };
            let put = aws.put_parameter(&name, &value, *secure);
            let mut stop = env.stop.clone();
            let result = tokio::select! {
                r = put => r,
                _ = stop.wait_for(|s| *s) => return Attempt::Stopped,
            };
            match result {
                Ok(version) => {
                    let kind = if *secure { "SecureString" } else { "String" };
                    say(format!("SSM parameter {name} written ({kind}, version {version})"));
                    Ended::Ok(String::new())
                }
                Err(e) => Ended::Failed(e),
            }
        }
        other => Ended::Failed(format!("`{}` is not an ssm action", other.kind())),
    };
    match ended {
        Ended::Ok(out) => Attempt::Ok(out),
        Ended::Failed(e) => Attempt::Failed(e),
        Ended::Stopped => Attempt::Stopped,
    }
}
