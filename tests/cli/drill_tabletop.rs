//! `drbook drill FILE --type tabletop`, end to end with real processes: every step would write a
//! marker file or reach a local HTTP server, and the drill must do neither. The team answers
//! from other shells (`drbook approve` = ready, `drbook deny --reason` = issue found, either
//! with `--update`), the drill pauses without a terminal (exit 3) and `resume` goes on until
//! every step, the finally step too, was discussed.

use crate::httpd::{Reply, Server};
use crate::run_approval::wait_until_waiting;
use crate::runkit::{count_events, drb, drb_spawn, journal, status_json, step_json};
use crate::Test;
use serde_json::Value;
use std::time::Duration;

/// A runbook whose every step has an effect: marker files, HTTP requests to `url`, a webhook,
/// an approval gate, a `when` that is false, a manual step and a finally step. Its secret is
/// never set: a tabletop drill resolves none.
fn runbook(url: &str) -> String {
    format!(
        r#"runbook "tabletop" {{
  owner "ops"
  rto 1h
  param region = "us-west-2"
  secret token = env("TABLETOP_TOKEN_NEVER_SET")
  roles {{ lead = ["alice"] }}

  step check "Check the primary" {{
    owner "oncall"
    duration 2m
    http GET "{url}/health"
    idempotent
  }}
  step promote "Promote the DR database" {{
    needs check
    owner "database-team"
    duration 10m
    approval {{ by lead }}
    run "echo promoted ${{region}} ${{token}} >> marks"
    rollback run "echo demoted >> marks"
  }}
  step announce {{
    needs check
    duration 1m
    when region == "eu-west-1"
    notify "{url}/hook" "failover to ${{region}}"
    idempotent
  }}
  step dns {{
    needs promote, announce
    duration 5m
    http POST "{url}/dns" {{ body "{{}}" }}
    idempotent
  }}
  step status_page {{
    needs dns
    duration 1m
    manual "Post the update on status.example.com"
  }}
  finally step cleanup {{
    duration 1m
    run "echo cleanup >> marks"
    idempotent
  }}
}}
"#
    )
}

fn drill(t: &Test, more: &[&str]) -> crate::Output {
    let mut args = vec!["drill", "tt.drbook", "--type", "tabletop", "--run-id", "tt"];
    args.extend(more);
    drb(t, &args)
}

fn answer(t: &Test, verb: &str, step: &str, who: &str, more: &[&str]) -> crate::Output {
    let mut args = vec![verb, "tt", step, "--as", who];
    args.extend(more);
    let out = drb(t, &args);
    out.expect_status(0);
    out
}

fn server() -> Server {
    let s = Server::start();
    for path in ["/health", "/hook", "/dns"] {
        s.route(path, Reply::new(200, "ok"));
    }
    s
}

fn setup(s: &Server) -> Test {
    Test::new().file("tt.drbook", &runbook(&s.url(""))).without_env("TABLETOP_TOKEN_NEVER_SET")
}

/// Nothing the runbook would do happened.
#[track_caller]
fn nothing_executed(t: &Test, s: &Server) {
    assert!(!t.path("marks").exists(), "no step, rollback or finally step ran");
    assert_eq!(s.requests().len(), 0, "no HTTP request, no webhook");
    let records = journal(t, "tt");
    for event in ["step_started", "step_process", "approval_requested", "undo_started"] {
        let n = records.iter().filter(|r| r["event"] == event).count();
        assert_eq!(n, 0, "no `{event}` in a tabletop drill: {records:#?}");
    }
}

