//! The CI examples in `docs/ci/`: valid YAML with the triggers, permissions and steps the
//! README promises, shell that parses, and the one marker the comment is found by.

use crate::crate_root;
use serde_norway::Value;

const MARKER: &str = "<!-- drbook-plan -->";

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(crate_root().join(path)).expect("read a CI example");
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// `bash -n`: the script parses.
fn parses_as_bash(what: &str, script: &str) {
    let out = std::process::Command::new("bash")
        .args(["-n", "-c", script])
        .output()
        .expect("run bash -n");
    assert!(out.status.success(), "{what}: {}\n{script}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_github_workflow_runs_on_runbook_changes_and_may_write_the_comment() {
    let doc = yaml("docs/ci/github-actions.yml");
    let paths = strings(&doc["on"]["pull_request"]["paths"]);
    assert!(paths.iter().any(|p| p == "**/*.drbook"), "{paths:?}");
    assert_eq!(doc["permissions"]["pull-requests"].as_str(), Some("write"));
    assert_eq!(doc["permissions"]["contents"].as_str(), Some("read"));
    let steps = doc["jobs"]["plan"]["steps"].as_sequence().expect("the plan job's steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    for r in &runs {
        parses_as_bash("a run step", r);
    }
    let all = runs.join("\n");
    assert!(all.contains("drbook check"), "{all}");
    assert!(all.contains("drbook plan \"$f\" --format markdown --diff-base \"$BASE\""), "{all}");
    assert!(all.contains(MARKER), "the comment carries the marker: {all}");
    let checkout = steps.iter().find(|s| s["uses"].as_str() == Some("actions/checkout@v4"));
    assert_eq!(checkout.expect("a checkout")["with"]["fetch-depth"].as_u64(), Some(0));
    let script = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/github-script@")))
        .and_then(|s| s["with"]["script"].as_str())
        .expect("a github-script step");
    for needle in [MARKER, "listComments", "updateComment", "createComment", "65536"] {
        assert!(script.contains(needle), "the comment script lacks {needle}: {script}");
    }
}

#[test]
fn the_gitlab_job_runs_on_merge_requests_and_edits_one_note() {
    let doc = yaml("docs/ci/gitlab-ci.yml");
    let job = &doc["drbook"];
    let rule = &job["rules"][0];
    assert_eq!(rule["if"].as_str(), Some("$CI_PIPELINE_SOURCE == \"merge_request_event\""));
    assert!(strings(&rule["changes"]).iter().any(|p| p == "**/*.drbook"));
    let script = strings(&job["script"]);
    for line in &script {
        parses_as_bash("a script line", line);
    }
    let all = script.join("\n");
    for needle in [MARKER, "drbook check", "drbook plan", "--diff-base", "-X PUT", "/notes"] {
        assert!(all.contains(needle), "the job lacks {needle}: {all}");
    }
}

/// The `run` script of the GitHub workflow's step named `name`.
fn github_step(name: &str, key: &str) -> String {
    let doc = yaml("docs/ci/github-actions.yml");
    let steps = doc["jobs"]["plan"]["steps"].as_sequence().expect("steps").clone();
    let step = steps.iter().find(|s| s["name"].as_str() == Some(name)).expect("the step");
    let v = if key == "script" { &step["with"]["script"] } else { &step[key] };
    v.as_str().expect("a script").to_string()
}

fn sh(dir: &std::path::Path, script: &str, envs: &[(&str, String)]) -> std::process::Output {
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", script]).current_dir(dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run bash");
    assert!(
        out.status.success(),
        "{script}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const PR_BOOK: &str = r#"runbook "a" {
  owner "o"; rto 1h
  param change_ticket: string
  step s {
    duration 1m
    run "echo ticket ${change_ticket}"
    idempotent
  }
}
"#;

#[test]
fn the_github_plan_step_plans_each_changed_runbook_into_one_marked_comment() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let write = |p: &str, text: &str| {
        let path = d.join(p);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("runbooks/a.drbook", PR_BOOK);
    write("runbooks/a.params", "# for review\nchange_ticket = CHG-0000\n");
    write("runbooks/old.drbook", &PR_BOOK.replace("\"a\"", "\"old\""));
    write("runbooks/b.drbook", &PR_BOOK.replace("\"a\"", "\"b\""));
    write("runbooks/b.params", "change_ticket = CHG-1\n");
    write("lib/m.drbook", "template hi() {\n  run \"echo hi\"\n  idempotent\n}\n");
    let git = "git -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false";
    sh(
        d,
        &format!("git init -q -b main . && git add -A && {git} commit -qm base && git branch base"),
        &[],
    );
    write("runbooks/a.drbook", &PR_BOOK.replace("duration 1m", "duration 2m"));
    write("lib/m.drbook", "template hi() {\n  run \"echo hello\"\n  idempotent\n}\n");
    write("runbooks/b.params", "change_ticket = CHG-2\n");
    std::fs::remove_file(d.join("runbooks/old.drbook")).expect("remove a runbook");
    sh(d, &format!("git add -A && {git} commit -qm change"), &[]);

    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_drbook")).parent().expect("bin dir");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let envs = [("PATH", path), ("BASE", "base".into()), ("GITHUB_SHA", "0123456789abcdef".into())];
    sh(d, &github_step("Plan and diff the changed runbooks", "run"), &envs);
    let comment = std::fs::read_to_string(d.join("drbook-comment.md")).expect("the comment");
    assert!(comment.starts_with(MARKER), "{comment}");
    assert!(comment.contains("2 runbook(s) changed, 1 removed"), "{comment}");
    assert!(comment.contains("### `runbooks/b.drbook`"), "its params changed: {comment}");
    assert!(comment.contains("- removed: `runbooks/old.drbook`"), "{comment}");
    assert!(comment.contains("### `runbooks/a.drbook`"), "{comment}");
    assert!(!comment.contains("### `lib/m.drbook`"), "a module has no plan: {comment}");
    // The plan step asks for the diff against the base in the plan (`--diff-base`): once
    // `plan` has it, the runbook is planned with the params beside it; until then the comment
    // shows why planning failed.
    let help = sh(d, "drbook plan --help", &envs);
    if String::from_utf8_lossy(&help.stdout).contains("--diff-base") {
        assert!(comment.contains("CHG-0000"), "planned with a.params: {comment}");
        assert!(comment.contains("CHG-2"), "planned with b.params: {comment}");
    } else {
        assert!(comment.contains("**drbook plan failed** (exit 2)"), "{comment}");
    }
}

/// Runs the workflow's github-script against `comments` (a stand-in for the GitHub API that
/// records the calls) and returns the calls it made.
fn comment_calls(comments: &str, body: &str) -> Option<serde_json::Value> {
    if std::process::Command::new("node").arg("--version").output().is_err() {
        eprintln!("node is not installed: the comment script is not exercised");
        return None;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("drbook-comment.md"), body).expect("write the body");
    std::fs::write(
        dir.path().join("script.js"),
        github_step("Post or update the drbook comment", "script"),
    )
    .expect("write the script");
    let harness = r#"
const fs = require('fs');
const calls = [];
const existing = JSON.parse(process.env.COMMENTS);
const github = {
  paginate: async (fn, args) => { calls.push(['list', args.issue_number]); return existing; },
  rest: { issues: {
    listComments: 'listComments',
    updateComment: async a => calls.push(['update', a.comment_id, a.body]),
    createComment: async a => calls.push(['create', a.issue_number, a.body]),
  } },
};
const context = { repo: { owner: 'o', repo: 'r' }, issue: { number: 7 } };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', fs.readFileSync('script.js', 'utf8'))(
  require, github, context).then(() => console.log(JSON.stringify(calls)));
"#;
    let out = std::process::Command::new("node")
        .args(["-e", harness])
        .current_dir(dir.path())
        .env("COMMENTS", comments)
        .output()
        .expect("run node");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).expect("the calls as JSON"))
}

