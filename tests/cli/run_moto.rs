//! The `ssm` actions against moto (a third-party AWS mock, `moto_server`), to check drbook's
//! requests against an implementation that is not ours. `.ci/run` installs and starts moto and
//! sets `DRBOOK_MOTO_URL`; without it these tests say so on stderr and pass.
//!
//! moto answers SendCommand at once with Success (and empty output) and does not implement
//! ListCommandInvocations, CancelCommand or Automation, so only instance-id commands, parameters
//! and errors are checked here; the rest is covered by `run_ssm` against `ssmd`.

use crate::runkit::{drb, runbook, status_json, STATE};
use crate::ssmd::aws_env;
use crate::Test;
use std::time::{SystemTime, UNIX_EPOCH};

/// moto's endpoint, or `None` (with a note on stderr) when it is not running.
fn moto() -> Option<String> {
    match std::env::var("DRBOOK_MOTO_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("moto not available (DRBOOK_MOTO_URL unset): skipped");
            None
        }
    }
}

/// A parameter path no other test (or earlier run against the same moto) uses.
fn unique(what: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("/drbook-test/{}-{nanos}/{what}", std::process::id())
}

fn setup(url: &str, rb: &str) -> Test {
    aws_env(Test::new().file("m.drbook", rb), url)
}

/// The `error` of step `step` of run `id`.
fn step_error(t: &Test, id: &str, step: &str) -> String {
    let st = status_json(t, id);
    let steps = st["steps"].as_array().expect("`steps` is an array").clone();
    let s = steps.iter().find(|s| s["id"] == step).unwrap_or_else(|| panic!("no step {step}"));
    s["error"].as_str().unwrap_or("").to_string()
}

#[test]
fn moto_parameters_written_by_ssm_put_read_back_as_secrets() {
    let Some(url) = moto() else { return };
    let (plain, secure) = (unique("region"), unique("token"));
    let token = "tok 'en'-Xq93-moto";
    let put = runbook(
        "put",
        &format!(
            r#"
  param token = "x"
  step plain  {{ duration 1s; ssm put "{plain}" = "eu-west-1"; idempotent }}
  step secure {{ needs plain; duration 1s; ssm put "{secure}" = "${{token}}" secure; idempotent }}"#
        ),
    );
    let t = setup(&url, &put);
    drb(&t, &["run", "m.drbook", "--run-id", "put", "--param", &format!("token={token}")])
        .expect_status(0);

    let read = runbook(
        "read",
        &format!(
            r#"
  secret region = ssm("{plain}")
  secret token  = ssm("{secure}")
  step show {{ duration 1s; run "printf '%s\n' ${{region}} > region; printf '%s\n' ${{token}} > token"; idempotent }}"#
        ),
    );
    let t = setup(&url, &read);
    let out = drb(&t, &["run", "m.drbook", "--run-id", "read"]);
    out.expect_status(0);
    assert_eq!(t.read("region"), "eu-west-1\n");
    assert_eq!(t.read("token"), format!("{token}\n"), "decrypted");
    assert!(!out.stdout.contains("Xq93") && !out.stderr.contains("Xq93"), "{}", out.stdout);
    for f in crate::runkit::files_under(&t.path(STATE)) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
        assert!(!text.contains("Xq93"), "the secret is in {}", f.display());
    }

    // Written again: overwritten, not refused.
    let t = setup(&url, &put);
    drb(&t, &["run", "m.drbook", "--run-id", "again", "--param", "token=second"]).expect_status(0);
    let t = setup(&url, &read);
    drb(&t, &["run", "m.drbook", "--run-id", "read2"]).expect_status(0);
    assert_eq!(t.read("token"), "second\n");
}

#[test]
fn moto_missing_parameter_stops_the_run_with_exit_2() {
    let Some(url) = moto() else { return };
    let missing = unique("missing");
    let rb = runbook(
        "missing",
        &format!(
            r#"
  secret db = ssm("{missing}")
  step first {{ duration 1s; run "touch ran"; idempotent }}"#
        ),
    );
    let t = setup(&url, &rb);
    let out = drb(&t, &["run", "m.drbook"]);
    out.expect_status(2).expect_stderr(&missing).expect_stderr("ParameterNotFound");
    assert!(!t.path("ran").exists(), "no step ran");
}

#[test]
fn moto_runs_a_command_on_an_instance() {
    let Some(url) = moto() else { return };
    let rb = runbook(
        "cmd",
        r#"
  step fleet {
    duration 5s
    ssm command "AWS-RunShellScript" {
      instances  ["i-0123456789abcdef0"]
      parameters { commands = ["echo hi"] }
      max_errors "0"
      comment    "drbook moto test"
    }
    idempotent
  }"#,
    );
    let t = setup(&url, &rb);
    let out = drb(&t, &["run", "m.drbook", "--run-id", "c"]);
    out.expect_status(0);
    assert!(out.stdout.contains("i-0123456789abcdef0"), "{}", out.stdout);
}

#[test]
fn moto_typed_errors_surface_in_the_step_error() {
    let Some(url) = moto() else { return };
    // Names under `/ssm` are reserved: moto, like AWS, refuses them with a ValidationException.
    let rb = runbook(
        "bad",
        r#"
  step put { duration 1s; ssm put "/ssm/drbook-reserved" = "v"; idempotent }"#,
    );
    let t = setup(&url, &rb);
    let out = drb(&t, &["run", "m.drbook", "--run-id", "b"]);
    out.expect_status(1).expect_stderr("ValidationException");
    let error = step_error(&t, "b", "put");
    assert!(error.contains("ValidationException"), "the AWS error code: {error}");
    assert!(error.contains("/ssm/drbook-reserved"), "the parameter: {error}");
}
