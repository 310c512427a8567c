//! The `run` action: the script rendered (values shell-quoted, LANGUAGE.md §6; secrets as
//! references to environment variables, so no secret is in any command line) and run with the
//! step's `env` and `workdir`, its output streamed to the run's observer. The process is
//! spawned blocked and released only once [`Hooks::begin`](super::Hooks::begin) has made its
//! record durable. A failure says why with the last lines of stderr, secrets masked.

use super::env::{begin, ActionEnv, Attempt};
use super::fault::crash_point;
use super::process::{self, Ended, Script};
use crate::exec::secrets::Secrets;
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
        Ok(f) => {
            let why = match f.ended {
                Ended::Exited(0) => return Attempt::Ok(f.stdout),
                Ended::Stopped => return Attempt::Stopped,
                Ended::Exited(code) => format!("exit code {code}"),
                Ended::Signalled(sig) => format!("killed by signal {sig}"),
                Ended::TimedOut => format!(
                    "timed out after {}",
                    crate::model::fmt_duration(env.timeout.unwrap_or(0))
                ),
            };
            Attempt::Failed(with_tail(why, &f.stderr_tail, vals.secrets))
        }
    }
}

/// Characters of each stderr line a failure message shows.
const TAIL_LINE_CHARS: usize = 200;

/// `exit code 3; stderr: LINE | LINE`: why the script failed, with the last lines of its
/// stderr. Every secret is masked *before* a line is cut to [`TAIL_LINE_CHARS`] (so no piece
/// of a secret is left), across lines for a secret of several lines, and control characters
/// are replaced (no terminal escapes).
fn with_tail(why: String, tail: &[String], secrets: &Secrets) -> String {
    if tail.is_empty() {
        return why;
    }
    // Masked whole first: a secret of several lines (a key) is masked across them.
    let masked = secrets.scrub(&tail.join("\n"));
    let lines: Vec<String> = masked
        .split('\n')
        .map(|masked| {
            let clean: String =
                masked.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            let clean = clean.trim();
            match clean.char_indices().nth(TAIL_LINE_CHARS) {
                Some((i, _)) => format!("{}…", clean[..i].trim_end()),
                None => clean.to_string(),
            }
        })
        .collect();
    format!("{why}; stderr: {}", lines.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_masked_across_lines_before_it_is_cut() {
        let key = "-----BEGIN KEY-----\nMIIEow\n-----END KEY-----";
        let secrets = Secrets::from_pairs(vec![("key".into(), key.into())]);
        let long = format!("{}yyyyyy", "x".repeat(TAIL_LINE_CHARS - 3));
        let tail: Vec<String> =
            ["oops", "-----BEGIN KEY-----", "MIIEow", "-----END KEY-----", "\u{1b}[31mred"]
                .iter()
                .map(|l| l.to_string())
                .chain([long])
                .collect();
        let said = with_tail("exit code 1".into(), &tail, &secrets);
        assert!(!said.contains("MIIEow") && !said.contains("BEGIN"), "{said}");
        assert!(said.contains("oops | <secret:key> | [31mred | xxx"), "{said}");
        assert!(said.ends_with("xyyy…"), "{said}");
        assert_eq!(with_tail("exit code 1".into(), &[], &secrets), "exit code 1");
    }
}
