//! The `ssm` actions and `ssm("/name")` secrets, run against the in-suite SSM server
//! ([`crate::ssmd`]): what drbook sends, how it polls, judges, cancels, re-attaches after a
//! crash, and that a parameter read as a secret never leaves the process.

use crate::runkit::{
    count, drb, drb_spawn, files_under, journal_path, runbook, status_json, step_state, STATE,
};
use crate::ssmd::{aws_isolated, SsmServer};
use crate::{Output, Test};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A test directory holding `s.drbook` (`rb`), with the environment of a drbook that talks to
/// `server`.
fn setup(server: &SsmServer, rb: &str) -> Test {
    server.env(Test::new().file("s.drbook", rb))
}

/// `drbook run s.drbook --run-id ID ARGS`.
fn run(t: &Test, id: &str, args: &[&str]) -> Output {
    let mut all = vec!["run", "s.drbook", "--run-id", id];
    all.extend(args);
    drb(t, &all)
}

/// The `error` of step `step` in `status ID --format json`.
fn step_error(t: &Test, id: &str, step: &str) -> String {
    let st = status_json(t, id);
    let steps = st["steps"].as_array().expect("`steps` is an array").clone();
    let s = steps.iter().find(|s| s["id"] == step).unwrap_or_else(|| panic!("no step {step}"));
    s["error"].as_str().unwrap_or("").to_string()
}

/// Everything a person could read about run `id`: stdout, stderr and the step logs.
fn everything(t: &Test, id: &str, out: &Output) -> String {
    let mut all = format!("{}\n{}\n", out.stdout, out.stderr);
    for f in files_under(&t.path(STATE).join("runs").join(id).join("logs")) {
        all.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
    }
    all
}

/// Whether some line of `text` names `instance` and (in any case) `status`.
fn status_line(text: &str, instance: &str, status: &str) -> bool {
    let status = status.to_lowercase();
    text.lines().any(|l| l.contains(instance) && l.to_lowercase().contains(&status))
}

/// Every `CommandId` any request named, in order.
fn command_ids_polled(server: &SsmServer) -> Vec<String> {
    server
        .all_calls()
        .iter()
        .filter(|c| c.op != "SendCommand")
        .filter_map(|c| c.body["CommandId"].as_str().map(str::to_string))
        .collect()
}

/// The journal's `step_remote` records so far (a line being written is skipped).
fn remote_records(t: &Test, id: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(journal_path(t, id)).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|j| serde_json::from_str::<Value>(j).ok())
        .filter(|r| r["event"] == "step_remote")
        .collect()
}

