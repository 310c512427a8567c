//! Running safely: hostile param values never execute as shell, secret values never leave the
//! process, timeouts kill the step's whole process group.

use crate::runkit::{drb, files_under, procs_with, runbook, status_json, step_state, STATE};
use crate::Test;
use std::time::{Duration, Instant};

#[test]
fn hostile_param_values_never_execute_as_shell() {
    let rb = runbook(
        "hostile",
        r#"
  param target = "safe"
  step s { duration 1s; run "echo ${target} > out"; idempotent }"#,
    );
    let values = [
        "x; touch pwned; $(touch pwned2) `touch pwned3`",
        "it's'; touch pwned4; echo '",
        "a\" && touch pwned5 && \"b",
        "$(touch pwned6)\n touch pwned7 | touch pwned8 & touch pwned9",
        "--help",
    ];
    let t = Test::new().file("h.drbook", &rb);
    drb(&t, &["run", "h.drbook"]).expect_status(0);
    assert_eq!(t.read("out"), "safe\n");
    for (i, v) in values.iter().enumerate() {
        let id = format!("h{i}");
        let param = format!("target={v}");
        let out = drb(&t, &["run", "h.drbook", "--param", &param, "--run-id", &id]);
        out.expect_status(0);
        assert_eq!(t.read("out"), format!("{v}\n"), "`out` holds the literal value");
        let pwned: Vec<String> = std::fs::read_dir(t.path(""))
            .expect("list the temporary directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("pwned"))
            .collect();
        assert!(pwned.is_empty(), "param {v:?} executed as shell: {pwned:?}");
    }
}

/// Distinctive, with a space and a quote so that shell quoting is exercised too.
const TOKEN: &str = "drb-S3cr3t 'v4lue'-9f1c";

fn secret_runbook() -> String {
    runbook(
        "secretive",
        r#"
  secret token = env("DRBOOK_TEST_TOKEN")
  step show {
    duration 1s
    env { T = "${token}" }
    run "echo token=${token}; echo ${token} >&2; echo env=$T"
    capture seen from regex "token=(.*)"
    idempotent
  }
  step leaky {
    needs show
    duration 1s
    run "echo leaking ${token}; echo ${token} >&2; test -f fixed"
    capture leaked from stdout
    idempotent
  }
  step bad_check {
    needs show
    duration 1s
    on_failure continue
    run "echo ${token}"
    capture v from stdout
    check v
    idempotent
  }"#,
    )
}

#[test]
fn secret_values_appear_in_no_output_journal_log_or_report() {
    let t = Test::new().file("s.drbook", &secret_runbook()).env("DRBOOK_TEST_TOKEN", TOKEN);
    let mut outputs = Vec::new();
    let run = drb(&t, &["run", "s.drbook", "--run-id", "sec", "--report", "r.json"]);
    run.expect_status(1);
    assert_eq!(step_state(&t, "sec", "leaky"), "failed");
    assert_eq!(step_state(&t, "sec", "bad_check"), "failed");
    outputs.push(("run", run));
    outputs.push(("status", drb(&t, &["status"])));
    outputs.push(("status ID", drb(&t, &["status", "sec"])));
    outputs.push(("status json", drb(&t, &["status", "sec", "--format", "json"])));
    std::fs::write(t.path("fixed"), "").expect("fix the cause");
    let resume = drb(&t, &["resume", "sec", "--report", "r.md", "--log-format", "json"]);
    resume.expect_status(0);
    outputs.push(("resume", resume));
    outputs.push(("status after", drb(&t, &["status", "sec", "--format", "json"])));

    for (what, out) in &outputs {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(!text.contains(TOKEN), "the secret leaked to the {stream} of {what}:\n{text}");
            assert!(!text.contains("S3cr3t"), "part of the secret leaked to {what} {stream}");
        }
    }
    let shown = |o: &crate::Output| o.stdout.contains("<secret:token>");
    assert!(shown(&outputs[0].1), "run shows the placeholder:\n{}", outputs[0].1.stdout);
    assert!(shown(&outputs[4].1), "resume shows the placeholder:\n{}", outputs[4].1.stdout);

    let mut files = files_under(&t.path(STATE));
    files.extend([t.path("r.json"), t.path("r.md")]);
    let journal = crate::runkit::journal_path(&t, "sec");
    assert!(files.contains(&journal), "the journal is among the files searched: {files:?}");
    for f in &files {
        let bytes = std::fs::read(f).expect("read a file of the state dir");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(TOKEN) && !text.contains("S3cr3t"), "secret in {}", f.display());
    }
    let journal = std::fs::read_to_string(journal).expect("journal");
    assert!(journal.contains("<secret:token>"), "captures are kept, scrubbed: {journal}");
}