#[test]
fn a_tabletop_drill_answered_from_other_shells_executes_nothing_and_keeps_the_findings() {
    let s = server();
    let t = setup(&s);
    let out = drill(&t, &[]);
    out.expect_status(3).expect_stderr("waiting for a person: check (to discuss)");
    // The team sees the step as `plan` renders it, without a terminal too.
    assert!(
        out.stdout.contains("tabletop: discuss step `check` — Check the primary"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!("http GET {}/health", s.url(""))), "{}", out.stdout);
    let st = drb(&t, &["status", "tt"]);
    assert!(st.stdout.contains("check                        discuss"), "{}", st.stdout);
    assert!(st.stdout.contains("waiting for the team to discuss: check"), "{}", st.stdout);

    // Only a step that is shown can be answered.
    let early = drb(&t, &["approve", "tt", "promote", "--as", "ana"]);
    early.expect_status(1).expect_stderr("not up for discussion yet");
    let said = answer(&t, "approve", "check", "ana", &["--comment", "the URL is right"]);
    assert!(said.stdout.contains("ana discussed `check`: ready"), "{}", said.stdout);
    let again = drb(&t, &["approve", "tt", "check", "--as", "ana"]);
    again.expect_status(1).expect_stderr("already discussed");

    // Its dependents are shown next: the action rendered, the secret masked, the approval
    // roles and the `when` shown, nothing evaluated.
    let out = drb(&t, &["resume", "tt"]);
    out.expect_status(3)
        .expect_stderr("promote (to discuss)")
        .expect_stderr("announce (to discuss)");
    assert!(
        out.stdout.contains("run echo promoted us-west-2 '<secret:token>' >> marks")
            || out.stdout.contains("run echo promoted us-west-2 <secret:token> >> marks"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("approval  by lead (not asked: nothing runs)"), "{}", out.stdout);
    assert!(out.stdout.contains("rollback  run echo demoted >> marks"), "{}", out.stdout);
    assert!(
        out.stdout.contains("when      region == \"eu-west-1\" (shown, not evaluated)"),
        "{}",
        out.stdout
    );
    let said = answer(
        &t,
        "deny",
        "promote",
        "bob",
        &["--reason", "the cluster name is hard-coded", "--update", "make the cluster a param"],
    );
    assert!(said.stdout.contains("bob discussed `promote`: issue found: the cluster name is hard-coded; runbook update needed: make the cluster a param"), "{}", said.stdout);
    answer(&t, "approve", "announce", "ana", &["--update", "say which ticket"]);

    drb(&t, &["resume", "tt"]).expect_status(3).expect_stderr("dns (to discuss)");
    answer(&t, "approve", "dns", "ana", &[]);
    drb(&t, &["resume", "tt"]).expect_status(3).expect_stderr("status_page (to discuss)");
    answer(&t, "approve", "status_page", "carol", &[]);
    // The finally step is discussed too, once every other step was.
    drb(&t, &["resume", "tt"]).expect_status(3).expect_stderr("cleanup (to discuss)");
    answer(&t, "approve", "cleanup", "ana", &[]);
    // Every step was discussed; the issue found makes the drill's result FAILED (exit 1).
    let done = drb(&t, &["resume", "tt", "--report", "r.json"]);
    done.expect_status(1).expect_stderr("the tabletop drill FAILED");
    nothing_executed(&t, &s);
    // The final report says what the team said of each step, and no RTO or RPO line: a
    // tabletop ran nothing against the clock (its drill result says "not measured").
    assert!(done.stdout.contains("promote                      issue found"), "{}", done.stdout);
    assert!(done.stdout.contains("check                        ready"), "{}", done.stdout);
    for line in done.stdout.lines() {
        assert!(
            !line.starts_with("RTO:") && !line.starts_with("RPO:") && !line.contains("clock:"),
            "`{line}` in\n{}",
            done.stdout
        );
    }

    let records = journal(&t, "tt");
    for step in ["check", "promote", "announce", "dns", "status_page", "cleanup"] {
        assert_eq!(count_events(&records, "step_discussed", step), 1, "{step}: {records:#?}");
        assert_eq!(step_json(&t, "tt", step)["state"], "succeeded", "{step}");
    }
    let denied = records.iter().find(|r| r["event"] == "step_discussed" && r["step"] == "promote");
    let denied = denied.expect("promote was discussed");
    assert_eq!((&denied["by"], &denied["how"]), (&"bob".into(), &"cli".into()), "{denied}");
    assert!(denied["duration_ms"].as_u64().is_some(), "{denied}");
    assert!(denied["request"].as_str().is_some(), "{denied}");

    let v = status_json(&t, "tt");
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["kind"], "tabletop");
    let findings = v["findings"].as_array().expect("findings");
    let said: Vec<(&str, &str, Option<&str>, Option<&str>)> = findings
        .iter()
        .map(|f| {
            (
                f["step"].as_str().unwrap_or_default(),
                f["by"].as_str().unwrap_or_default(),
                f["issue"].as_str(),
                f["update"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [
            ("check", "ana", None, None),
            (
                "promote",
                "bob",
                Some("the cluster name is hard-coded"),
                Some("make the cluster a param")
            ),
            ("announce", "ana", None, Some("say which ticket")),
            ("dns", "ana", None, None),
            ("status_page", "carol", None, None),
            ("cleanup", "ana", None, None),
        ]
    );
    assert!(findings.iter().all(|f| f["duration_ms"].as_u64().is_some()), "{findings:?}");
    let st = drb(&t, &["status", "tt"]);
    for needle in [
        "findings:",
        "promote                      issue found: the cluster name is hard-coded (by bob",
        "runbook update needed: make the cluster a param",
        "bob discussed `promote`: issue found (cli) — the cluster name is hard-coded",
        "ana discussed `check`: ready (cli) — “the URL is right”",
    ] {
        assert!(st.stdout.contains(needle), "`{needle}` in\n{}", st.stdout);
    }
    // History keeps the drill, its kind and the issue its team found.
    let h = drb(&t, &["history", "--format", "json"]);
    h.expect_status(0);
    let h = crate::json(&h);
    let run = &h["runs"][0];
    assert_eq!((&run["kind"], &run["issues_found"]), (&"tabletop".into(), &1.into()), "{h}");
    assert_eq!(run["success"], false, "{h}");
    // The drill's result, in status and in the report, turns the findings into its issues
    // and the runbook updates needed; a tabletop measures no RTO.
    let report: Value = serde_json::from_str(&t.read("r.json")).expect("the report is JSON");
    for d in [&v["drill"], &report["drill"]] {
        assert_eq!(d["drill_type"], "tabletop", "{d}");
        assert_eq!(d["success"], false, "{d}");
        assert_eq!(d["achieved_rto_seconds"], Value::Null, "{d}");
        let tested = d["steps_tested"].as_array().map_or(0, Vec::len);
        assert_eq!(tested, 6, "every step was discussed: {d}");
        assert_eq!(
            d["issues_found"],
            serde_json::json!([{"step": "promote", "message": "the cluster name is hard-coded"}]),
            "{d}"
        );
        assert_eq!(
            d["runbook_updates_needed"],
            serde_json::json!([
                {"step": "promote", "message": "make the cluster a param"},
                {"step": "announce", "message": "say which ticket"}
            ]),
            "{d}"
        );
    }
}

#[test]
fn a_waiting_tabletop_drill_takes_the_teams_answers_from_another_process() {
    let s = server();
    let t = setup(&s);
    let mut live =
        drb_spawn(&t, &["drill", "tt.drbook", "--type", "tabletop", "--run-id", "tt", "--wait"]);
    let limit = Duration::from_secs(20);
    wait_until_waiting(&t, "tt", "check", &mut live, limit);
    let said = answer(&t, "approve", "check", "ana", &[]);
    assert!(said.stdout.contains("ana discussed `check`: ready"), "{}", said.stdout);
    assert!(said.stderr.contains("handing it to the runner"), "{}", said.stderr);
    wait_until_waiting(&t, "tt", "promote", &mut live, limit);
    wait_until_waiting(&t, "tt", "announce", &mut live, limit);
    answer(&t, "deny", "promote", "bob", &["--reason", "no runbook for the replica"]);
    answer(&t, "approve", "announce", "ana", &[]);
    for step in ["dns", "status_page", "cleanup"] {
        wait_until_waiting(&t, "tt", step, &mut live, limit);
        answer(&t, "approve", step, "ana", &[]);
    }
    let out = live.wait();
    out.expect_no_crash().expect_status(1);
    nothing_executed(&t, &s);
    let v = status_json(&t, "tt");
    let issues: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["issue"].is_string())
        .collect();
    assert_eq!(issues.len(), 1, "{v}");
    assert_eq!(issues[0]["step"], "promote");
    assert!(out.stdout.contains("promote discussed by bob"), "{}", out.stdout);
}

#[test]
fn a_tabletop_drill_cannot_be_rolled_back_and_update_is_only_for_tabletops() {
    let s = server();
    let t = setup(&s);
    drill(&t, &[]).expect_status(3);
    answer(&t, "approve", "check", "ana", &[]);
    let out = drb(&t, &["rollback", "tt", "--yes"]);
    out.expect_status(2).expect_stderr("tabletop drill: it executed nothing");
    nothing_executed(&t, &s);

    // A real run's manual step takes no `--update`.
    let t = Test::new()
        .file("m.drbook", "runbook \"m\" {\n  owner \"ops\"\n  step m { manual \"check\" }\n}\n");
    drb(&t, &["run", "m.drbook", "--run-id", "tt"]).expect_status(3);
    let out = drb(&t, &["approve", "tt", "m", "--update", "x"]);
    out.expect_status(1).expect_stderr("`--update` answers a tabletop drill's step");
}

/// The prompt path at a real terminal: `script` (util-linux) gives the drill a pseudo-terminal
/// and types the team's answers into it. Skipped, saying why, where `script` is missing.
#[test]
fn a_tabletop_drill_at_a_terminal_asks_each_step_at_the_prompt() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed, so no pseudo-terminal");
        return;
    }
    let t = Test::new().file(
        "one.drbook",
        "runbook \"one\" {\n  owner \"ops\"\n  step a \"First\" { duration 1m; run \"touch mark-a\"; idempotent }\n  step b { needs a; run \"touch mark-b\"; idempotent }\n}\n",
    );
    let state = crate::runkit::state(&t);
    let line = format!(
        "{} --color never drill one.drbook --type tabletop --run-id tt --state-dir {state}",
        env!("CARGO_BIN_EXE_drbook")
    );
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(t.path(""))
        .env_remove("CI")
        .env_remove("DRBOOK_STATE_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start script");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut all);
        all
    });
    // Ready with an update, then an issue found: answer, update, name, comment (ready only).
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(b"r\nname the host\nana\nall good\ni\nno owner\n\nbob\n")
        .expect("type the answers");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for script") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the drill did not end at the terminal: {}", reader.join().unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    let shown = reader.join().unwrap_or_default();
    // An issue was found: the drill's result is FAILED (exit 1).
    assert_eq!(status.code(), Some(1), "{shown}");
    assert!(shown.contains("tabletop: discuss step `a` — First"), "{shown}");
    assert!(shown.contains("[r]eady / [i]ssue found:"), "{shown}");
    assert!(!t.path("mark-a").exists() && !t.path("mark-b").exists(), "nothing ran");
    let v = status_json(&t, "tt");
    let f = v["findings"].as_array().expect("findings");
    assert_eq!((&f[0]["by"], &f[0]["update"]), (&"ana".into(), &"name the host".into()), "{v}");
    assert_eq!((&f[1]["by"], &f[1]["issue"]), (&"bob".into(), &"no owner".into()), "{v}");
    let records = journal(&t, "tt");
    let how: Vec<&Value> =
        records.iter().filter(|r| r["event"] == "step_discussed").map(|r| &r["how"]).collect();
    assert_eq!(how, [&Value::from("prompt"), &Value::from("prompt")]);
    let comment = records.iter().find(|r| r["event"] == "step_discussed").map(|r| &r["comment"]);
    assert_eq!(comment, Some(&Value::from("all good")));
}

