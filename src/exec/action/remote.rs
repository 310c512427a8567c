//! Remote operations, whatever reaches them: the rendered requests of `ssm command` and
//! `ssm automation`, how an operation ended, and the `max_errors` rule. The AWS client itself
//! is in `ssm.rs` (cargo feature `aws`); a build without it has `ssm_off.rs` instead.

use std::collections::BTreeMap;

/// How to reach AWS: `--aws-profile`, `--aws-region` (else the default chain).
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// A Run Command request, rendered.
#[derive(Clone, Debug, Default)]
pub struct CommandSpec {
    pub document: String,
    pub instances: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub parameters: BTreeMap<String, Vec<String>>,
    pub max_concurrency: Option<String>,
    pub max_errors: Option<String>,
    pub comment: Option<String>,
}

/// An Automation request, rendered.
#[derive(Clone, Debug, Default)]
pub struct AutomationSpec {
    pub document: String,
    pub parameters: BTreeMap<String, Vec<String>>,
}

/// How a remote operation ended.
#[derive(Debug)]
pub enum Ended {
    /// Succeeded: the combined output.
    Ok(String),
    Failed(String),
    /// Ctrl-C: cancelled.
    Stopped,
}

/// One instance's finished invocation.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub status: String,
    pub ok: bool,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// How many failed invocations `max_errors` allows out of `total` ("0", "3", "10%").
pub fn allowed_errors(max_errors: Option<&str>, total: usize) -> usize {
    let Some(m) = max_errors.map(str::trim) else { return 0 };
    match m.strip_suffix('%') {
        Some(p) => p.parse::<f64>().map_or(0, |p| ((total as f64) * p / 100.0).floor() as usize),
        None => m.parse().unwrap_or(0),
    }
}

/// Success when no more invocations failed than `max_errors` allows; the output is every
/// instance's stdout, in the order the instances were given (else by instance id).
pub fn judge_command(spec: &CommandSpec, done: &BTreeMap<String, Invocation>) -> Ended {
    if done.is_empty() {
        return Ended::Failed("the command reached no instance".into());
    }
    let order: Vec<&String> = if spec.instances.is_empty() {
        done.keys().collect()
    } else {
        spec.instances.iter().filter(|i| done.contains_key(*i)).collect()
    };
    let combined: String = order.iter().map(|i| done[*i].stdout.as_str()).collect();
    let bad: Vec<String> = order
        .iter()
        .filter(|i| !done[**i].ok)
        .map(|i| format!("{i} {} (exit {})", done[*i].status, done[*i].code))
        .collect();
    let allowed = allowed_errors(spec.max_errors.as_deref(), done.len());
    if bad.len() > allowed {
        return Ended::Failed(format!(
            "{} of {} invocation(s) did not succeed (max_errors allows {allowed}): {}",
            bad.len(),
            done.len(),
            bad.join(", ")
        ));
    }
    Ended::Ok(combined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_errors_is_a_count_or_a_percentage() {
        assert_eq!(allowed_errors(None, 10), 0);
        assert_eq!(allowed_errors(Some("0"), 10), 0);
        assert_eq!(allowed_errors(Some("3"), 10), 3);
        assert_eq!(allowed_errors(Some("25%"), 10), 2);
        assert_eq!(allowed_errors(Some("100%"), 4), 4);
        assert_eq!(allowed_errors(Some("nonsense"), 4), 0);
    }

    fn inv(ok: bool, out: &str) -> Invocation {
        let status = if ok { "Success" } else { "Failed" }.to_string();
        Invocation { status, ok, code: i32::from(!ok), stdout: out.into(), stderr: String::new() }
    }

    #[test]
    fn a_command_succeeds_within_max_errors_and_joins_outputs_in_the_given_order() {
        let mut spec =
            CommandSpec { instances: vec!["i-b".into(), "i-a".into()], ..Default::default() };
        let done = BTreeMap::from([
            ("i-a".to_string(), inv(false, "a\n")),
            ("i-b".to_string(), inv(true, "b\n")),
        ]);
        match judge_command(&spec, &done) {
            Ended::Failed(m) => assert!(m.contains("1 of 2") && m.contains("i-a Failed"), "{m}"),
            other => panic!("{other:?}"),
        }
        spec.max_errors = Some("1".into());
        match judge_command(&spec, &done) {
            Ended::Ok(out) => assert_eq!(out, "b\na\n"),
            other => panic!("{other:?}"),
        }
    }
}
