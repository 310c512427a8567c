//! A secret's value never appears in any output; it is shown as `<secret:NAME>`.

use crate::{Test, TODAY};

const VALUE: &str = "hunter2-DRBOOK-7c1e9f";

const RUNBOOK: &str = r#"import "std/notify"

runbook "secrets" {
  owner "security"
  rto   1h

  param who = "ops"

  secret token = env("DRBOOK_TEST_SECRET")

  step call "Call the API with the token in the URL, a header and the body" {
    duration 1m
    http POST "https://api.example.com/rotate?token=${token}" {
      header "Authorization" = "Bearer ${token}"
      body   "{\"token\": \"${token}\"}"
    }
    idempotent
  }

  step shell "Use the token in a script and its rollback" {
    needs    call
    duration 1m
    env { TOKEN = "${token}" }
    run      "login --token ${token} --user ${who}"
    verify   run "login --check --token ${token}"
    rollback run "logout --token ${token}"
  }

  step store "Write the token to SSM" {
    needs    shell
    duration 1m
    ssm put "/app/token" = "${token}" secure
    idempotent
  }

  step tell "Notify with the token in the URL and the text" {
    needs    store
    duration 1m
    notify   "https://hooks.example.com/${token}" "token ${token} rotated"
    idempotent
  }

  step tell_again "Through a template argument" {
    needs    tell
    duration 1m
    use      notify.slack(webhook = "${token}", text = "again ${token}")
  }

  step fleet "In SSM command targets, commands and comment" {
    needs    tell_again
    duration 1m
    ssm command "AWS-RunShellScript" {
      targets    { tag "Token" = "${token}" }
      parameters { commands = ["use ${token}"] }
      comment    "with ${token}"
    }
    idempotent
  }
}
"#;

fn run(args: &[&str]) -> crate::Output {
    let out = Test::new()
        .file("secrets.drbook", RUNBOOK)
        .env("DRBOOK_TEST_SECRET", VALUE)
        .args(args)
        .arg("secrets.drbook")
        .run();
    out.expect_no_crash();
    assert!(
        !out.stdout.contains(VALUE) && !out.stderr.contains(VALUE),
        "drbook {args:?} printed the secret\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr
    );
    out
}

#[test]
fn secret_values_never_appear_in_plans() {
    for format in ["text", "json", "markdown", "mermaid"] {
        let out = run(&["plan", "--today", TODAY, "--format", format]);
        out.expect_status(0);
        if format != "mermaid" {
            assert!(out.stdout.contains("<secret:token>"), "--format {format}\n{}", out.stdout);
        }
    }
}

#[test]
fn every_use_of_a_secret_is_a_placeholder_in_the_json_plan() {
    let out = run(&["plan", "--today", TODAY, "--format", "json"]);
    let doc = crate::json(&out);
    let steps = doc["steps"].as_array().expect("steps");
    let action = |id: &str| -> &serde_json::Value {
        &steps.iter().find(|s| s["id"] == id).expect("a step")["action"]
    };
    assert_eq!(action("call")["url"], "https://api.example.com/rotate?token=<secret:token>");
    assert_eq!(action("call")["headers"]["Authorization"], "Bearer <secret:token>");
    assert_eq!(action("call")["body"], "{\"token\": \"<secret:token>\"}");
    assert_eq!(action("shell")["script"], "login --token <secret:token> --user ops");
    assert_eq!(action("store")["value"], "<secret:token>");
    assert_eq!(action("tell")["text"], "token <secret:token> rotated");
    // A value derived from a secret through a template argument stays a secret.
    assert_eq!(action("tell_again")["url"], "<secret:token>");
    assert_eq!(action("tell_again")["text"], "again <secret:token>");
    assert_eq!(action("fleet")["parameters"]["commands"][0], "use <secret:token>");
}

#[test]
fn secret_values_never_appear_in_check_output() {
    run(&["check", "--today", TODAY, "--format", "json"]).expect_status(0);
    run(&["check", "--today", TODAY]).expect_status(0);
    run(&["check", "--today", TODAY, "--strict"]).expect_status(0);
}

#[test]
fn secret_values_never_appear_in_diagnostics() {
    // An error next to the secret: the snippet shows source text, never the value.
    let broken = RUNBOOK.replace("needs    call", "needs    cal");
    let out = Test::new()
        .file("secrets.drbook", &broken)
        .env("DRBOOK_TEST_SECRET", VALUE)
        .args(&["plan", "--today", TODAY, "secrets.drbook"])
        .run();
    out.expect_status(2).expect_stderr("did you mean `call`?");
    assert!(!out.stderr.contains(VALUE), "{}", out.stderr);
}