#[test]
fn a_tabletop_drill_killed_while_the_team_talks_is_resumed_where_it_stood() {
    let s = server();
    let t = setup(&s);
    let mut live =
        drb_spawn(&t, &["drill", "tt.drbook", "--type", "tabletop", "--run-id", "tt", "--wait"]);
    wait_until_waiting(&t, "tt", "check", &mut live, Duration::from_secs(20));
    live.signal(nix::sys::signal::Signal::SIGKILL);
    live.wait();
    // No runner: the answer is journaled by `approve` itself, and the drill goes on from there.
    answer(&t, "approve", "check", "ana", &[]);
    let out = drb(&t, &["resume", "tt"]);
    out.expect_status(3).expect_stderr("promote (to discuss)");
    assert_eq!(count_events(&journal(&t, "tt"), "step_waiting", "check"), 1, "shown once");
    assert_eq!(step_json(&t, "tt", "check")["state"], "succeeded");
    nothing_executed(&t, &s);
    drb(&t, &["drill", "tt.drbook", "--type", "tabletop", "--approve", "promote"])
        .expect_status(2)
        .expect_stderr("a tabletop drill asks for no approval");
}

#[test]
fn a_secret_typed_into_a_tabletop_answer_is_masked_where_it_resolves() {
    let secret = "hunter2-tabletop";
    let book = "runbook \"s\" {\n  owner \"ops\"\n  secret pw = env(\"TT_DRILL_PW\")\n  step a { run \"login ${pw}\"; idempotent }\n  step b { needs a; run \"true\"; idempotent }\n}\n";
    let t = Test::new().file("s.drbook", book).env("TT_DRILL_PW", secret);
    let out = drb(&t, &["drill", "s.drbook", "--type", "tabletop", "--run-id", "tt"]);
    out.expect_status(3);
    assert!(
        out.stdout.contains("login '<secret:pw>'") || out.stdout.contains("login <secret:pw>"),
        "{}",
        out.stdout
    );
    let reason = format!("the script shows {secret}");
    answer(&t, "deny", "a", "bob", &["--reason", &reason, "--update", &format!("rotate {secret}")]);
    // Through a live runner too: `approve` masks before it hands the answer over.
    let mut live = drb_spawn(&t, &["resume", "tt", "--wait"]);
    wait_until_waiting(&t, "tt", "b", &mut live, Duration::from_secs(20));
    answer(&t, "approve", "b", "ana", &["--comment", &format!("pw {secret}")]);
    live.wait().expect_status(1);
    let raw = std::fs::read_to_string(crate::runkit::journal_path(&t, "tt")).expect("journal");
    assert!(!raw.contains(secret), "{raw}");
    assert!(
        raw.contains("the script shows <secret:pw>") && raw.contains("pw <secret:pw>"),
        "{raw}"
    );
    let st = drb(&t, &["status", "tt"]);
    assert!(
        !st.stdout.contains(secret) && st.stdout.contains("rotate <secret:pw>"),
        "{}",
        st.stdout
    );
}