#[test]
fn the_comment_is_created_once_then_edited_in_place() {
    let body = format!("{MARKER}\n## drbook\n");
    let Some(calls) = comment_calls("[]", &body) else { return };
    assert_eq!(calls[1][0], "create", "{calls}");
    assert_eq!(calls[1][1], 7, "{calls}");
    assert_eq!(calls[1][2], body.as_str(), "{calls}");
    // A person quoting the marker is not the bot's comment; the bot's own one is edited.
    let comments = serde_json::json!([
        { "id": 1, "user": { "type": "User" }, "body": format!("> {MARKER} quoted") },
        { "id": 2, "user": { "type": "Bot" }, "body": "another bot" },
        { "id": 3, "user": { "type": "Bot" }, "body": format!("{MARKER}\nold plan") },
    ]);
    let calls = comment_calls(&comments.to_string(), &body).expect("node");
    assert_eq!(calls.as_array().map(Vec::len), Some(2), "{calls}");
    assert_eq!(calls[1][0], "update", "{calls}");
    assert_eq!(calls[1][1], 3, "{calls}");
}

#[test]
fn a_body_over_the_comment_limit_is_cut_with_a_notice() {
    let body = format!("{MARKER}\n{}", "x".repeat(70_000));
    let Some(calls) = comment_calls("[]", &body) else { return };
    let sent = calls[1][2].as_str().expect("a body");
    assert!(sent.chars().count() <= 65_536, "{}", sent.len());
    assert!(sent.starts_with(MARKER));
    assert!(sent.contains("Cut to fit a comment"), "{}", &sent[sent.len() - 200..]);
}