#[test]
fn a_missing_secret_source_stops_the_run_before_any_step() {
    let rb = runbook(
        "nosecret",
        r#"
  secret token = env("DRBOOK_TEST_TOKEN_UNSET")
  step first { duration 1s; run "echo first >> log"; idempotent }
  step use   { needs first; duration 1s; run "echo ${token}"; idempotent }"#,
    );
    let t = Test::new().file("n.drbook", &rb).without_env("DRBOOK_TEST_TOKEN_UNSET");
    let out = drb(&t, &["run", "n.drbook"]);
    out.expect_status(2).expect_stderr("DRBOOK_TEST_TOKEN_UNSET").expect_stderr("not set");
    assert!(!t.path("log").exists(), "no step ran");
    let runs = t.path(STATE).join("runs");
    let recorded = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(recorded, 0, "no run was recorded");
}

#[test]
fn a_timeout_kills_the_steps_whole_process_group() {
    // The first background sleep also ignores SIGTERM: only the group SIGKILL stops it.
    let rb = runbook(
        "slow",
        r#"
  step hang {
    duration 1s
    timeout 1s
    run "(trap '' TERM; sleep 100.7318) & sleep 100.7319 & sleep 100.7319"
    idempotent
  }"#,
    );
    let t = Test::new().file("t.drbook", &rb);
    let start = Instant::now();
    let out = drb(&t, &["run", "t.drbook", "--run-id", "to"]);
    out.expect_status(1).expect_stderr("timed out");
    assert!(start.elapsed() < Duration::from_secs(6), "took {:?}", start.elapsed());
    let st = status_json(&t, "to");
    let hang = &st["steps"][0];
    assert_eq!(hang["state"], "failed");
    assert!(hang["error"].as_str().unwrap_or("").contains("timed out"), "{hang}");
    // Whatever is still dying gets a moment; nothing of the group may survive it.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut left = procs_with("sleep 100.731");
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = procs_with("sleep 100.731");
    }
    assert!(left.is_empty(), "processes of the timed-out step survived: {left:?}");
}

#[test]
fn a_capture_holding_a_secret_reaches_descendants_as_its_value() {
    let rb = runbook(
        "derived",
        r#"
  secret token = env("DRBOOK_TEST_TOKEN")
  step login { duration 1s; run "echo ${token}"; capture t from stdout; idempotent }
  step use {
    needs login
    duration 1s
    run "test ${steps.login.t} = \"$DRBOOK_TEST_TOKEN\" && echo same > verdict || echo differs > verdict"
    idempotent
  }"#,
    );
    let t = Test::new().file("d.drbook", &rb).env("DRBOOK_TEST_TOKEN", "abc-DEF-123");
    drb(&t, &["run", "d.drbook"]).expect_status(0);
    // Today: "differs": the step ran `test '<secret:token>' = "$DRBOOK_TEST_TOKEN"`. At the
    // least it should fail with a clear error rather than run with the placeholder.
    assert_eq!(t.read("verdict"), "same\n");
}

/// A secret interpolated into `run` is in no command line drbook creates (`/proc/PID/cmdline`
/// is readable by every local user): the step's shell gets it through its environment, and
/// still sees the value, hostile characters and all, as one word.
#[test]
fn a_secret_is_never_on_the_command_line_of_a_step() {
    let secret = "s3cr3t 'x'; $(touch pwned) \"y\"";
    let rb = r#"runbook "argv" {
  owner "ops"
  rto 1h
  secret pw = env("DRBOOK_TEST_ARGV_SECRET")
  step s {
    duration 1s
    run "tr '\\0' ' ' < /proc/$$/cmdline > cmdline; printf '%s' ${pw} > seen; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done > all"
  }
}
"#;
    let t = Test::new().file("a.drbook", rb).env("DRBOOK_TEST_ARGV_SECRET", secret);
    drb(&t, &["run", "a.drbook"]).expect_status(0);
    assert_eq!(t.read("seen"), secret, "the step sees the value as one word");
    let cmdline = t.read("cmdline");
    assert!(cmdline.contains("DRBOOK_SECRET_pw"), "the script refers to it: {cmdline}");
    for file in ["cmdline", "all"] {
        assert!(!t.read(file).contains("s3cr3t"), "the secret is on a command line ({file})");
    }
    assert!(!t.path("pwned").exists(), "the value ran as shell");
}

/// A report names people, errors and captured values: it is written 0600 like the journal,
/// also over an existing wider file, and never through a symlink planted at its path.
#[test]
fn reports_are_private_and_never_written_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let rb = crate::runkit::runbook("r", r#"  step a { duration 1s; run "true"; idempotent }"#);
    let t = crate::Test::new()
        .file("r.drbook", &rb)
        .file("wide.json", "old")
        .file("target.txt", "mine");
    std::fs::set_permissions(t.path("wide.json"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    std::os::unix::fs::symlink(t.path("target.txt"), t.path("link.json")).expect("plant a link");
    let d = crate::runkit::drb(&t, &["run", "r.drbook", "--run-id", "r1", "--report", "wide.json"]);
    d.expect_status(0);
    let mode = std::fs::metadata(t.path("wide.json")).expect("report").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the report is owner-only");
    assert!(t.read("wide.json").contains("\"run_id\""), "the report was written");
    let out = crate::runkit::drb(&t, &["report", "r1", "--output", "link.json"]);
    assert_ne!(out.status, 0, "a planted symlink is refused: {}", out.stderr);
    assert_eq!(t.read("target.txt"), "mine", "nothing was written through the symlink");
}
