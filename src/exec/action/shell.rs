//! The `run` action: the script rendered (values shell-quoted, LANGUAGE.md §6; secrets as
//! references to environment variables, so no secret is in any command line) and run with the
//! step's `env` and `workdir`, its output streamed to the run's observer. The process is
//! spawned blocked and released only once [`Hooks::begin`](super::Hooks::begin) has made its
//! record durable.

use super::env::{begin, ActionEnv, Attempt};
use super::fault::crash_point;
use super::process::{self, Ended, Script};
use crate::model::Text;
use std::time::Duration;

pub(super) async fn run(env: &ActionEnv<'_>, script: &Text) -> Attempt {
    let vals = env.vals;
    // Secrets go to the shell through its environment, never on its command line.
    let (script, mut vars) = match vals.render_script(script) {
        Ok(s) => s,
        Err(e) => return Attempt::Failed(e),
    };
    for (k, v) in &env.step.env {
        match vals.render(v, false) {
            Ok(v) => vars.push((k.clone(), v)),
            Err(e) => return Attempt::Failed(e),
        }
    }
    let workdir = match &env.step.workdir {
        Some(w) => match vals.render(w, false) {
            Ok(w) => Some(env.base_dir.join(w)),
            Err(e) => return Attempt::Failed(e),
        },
        None => None,
    };
    let missing_dir = workdir.as_ref().filter(|d| !d.is_dir()).cloned();
    let id = env.step.id.as_str();
    let refused = std::sync::Mutex::new(None);
    let timeout = env.timeout.map(Duration::from_millis);
    let shell = env.shell.to_path_buf();
    let script = Script { script, env: vars, workdir, timeout, name: id.to_string(), shell };
    let on_spawn = |p| {
        let refused = &refused;
        async move {
            crash_point("after_spawn", id);
            match begin(env, Some(p)).await {
                None => true,
                Some(a) => {
                    *refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(a);
                    false
                }
            }
        }
    };
    let ran =
        process::run(script, on_spawn, |stream, line| (env.out)(stream, line), env.stop.clone());
    let ran = ran.await;
    crash_point("after_exit", id);
    if matches!(&ran, Ok(f) if matches!(f.ended, Ended::Exited(_))) {
        env.hooks.answered();
    }
    if let Some(a) = refused.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        return a;
    }
    let sh = process::shell_name(env.shell);
    match ran {
        // The usual cause: a `workdir` that does not exist (or is not a directory).
        Err(e) => match &missing_dir {
            Some(dir) => {
                Attempt::Failed(format!("cannot start `{sh}` in workdir `{}`: {e}", dir.display()))
            }
            None => Attempt::Failed(format!("cannot start `{sh}`: {e}")),
        },
        Ok(f) => match f.ended {
            Ended::Exited(0) => Attempt::Ok(f.stdout),
            Ended::Exited(code) => Attempt::Failed(format!("exit code {code}")),
            Ended::Signalled(sig) => Attempt::Failed(format!("killed by signal {sig}")),
            Ended::TimedOut => Attempt::Failed(format!(
                "timed out after {}",
                crate::model::fmt_duration(env.timeout.unwrap_or(0))
            )),
            Ended::Stopped => Attempt::Stopped,
        },
    }
}
