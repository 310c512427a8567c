//! `drbook diff`: golden diffs of fixture pairs (every diff kind and risk label) in every
//! format, the JSON schema, exit codes, secrets, and `--git REV` on a real repository.

use crate::{golden, json, report, Output, Test, TODAY};
use serde_json::Value;
use std::process::Command;

/// Fixture pairs `tests/fixtures/diff/NAME.old.drbook` / `NAME.new.drbook` with golden diffs.
const PAIRS: &[&str] = &["steps", "header", "risks", "roles-removed", "same", "trigger"];

fn diff(name: &str, extra: &[&str]) -> Output {
    let old = format!("tests/fixtures/diff/{name}.old.drbook");
    let new = format!("tests/fixtures/diff/{name}.new.drbook");
    Test::new().in_crate_root().args(&["diff", &old, &new, "--today", TODAY]).args(extra).run()
}

fn diff_json(name: &str) -> Value {
    let out = diff(name, &["--format", "json"]);
    out.expect_no_crash();
    json(&out)
}

#[test]
fn diff_output_matches_golden_files_in_every_format() {
    let mut failures = Vec::new();
    for name in PAIRS {
        for (format, ext) in [("text", "txt"), ("json", "json"), ("markdown", "md")] {
            let out = diff(name, &["--format", format]);
            out.expect_no_crash();
            let want = if *name == "same" { 0 } else { 1 };
            if out.status != want {
                failures
                    .push(format!("{name} --format {format}: exit {}\n{}", out.status, out.stderr));
                continue;
            }
            if let Err(e) = golden(&format!("tests/golden/diff/{name}.{ext}"), &out.stdout) {
                failures.push(e);
            }
        }
    }
    report(failures);
}

fn changes<'a>(doc: &'a Value, id: &str) -> Vec<&'a str> {
    let step = doc["steps"]["changed"]
        .as_array()
        .expect("a changed array")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("step `{id}` is not changed"));
    step["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["field"].as_str().expect("a field"))
        .collect()
}

fn kinds(doc: &Value) -> Vec<(String, Value)> {
    doc["risks"]
        .as_array()
        .expect("a risks array")
        .iter()
        .map(|r| (r["kind"].as_str().expect("a kind").to_string(), r["step"].clone()))
        .collect()
}

#[test]
fn diff_json_has_the_documented_schema() {
    let doc = diff_json("steps");
    let keys: Vec<&str> = doc.as_object().expect("an object").keys().map(String::as_str).collect();
    for key in ["steps", "header", "risks", "rto", "critical_path", "warnings"] {
        assert!(keys.contains(&key), "no `{key}` in {keys:?}");
    }
    assert_eq!(doc["steps"]["added"], serde_json::json!(["notify_team"]));
    assert_eq!(doc["steps"]["removed"], serde_json::json!(["old_cleanup"]));
    assert_eq!(
        changes(&doc, "snapshot"),
        ["owner", "duration", "timeout", "when", "safe", "verify", "action"]
    );
    assert_eq!(
        changes(&doc, "restore"),
        ["duration", "needs", "retry", "action", "rollback", "captures", "env", "workdir"]
    );
    let restore = &doc["steps"]["changed"][1]["changes"];
    let action = restore
        .as_array()
        .expect("present in the diff")
        .iter()
        .find(|c| c["field"] == "action")
        .expect("present in the diff");
    assert_eq!(action["before"]["kind"], "run");
    assert!(action["lines"]
        .as_array()
        .expect("present in the diff")
        .contains(&Value::from("+restore --verify --strict")));
    // Params are filled in as the plan fills them.
    let snapshot = &doc["steps"]["changed"][0]["changes"];
    let action = snapshot
        .as_array()
        .expect("present in the diff")
        .iter()
        .find(|c| c["field"] == "action")
        .expect("present in the diff");
    assert_eq!(action["after"]["script"], "snapshot --region eu-west-1 --full");
    assert_eq!(doc["rto"]["before"], 1020);
    assert_eq!(doc["rto"]["after"], 1800);
    assert_eq!(doc["rto"]["delta_seconds"], 780);
    assert_eq!(doc["critical_path"]["after"][3], "notify_team");
    assert_eq!(doc["warnings"]["new"][0]["code"], "drbook::lint::no_owner");
    assert_eq!(doc["warnings"]["fixed"][0]["code"], "drbook::lint::no_owner");
    for r in doc["risks"].as_array().expect("present in the diff") {
        assert!(r["kind"].is_string() && r["message"].is_string(), "{r}");
    }
}