/// Polls until run `id` journaled a `step_remote` record; returns the first.
#[track_caller]
fn wait_remote(t: &Test, id: &str) -> Value {
    let start = Instant::now();
    loop {
        if let Some(r) = remote_records(t, id).into_iter().next() {
            return r;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no step_remote in the journal");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The one request of `op`, asserting there was exactly one.
#[track_caller]
fn only(server: &SsmServer, op: &str) -> Value {
    let calls = server.calls(op);
    assert_eq!(calls.len(), 1, "exactly one {op}; requests: {:?}", server.ops());
    calls.into_iter().next().expect("one call")
}

/// Whether a JSON field is absent, null or an empty array.
fn empty(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

#[test]
fn a_command_on_two_instances_sends_one_request_and_captures_their_combined_output() {
    let server = SsmServer::start();
    let rb = runbook(
        "fleet",
        r#"
  param target = "web"
  step fleet {
    duration 5s
    ssm command "AWS-RunShellScript" {
      instances  ["i-ok1", "i-ok2"]
      parameters { commands = ["deploy ${target}", "uptime"]; workingDirectory = ["/srv/app"] }
      max_concurrency "50%"
      max_errors      "0"
      comment         "fleet deploy"
    }
    capture out from stdout
    idempotent
  }
  step keep { needs fleet; duration 1s; run "printf '%s\n' ${steps.fleet.out} > captured"; idempotent }"#,
    );
    let t = setup(&server, &rb);
    let out = run(&t, "f1", &["--param", "target=a b; rm -rf /"]);
    out.expect_status(0);

    let sent = only(&server, "SendCommand");
    assert_eq!(sent["DocumentName"], "AWS-RunShellScript");
    assert_eq!(sent["InstanceIds"], json!(["i-ok1", "i-ok2"]));
    assert!(empty(&sent["Targets"]), "no Targets with instance ids: {sent}");
    assert_eq!(
        sent["Parameters"],
        json!({ "commands": ["deploy 'a b; rm -rf /'", "uptime"], "workingDirectory": ["/srv/app"] }),
        "interpolated values in `commands` are one shell word each, elsewhere as they are"
    );
    assert_eq!(
        (&sent["MaxConcurrency"], &sent["MaxErrors"], &sent["Comment"]),
        (&json!("50%"), &json!("0"), &json!("fleet deploy"))
    );

    assert_eq!(t.read("captured"), "hello from i-ok1\nhello from i-ok2\n", "instance order");
    for i in ["i-ok1", "i-ok2"] {
        assert!(status_line(&out.stdout, i, "success"), "a status line for {i}:\n{}", out.stdout);
        assert!(out.stdout.contains(&format!("hello from {i}")), "{i}'s output:\n{}", out.stdout);
    }
    let log = t.path(STATE).join("runs/f1/logs/fleet.log");
    let log = std::fs::read_to_string(&log).expect("the step has a log");
    assert!(log.contains("i-ok1") && log.contains("i-ok2"), "the log names the instances:\n{log}");

    let id = server.command_ids().remove(0);
    let polled = command_ids_polled(&server);
    assert!(!polled.is_empty() && polled.iter().all(|p| *p == id), "polls name {id}: {polled:?}");
    let asked: Vec<Value> =
        server.calls("GetCommandInvocation").iter().map(|c| c["InstanceId"].clone()).collect();
    for i in ["i-ok1", "i-ok2"] {
        assert!(asked.contains(&json!(i)), "GetCommandInvocation for {i}: {asked:?}");
    }
    assert!(server.calls("CancelCommand").is_empty(), "nothing to cancel");
    let auth = &server.all_calls()[0].authorization;
    assert!(auth.contains("Credential=test/") && auth.contains("/us-east-1/ssm/"), "{auth}");
}

#[test]
fn tag_targets_are_sent_as_targets_and_their_instances_learned_from_the_invocations() {
    let server = SsmServer::start();
    let rb = runbook(
        "tags",
        r#"
  step web {
    duration 5s
    ssm command "AWS-RunShellScript" {
      targets    { tag "role" = "web" }
      parameters { commands = ["systemctl start api"] }
    }
    capture out from stdout
    idempotent
  }
  step keep { needs web; duration 1s; run "printf '%s\n' ${steps.web.out} > captured"; idempotent }"#,
    );
    let t = setup(&server, &rb);
    let out = run(&t, "g1", &[]);
    out.expect_status(0);
    let sent = only(&server, "SendCommand");
    assert_eq!(sent["Targets"], json!([{ "Key": "tag:role", "Values": ["web"] }]));
    assert!(empty(&sent["InstanceIds"]), "no InstanceIds with tag targets: {sent}");
    assert_eq!(sent["Parameters"], json!({ "commands": ["systemctl start api"] }));
    let listed = server.calls("ListCommandInvocations");
    assert!(!listed.is_empty(), "instances are learned with ListCommandInvocations");
    assert_eq!(listed[0]["CommandId"], json!(server.command_ids()[0]));
    assert_eq!(t.read("captured"), "hello from i-ok1\nhello from i-ok2\n");
    for i in ["i-ok1", "i-ok2"] {
        assert!(status_line(&out.stdout, i, "success"), "a status line for {i}:\n{}", out.stdout);
    }
}

/// Runs a command on `instances` with `max_errors` (none when empty) in a fresh directory.
fn judged(instances: &str, max_errors: &str) -> (Test, SsmServer, Output) {
    let server = SsmServer::start();
    let limit =
        if max_errors.is_empty() { String::new() } else { format!("max_errors \"{max_errors}\"") };
    let rb = runbook(
        "judged",
        &format!(
            r#"
  step fleet {{
    duration 5s
    ssm command "AWS-RunShellScript" {{
      instances  [{instances}]
      parameters {{ commands = ["systemctl restart api"] }}
      {limit}
    }}
    idempotent
  }}"#
        ),
    );
    let t = setup(&server, &rb);
    let out = run(&t, "j", &[]);
    (t, server, out)
}

#[test]
fn a_failed_instance_fails_the_step_unless_max_errors_allows_it() {
    let (t, server, out) = judged(r#""i-ok1", "i-fail1""#, "0");
    out.expect_status(1).expect_stderr("i-fail1");
    assert_eq!(step_state(&t, "j", "fleet"), "failed");
    let error = step_error(&t, "j", "fleet");
    assert!(error.contains("i-fail1"), "the error names the failed instance: {error}");
    assert!(!error.contains("i-ok1"), "and only it: {error}");
    let all = everything(&t, "j", &out);
    assert!(all.contains("boom on i-fail1"), "the failed instance's stderr is shown:\n{all}");
    assert!(status_line(&all, "i-fail1", "failed"), "a status line for i-fail1:\n{all}");
    assert_eq!(server.calls("SendCommand").len(), 1);

    let (t, _server, out) = judged(r#""i-ok1", "i-fail1""#, "1");
    out.expect_status(0);
    assert_eq!(step_state(&t, "j", "fleet"), "succeeded");

    // No max_errors means none allowed; a timed-out invocation is an error too.
    let (t, _server, out) = judged(r#""i-ok1", "i-timeout1""#, "");
    out.expect_status(1).expect_stderr("i-timeout1");
    assert!(step_error(&t, "j", "fleet").contains("i-timeout1"));
}

#[test]
fn a_step_timeout_cancels_the_command_and_fails_the_attempt() {
    let server = SsmServer::start();
    let rb = runbook(
        "slow",
        r#"
  step hang {
    duration 1s
    timeout 1s
    ssm command "AWS-RunShellScript" { instances ["i-slow1"]; parameters { commands = ["sleep 600"] } }
    idempotent
  }"#,
    );
    let t = setup(&server, &rb);
    let start = Instant::now();
    let out = run(&t, "to", &[]);
    out.expect_status(1).expect_stderr("timed out");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    let cancel = only(&server, "CancelCommand");
    assert_eq!(cancel["CommandId"], json!(server.command_ids()[0]));
    assert!(step_error(&t, "to", "hang").contains("timed out"));
    assert_eq!(server.calls("SendCommand").len(), 1, "a timeout is not retried without `retry`");
}

#[test]
fn ctrl_c_cancels_the_command_and_interrupts_the_run() {
    let server = SsmServer::start();
    let rb = runbook(
        "int",
        r#"
  step hang {
    duration 1s
    ssm command "AWS-RunShellScript" { instances ["i-slow1"]; parameters { commands = ["sleep 600"] } }
    idempotent
  }"#,
    );
    let t = setup(&server, &rb);
    let live = drb_spawn(&t, &["run", "s.drbook", "--run-id", "c"]);
    server.wait_for("SendCommand", Duration::from_secs(20));
    // Polling has begun.
    let start = Instant::now();
    while server.calls("SendCommand").len() == server.ops().len() {
        assert!(start.elapsed() < Duration::from_secs(20), "no poll: {:?}", server.ops());
        std::thread::sleep(Duration::from_millis(10));
    }
    live.signal(nix::sys::signal::Signal::SIGINT);
    let out = live.wait();
    out.expect_status(130).expect_stderr("interrupted");
    let cancel = only(&server, "CancelCommand");
    assert_eq!(cancel["CommandId"], json!(server.command_ids()[0]));
    assert_eq!(step_state(&t, "c", "hang"), "interrupted");
}

/// A run SIGKILLed while its step `act` waits on a remote command (`i-wait1`) or automation
/// (`Wait-restart`); then the remote side finishes and `resume` must re-attach to it.
fn killed_while_remote(action: &str, idempotent: bool, kind: &str) {
    let server = SsmServer::start();
    let rb = runbook(
        "remote",
        &format!(
            r#"
  step first {{ duration 1s; run "echo first >> log"; idempotent }}
  step act {{
    needs first
    duration 5s
    {action}
    {}
  }}
  step last {{ needs act; duration 1s; run "echo last >> log"; idempotent }}"#,
            if idempotent { "idempotent" } else { "" }
        ),
    );
    let t = setup(&server, &rb);
    let live = drb_spawn(&t, &["run", "s.drbook", "--run-id", "k"]);
    let record = wait_remote(&t, "k");
    live.signal(nix::sys::signal::Signal::SIGKILL);
    assert_eq!(live.wait().status, -9, "the runner dies of SIGKILL");

    let (start_op, ids) = if kind == "command" {
        ("SendCommand", server.command_ids())
    } else {
        ("StartAutomationExecution", server.automation_ids())
    };
    assert_eq!(ids.len(), 1);
    let id = ids[0].clone();
    assert_eq!(
        (&record["step"], &record["attempt"], &record["kind"], &record["id"]),
        (&json!("act"), &json!(1), &json!(kind), &json!(id)),
        "the journal holds the remote id: {record}"
    );
    let before = server.ops().len();
    server.release();

    let mut out = drb(&t, &["resume", "k"]);
    if out.status == 3 && out.stderr.contains("--interrupted") {
        out = drb(&t, &["resume", "k", "--interrupted", "act=retry"]);
    }
    out.expect_status(0);
    assert_eq!(server.calls(start_op).len(), 1, "resume re-attached: {:?}", server.ops());
    let after: Vec<_> = server.all_calls().into_iter().skip(before).collect();
    assert!(!after.is_empty(), "resume polled the remote side");
    for c in &after {
        let named = c.body["CommandId"].as_str().or(c.body["AutomationExecutionId"].as_str());
        assert_eq!(named, Some(id.as_str()), "{} after resume names {id}: {}", c.op, c.body);
    }
    assert_eq!(step_state(&t, "k", "act"), "succeeded");
    let log = t.path("log");
    assert_eq!((count(&log, "first"), count(&log, "last")), (1, 1));
}

const WAIT_COMMAND: &str = r#"ssm command "AWS-RunShellScript" { instances ["i-wait1"]; parameters { commands = ["promote"] } }
    capture out from stdout
    check out == "hello from i-wait1""#;

#[test]
fn resume_after_sigkill_reattaches_to_the_command_of_an_idempotent_step() {
    killed_while_remote(WAIT_COMMAND, true, "command");
}

#[test]
fn resume_after_sigkill_reattaches_to_the_command_of_a_non_idempotent_step() {
    killed_while_remote(WAIT_COMMAND, false, "command");
}

#[test]
fn resume_after_sigkill_reattaches_to_the_automation_execution() {
    let action = r#"ssm automation "Wait-restart" { parameters { Service = "api" } }"#;
    killed_while_remote(action, true, "automation");
}

#[test]
fn an_automation_runs_to_success_with_its_parameters() {
    let server = SsmServer::start();
    let rb = runbook(
        "auto",
        r#"
  param region = "eu-west-1"
  step restart {
    duration 5s
    ssm automation "Ok-restart" { parameters { Service = "api server"; Region = "${region}" } }
    idempotent
  }"#,
    );
    let t = setup(&server, &rb);
    run(&t, "a", &[]).expect_status(0);
    let started = only(&server, "StartAutomationExecution");
    assert_eq!(started["DocumentName"], "Ok-restart");
    assert_eq!(
        started["Parameters"],
        json!({ "Service": ["api server"], "Region": ["eu-west-1"] })
    );
    let id = server.automation_ids().remove(0);
    let polls = server.calls("GetAutomationExecution");
    assert!(polls.len() >= 3, "polled until Success: {polls:?}");
    assert!(polls.iter().all(|p| p["AutomationExecutionId"] == json!(id)));
    assert!(server.calls("StopAutomationExecution").is_empty());
    assert_eq!(step_state(&t, "a", "restart"), "succeeded");
}

#[test]
fn a_failed_automation_names_its_failed_step() {
    let server = SsmServer::start();
    let rb = runbook(
        "autofail",
        r#"
  step restart { duration 5s; ssm automation "Fail-restart"; idempotent }"#,
    );
    let t = setup(&server, &rb);
    let out = run(&t, "af", &[]);
    out.expect_status(1).expect_stderr("restartService");
    let error = step_error(&t, "af", "restart");
    assert!(error.contains("restartService"), "the error names the failed step: {error}");
    assert!(!error.contains("stopService"), "and not the one that succeeded: {error}");
    assert_eq!(step_state(&t, "af", "restart"), "failed");
}

#[test]
fn an_automation_timeout_stops_the_execution() {
    let server = SsmServer::start();
    let rb = runbook(
        "autoslow",
        r#"
  step restart { duration 1s; timeout 1s; ssm automation "Slow-restart"; idempotent }"#,
    );
    let t = setup(&server, &rb);
    let start = Instant::now();
    run(&t, "as", &[]).expect_status(1).expect_stderr("timed out");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    let stop = only(&server, "StopAutomationExecution");
    assert_eq!(stop["AutomationExecutionId"], json!(server.automation_ids()[0]));
    assert!(step_error(&t, "as", "restart").contains("timed out"));
}

#[test]
fn an_unknown_automation_document_fails_with_the_aws_error() {
    let server = SsmServer::start();
    let rb = runbook("nodoc", r#"  step s { duration 1s; ssm automation "AWS-Nope"; idempotent }"#);
    let t = setup(&server, &rb);
    run(&t, "nd", &[]).expect_status(1);
    let error = step_error(&t, "nd", "s");
    assert!(error.contains("InvalidDocument"), "the AWS error code is shown: {error}");
}

#[test]
fn ssm_put_writes_strings_and_secure_strings_with_overwrite() {
    let server = SsmServer::with_parameters(&[("/dr/active-region", "String", "us-east-1")]);
    let rb = runbook(
        "put",
        r#"
  param region = "eu-west-1"
  step region { duration 1s; ssm put "/dr/active-region" = "${region}"; idempotent }
  step token  { needs region; duration 1s; ssm put "/dr/token" = "tok-${region}" secure; idempotent }"#,
    );
    let t = setup(&server, &rb);
    run(&t, "p", &[]).expect_status(0);
    let puts = server.calls("PutParameter");
    let want = [
        json!({ "Name": "/dr/active-region", "Value": "eu-west-1", "Type": "String", "Overwrite": true }),
        json!({ "Name": "/dr/token", "Value": "tok-eu-west-1", "Type": "SecureString", "Overwrite": true }),
    ];
    assert_eq!(puts.len(), 2, "{puts:?}");
    for (got, want) in puts.iter().zip(&want) {
        for k in ["Name", "Value", "Type", "Overwrite"] {
            assert_eq!(got[k], want[k], "{k} of {got}");
        }
    }
    assert_eq!(server.parameter("/dr/active-region"), Some(("String".into(), "eu-west-1".into())));
    assert_eq!(
        server.parameter("/dr/token"),
        Some(("SecureString".into(), "tok-eu-west-1".into()))
    );
}

/// Distinctive, with characters that need shell quoting.
const DB_URL: &str = "postgres://admin:Pa55-w0rd-7e1f@db.internal/prod?x=1&y='2'";

#[test]
fn a_secret_read_from_ssm_reaches_the_step_and_no_output_or_state_file() {
    let server = SsmServer::with_parameters(&[("/prod/db-url", "SecureString", DB_URL)]);
    let rb = runbook(
        "sec",
        r#"
  secret db = ssm("/prod/db-url")
  step use {
    duration 1s
    run "printf '%s\n' ${db} > got; echo using ${db}; echo ${db} >&2"
    capture seen from stdout
    idempotent
  }"#,
    );
    let t = setup(&server, &rb);
    let out = run(&t, "sec", &["--report", "r.json"]);
    out.expect_status(0);
    assert_eq!(t.read("got"), format!("{DB_URL}\n"), "the step got the value");
    let get = only(&server, "GetParameter");
    assert_eq!((&get["Name"], &get["WithDecryption"]), (&json!("/prod/db-url"), &json!(true)));
    assert!(out.stdout.contains("<secret:db>"), "shown as a placeholder:\n{}", out.stdout);

    let outputs = [
        ("run", out),
        ("status", drb(&t, &["status", "sec"])),
        ("status json", drb(&t, &["status", "sec", "--format", "json"])),
        ("resume", drb(&t, &["resume", "sec"])),
    ];
    for (what, o) in &outputs {
        for text in [&o.stdout, &o.stderr] {
            assert!(!text.contains("Pa55-w0rd"), "the secret leaked to {what}:\n{text}");
        }
    }
    let mut files = files_under(&t.path(STATE));
    files.push(t.path("r.json"));
    assert!(files.contains(&journal_path(&t, "sec")), "the journal is searched: {files:?}");
    for f in &files {
        let text =
            String::from_utf8_lossy(&std::fs::read(f).expect("read a state file")).into_owned();
        assert!(!text.contains("Pa55-w0rd"), "the secret is in {}", f.display());
    }
}

#[test]
fn a_missing_ssm_parameter_stops_the_run_before_any_step() {
    let server = SsmServer::start();
    let rb = runbook(
        "nosec",
        r#"
  secret db = ssm("/prod/missing")
  step first { duration 1s; run "touch ran"; idempotent }
  step use   { needs first; duration 1s; run "echo ${db}"; idempotent }"#,
    );
    let t = setup(&server, &rb);
    let out = run(&t, "m", &[]);
    out.expect_status(2).expect_stderr("/prod/missing");
    let lower = out.stderr.to_lowercase();
    assert!(lower.contains("parameternotfound") || lower.contains("not found"), "{}", out.stderr);
    assert!(!t.path("ran").exists(), "no step ran");
    assert_eq!(server.calls("GetParameter").len(), 1);
}

#[test]
fn without_credentials_the_run_stops_before_any_step() {
    let server = SsmServer::start();
    let rb = runbook(
        "nocreds",
        r#"
  step first { duration 1s; run "touch ran"; idempotent }
  step put   { needs first; duration 1s; ssm put "/dr/x" = "y"; idempotent }"#,
    );
    let t = aws_isolated(Test::new().file("s.drbook", &rb))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_SSM", &server.url());
    let out = run(&t, "nc", &[]);
    out.expect_status(2);
    assert!(out.stderr.to_lowercase().contains("credentials"), "a clear message:\n{}", out.stderr);
    assert!(!t.path("ran").exists(), "no step ran");
    assert!(server.ops().is_empty(), "nothing was sent: {:?}", server.ops());
}

#[test]
fn aws_region_and_aws_profile_flags_choose_what_requests_are_signed_with() {
    let server = SsmServer::start();
    let rb = runbook("flags", r#"  step put { duration 1s; ssm put "/dr/x" = "y"; idempotent }"#);
    let t = setup(&server, &rb);
    run(&t, "r", &["--aws-region", "eu-west-1"]).expect_status(0);
    let auth = server.all_calls()[0].authorization.clone();
    assert!(auth.contains("/eu-west-1/ssm/aws4_request"), "signed for eu-west-1: {auth}");

    let server = SsmServer::start();
    let config = "[profile dr]\nregion = eu-central-1\n\
                  aws_access_key_id = AKIDPROFILEDR\naws_secret_access_key = profile-secret\n";
    let t = aws_isolated(Test::new().file("s.drbook", &rb).file("aws-config", config));
    let config_path = t.path("aws-config").display().to_string();
    let t = t.env("AWS_CONFIG_FILE", &config_path).env("AWS_ENDPOINT_URL_SSM", &server.url());
    run(&t, "p", &["--aws-profile", "dr"]).expect_status(0);
    let auth = server.all_calls()[0].authorization.clone();
    assert!(auth.contains("Credential=AKIDPROFILEDR/"), "the profile's key: {auth}");
    assert!(auth.contains("/eu-central-1/ssm/aws4_request"), "the profile's region: {auth}");
}