#[test]
fn a_tabletop_drill_posts_its_summary_to_the_notify_drills_secret_and_resolves_no_other() {
    let s = Server::start();
    s.route("/hook", Reply::new(200, "ok"));
    let hook = s.url("/hook");
    let book = "runbook \"n\" {\n  owner \"ops\"\n  secret hook = env(\"TT_DRILL_HOOK\")\n  secret db = env(\"TT_DRILL_DB_NEVER_SET\")\n  notify_drills hook\n  step a { run \"psql ${db}\"; idempotent }\n}\n";
    let t = Test::new()
        .file("n.drbook", book)
        .env("TT_DRILL_HOOK", &hook)
        .without_env("TT_DRILL_DB_NEVER_SET");
    drb(&t, &["drill", "n.drbook", "--type", "tabletop", "--run-id", "tt"]).expect_status(3);
    assert!(s.requests().is_empty(), "nothing posted before the drill ends");
    answer(&t, "approve", "a", "ana", &[]);
    let out = drb(&t, &["resume", "tt"]);
    out.expect_status(0);
    let posted = s.requests_to("/hook");
    assert_eq!(posted.len(), 1, "the summary, once");
    let body = posted[0].body_text();
    assert!(
        body.contains("DR Drill Complete: SUCCESS") && body.contains("Type: tabletop"),
        "{body}"
    );
    assert_eq!(s.requests().len(), 1, "nothing else was reached");

    // Its secret must resolve before the drill starts, as a run's must.
    let t = Test::new().file("n.drbook", book).without_env("TT_DRILL_HOOK");
    let out = drb(&t, &["drill", "n.drbook", "--type", "tabletop"]);
    out.expect_status(2).expect_stderr("`TT_DRILL_HOOK` is not set");
}