#[test]
fn diff_header_shows_params_secrets_roles_and_budget() {
    let doc = diff_json("header");
    let fields: Vec<&str> = doc["header"]
        .as_array()
        .expect("present in the diff")
        .iter()
        .map(|c| c["field"].as_str().expect("present in the diff"))
        .collect();
    for f in [
        "rto",
        "rpo",
        "parallel",
        "on_failure",
        "approvals",
        "drills",
        "param.region",
        "param.added",
        "param.dropped",
        "secret.token",
        "role.lead",
    ] {
        assert!(fields.contains(&f), "no header change `{f}` in {fields:?}");
    }
    assert!(!fields.contains(&"param.ticket"), "an unchanged param is not a change");
    let secret = doc["header"]
        .as_array()
        .expect("present in the diff")
        .iter()
        .find(|c| c["field"] == "secret.token")
        .expect("present in the diff");
    assert_eq!(secret["before"], "env TOKEN");
    assert_eq!(secret["after"], "ssm /prod/token");
    let lead = doc["header"]
        .as_array()
        .expect("present in the diff")
        .iter()
        .find(|c| c["field"] == "role.lead")
        .expect("present in the diff");
    assert_eq!(lead["after"], serde_json::json!(["alice"]), "bob lost the right to approve");
}

#[test]
fn diff_labels_every_risk() {
    let doc = diff_json("risks");
    let step = |s: &str| Value::from(s);
    assert_eq!(
        kinds(&doc),
        [
            ("role_widened".to_string(), Value::Null),
            ("role_widened".to_string(), Value::Null),
            ("approval_removed".to_string(), step("gate")),
            ("two_person_gate_reduced".to_string(), step("two_person")),
            ("rollback_removed".to_string(), step("undoable")),
            ("made_non_idempotent".to_string(), step("repeatable")),
            ("check_removed".to_string(), step("measured")),
            ("measure_rpo_removed".to_string(), step("measured")),
            ("timeout_removed".to_string(), step("bounded")),
            ("on_failure_continue".to_string(), step("strict")),
            ("unguarded_side_effect".to_string(), step("delete_bucket")),
        ]
    );
    let doc = diff_json("roles-removed");
    assert_eq!(kinds(&doc), [("role_widened".to_string(), Value::Null)]);
}

#[test]
fn diff_exit_codes_follow_diff() {
    diff("same", &[]).expect_status(0);
    diff("steps", &[]).expect_status(1);
    diff("steps", &["--exit-zero"]).expect_status(0);
    // Either side invalid: exit 2 with the diagnostics as `check` prints them.
    let out = diff("invalid", &[]);
    out.expect_status(2).expect_stderr("drbook::check::empty_approval");
    out.expect_stderr("failed: tests/fixtures/diff/invalid.new.drbook (1 error");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let out =
        Test::new().in_crate_root().args(&["diff", "tests/fixtures/diff/same.old.drbook"]).run();
    out.expect_status(2);
}

#[test]
fn diff_never_shows_a_secret_value() {
    let secret = "s3cr3t-DIFF-value";
    for format in ["text", "json", "markdown"] {
        let out = Test::new()
            .in_crate_root()
            .env("DIFF_TOKEN", secret)
            .args(&[
                "diff",
                "tests/fixtures/diff/steps.old.drbook",
                "tests/fixtures/diff/steps.new.drbook",
            ])
            .args(&["--format", format, "--today", TODAY])
            .run();
        out.expect_status(1);
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret), "{format} leaks");
        assert!(out.stdout.contains("<secret:token>"), "{format}: {}", out.stdout);
    }
}

fn git(t: &Test, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(t.path(""))
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const MODULE_V1: &str = r#"
template probe(url) {
  http GET "${url}"
}
"#;

const MODULE_V2: &str = r#"
template probe(url) {
  http HEAD "${url}"
}
"#;

fn book(extra: &str) -> String {
    format!(
        r#"import "./lib/probes.drbook" as probes
runbook "gitbook" {{
  owner "ops"
  rto 1h
  step check_it "Probe" {{
    duration 1m
    use probes.probe(url = "https://example.com/health")
  }}
{extra}}}
"#
    )
}

#[test]
fn diff_git_compares_a_revision_with_the_working_tree() {
    let step = "  step promote \"Promote\" {\n    needs check_it\n    duration 5m\n    run \"promote\"\n    rollback run \"demote\"\n  }\n";
    let t = Test::new()
        .file("books/lib/probes.drbook", MODULE_V1)
        .file("books/a.drbook", &book(""))
        .file("books/gone.drbook", &book(""));
    git(&t, &["init", "-q"]);
    git(&t, &["add", "."]);
    git(&t, &["commit", "-qm", "v1"]);
    // v2: a step added, and the imported module changed.
    std::fs::write(t.path("books/a.drbook"), book(step)).expect("change the working tree");
    std::fs::write(t.path("books/lib/probes.drbook"), MODULE_V2).expect("change the working tree");
    git(&t, &["commit", "-qam", "v2"]);
    // The working tree: the promote step loses its rollback, a file goes and one comes.
    std::fs::write(
        t.path("books/a.drbook"),
        book(&step.replace("    rollback run \"demote\"\n", "")),
    )
    .expect("present in the diff");
    std::fs::remove_file(t.path("books/gone.drbook")).expect("change the working tree");
    std::fs::write(t.path("books/new.drbook"), book("")).expect("change the working tree");
    git(&t, &["add", "books/new.drbook"]);

    let out = t.cmd(&["diff", "--git", "HEAD~1", "--format", "json", "--today", TODAY]);
    out.expect_status(1);
    let doc = json(&out);
    let files = doc["files"].as_array().expect("a files array");
    let file = |name: &str| {
        files.iter().find(|f| f["file"] == name).unwrap_or_else(|| panic!("no `{name}` in {doc}"))
    };
    let a = file("books/a.drbook");
    assert_eq!(a["steps"]["added"], serde_json::json!(["promote"]));
    // The import was read at HEAD~1 too: the template's old method.
    let fields: Vec<&str> = a["steps"]["changed"][0]["changes"]
        .as_array()
        .expect("changes of check_it")
        .iter()
        .map(|c| c["field"].as_str().expect("present in the diff"))
        .collect();
    assert_eq!(fields, ["action"]);
    assert_eq!(a["risks"][0]["kind"], "unguarded_side_effect");
    assert_eq!(file("books/gone.drbook")["steps"]["removed"], serde_json::json!(["check_it"]));
    assert_eq!(file("books/new.drbook")["steps"]["added"], serde_json::json!(["check_it"]));

    // Against HEAD (v2) only the rollback's removal shows, for a named file.
    let out =
        t.cmd(&["diff", "--git", "HEAD", "books/a.drbook", "--format", "json", "--today", TODAY]);
    out.expect_status(1);
    let doc = json(&out);
    assert_eq!(doc["files"][0]["risks"][0]["kind"], "rollback_removed");

    // The PR comment: the plan's summary first, then the same diff, then the plan.
    let out = t.cmd(&[
        "plan",
        "books/a.drbook",
        "--format",
        "markdown",
        "--diff-base",
        "HEAD",
        "--today",
        TODAY,
    ]);
    out.expect_status(0);
    let md = &out.stdout;
    let (summary, diff_at) = (md.find("estimated RTO"), md.find("rollback_removed"));
    assert!(summary.is_some() && diff_at.is_some() && summary < diff_at, "{md}");
    assert!(md.lines().next().is_some_and(|l| l.ends_with(" · 1 risk")), "{md}");
    t.cmd(&["plan", "books/a.drbook", "--format", "json", "--diff-base", "HEAD"]).expect_status(2);

    // A revision that does not exist is invalid input.
    t.cmd(&["diff", "--git", "no-such-rev", "books/a.drbook"]).expect_status(2);
}

#[test]
fn diff_text_is_coloured_only_when_asked_or_on_a_terminal() {
    let args =
        ["diff", "tests/fixtures/diff/steps.old.drbook", "tests/fixtures/diff/steps.new.drbook"];
    let plain = Test::new().in_crate_root().without_color_flag().args(&args).run();
    plain.expect_status(1);
    assert!(!plain.stdout.contains('\x1b'), "piped output has no colour");
    let coloured = Test::new()
        .in_crate_root()
        .without_color_flag()
        .args(&args)
        .args(&["--color", "always"])
        .run();
    assert!(coloured.stdout.contains("\x1b[32m"), "{}", coloured.stdout);
}

#[test]
fn diff_shows_control_characters_as_visible_escapes() {
    let book = |run: &str, owner: &str| {
        format!(
            "runbook \"e\" {{\n  owner \"{owner}\"\n  rto 1h\n  step a \"A\" {{\n    duration 1m\n    run \"{run}\"\n    idempotent\n  }}\n}}\n"
        )
    };
    let t = Test::new()
        .file("old.drbook", &book("echo one", "ops"))
        .file("new.drbook", &book("echo \x1b[2J two", "ops\x1b[8m"));
    for format in ["text", "markdown"] {
        let out =
            t.cmd(&["diff", "old.drbook", "new.drbook", "--format", format, "--today", TODAY]);
        out.expect_status(1);
        assert!(!out.stdout.contains('\x1b'), "{format}: a raw escape reaches the terminal");
    }
}

#[test]
fn every_shipped_runbook_diffed_with_itself_has_no_difference() {
    let mut failures = Vec::new();
    for path in crate::drbook_files("runbooks") {
        let out = Test::new().in_crate_root().args(&["diff", &path, &path, "--today", TODAY]).run();
        out.expect_no_crash();
        if out.status != 0 || !out.stdout.contains("no differences") {
            failures.push(format!("{path}: exit {}\n{}{}", out.status, out.stdout, out.stderr));
        }
    }
    report(failures);
}

#[test]
fn diff_labels_every_change_that_makes_the_trigger_fire_more_easily() {
    let doc = diff_json("trigger");
    let got: Vec<String> = kinds(&doc)
        .into_iter()
        .map(|(k, step)| {
            assert_eq!(step, Value::Null, "{k} is a header risk");
            k
        })
        .collect();
    assert_eq!(
        got,
        [
            "trigger_auto",
            "trigger_fewer_failures",
            "trigger_quorum_reduced",
            "trigger_cooldown_shortened",
            "trigger_rpo_gate_removed"
        ]
    );
    // The other way round, firing becomes harder: no risk, but every change is listed.
    let back = Test::new()
        .in_crate_root()
        .args(&[
            "diff",
            "tests/fixtures/diff/trigger.new.drbook",
            "tests/fixtures/diff/trigger.old.drbook",
            "--today",
            TODAY,
            "--format",
            "json",
        ])
        .run();
    let back = json(&back);
    assert_eq!(kinds(&back), []);
    let fields: Vec<&str> = back["header"]
        .as_array()
        .expect("header changes")
        .iter()
        .map(|c| c["field"].as_str().expect("a field"))
        .collect();
    assert!(fields.contains(&"trigger.requires") && fields.contains(&"trigger.probe.dns"));
}

#[test]
fn diff_labels_a_new_trigger_and_one_that_needs_fewer_approvers() {
    let base = "runbook \"t\" {\n  owner \"o\"\n  rto 1h\n  roles {\n    lead = [\"a\"]\n    manager = [\"b\"]\n  }\n  drills {\n    full every 90d\n  }\nTRIGGER\n  step a {\n    duration 1m\n    run \"x\"\n    idempotent\n  }\n}\n";
    let trigger = |requires: &str| {
        format!("  trigger {{\n    probe p run \"true\"\n    requires {requires}\n  }}")
    };
    let t = Test::new()
        .file("none.drbook", &base.replace("TRIGGER", ""))
        .file("auto.drbook", &base.replace("TRIGGER", &trigger("auto")))
        .file("two.drbook", &base.replace("TRIGGER", &trigger("approval { by lead, manager }")))
        .file("one.drbook", &base.replace("TRIGGER", &trigger("approval { by lead }")));
    let risks = |old: &str, new: &str| {
        let out = t.cmd(&["diff", old, new, "--today", TODAY, "--format", "json"]);
        kinds(&json(&out)).into_iter().map(|(k, _)| k).collect::<Vec<_>>()
    };
    assert_eq!(risks("none.drbook", "auto.drbook"), ["trigger_added", "trigger_auto"]);
    assert_eq!(risks("none.drbook", "two.drbook"), ["trigger_added"]);
    assert_eq!(risks("two.drbook", "one.drbook"), ["trigger_approval_reduced"]);
    assert_eq!(risks("one.drbook", "two.drbook"), Vec::<String>::new());
}
