//! Masking every form of a secret drbook itself produces (issue 11 §4): a multi-line value line
//! by line, an `env()` value with a trailing newline, its URL-encoded echo, two overlapping
//! secrets, and refusing values too short to mask. Every output is searched for the values:
//! terminal, journal, step logs, report.

use crate::runkit::{drb, files_under, runbook, STATE};
use crate::{Output, Test};

const KEY: &str = "-----BEGIN DRB TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END DRB TEST KEY-----\n";
const TOK: &str = "Tok3n value&x/y\n";
const A: &str = "abcdefgh-OVR1";
const B: &str = "OVR1-ijklmnop";

/// What must appear nowhere: each line of the key, the token trimmed and URL-encoded, and
/// enough of each overlapping secret to recognise it.
const NEEDLES: [&str; 8] = [
    "MIIEvQIBADANBgkqhkiG9w0B",
    "AQEFAASCBKcwggSjAgEAAoIB",
    "BEGIN DRB TEST KEY",
    "Tok3n value",
    "Tok3n%20value",
    "abcdefgh",
    "ijklmnop",
    "OVR1",
];

const SCRIPT: &str = r#"printf '%s\n' "$K"
echo "token=$T"
python3 -c 'import os, urllib.parse; print("url=" + urllib.parse.quote(os.environ["T"], safe=""))'
printf 'both=%s%s\n' "$A" "$(printf %s "$B" | cut -c5-)"
printf '%s\n' "$K" >&2
printf 'both=%s%s\n' "$A" "$(printf %s "$B" | cut -c5-)" >&2
exit 3
"#;

fn book() -> String {
    runbook(
        "masking",
        r#"
  secret key = file("key.pem")
  secret tok = env("DRBOOK_TEST_TOK")
  secret a   = env("DRBOOK_TEST_A")
  secret b   = env("DRBOOK_TEST_B")
  step show {
    duration 1s
    env {
      K = "${key}"
      T = "${tok}"
      A = "${a}"
      B = "${b}"
    }
    run "sh show.sh"
    idempotent
  }"#,
    )
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for n in NEEDLES {
        assert!(!text.contains(n), "`{n}` leaked to {what}:\n{text}");
    }
}

#[test]
fn every_form_of_a_secret_is_masked_in_every_output() {
    let t = Test::new()
        .file("m.drbook", &book())
        .file("key.pem", KEY)
        .file("show.sh", SCRIPT)
        .env("DRBOOK_TEST_TOK", TOK)
        .env("DRBOOK_TEST_A", A)
        .env("DRBOOK_TEST_B", B);
    let run = drb(&t, &["run", "m.drbook", "--run-id", "m", "--report", "r.json"]);
    run.expect_status(1);
    let mut outs: Vec<(&str, Output)> = vec![("run", run)];
    outs.push(("status", drb(&t, &["status", "m"])));
    outs.push(("status json", drb(&t, &["status", "m", "--format", "json"])));
    for (what, out) in &outs {
        assert_clean(&format!("{what} stdout"), &out.stdout);
        assert_clean(&format!("{what} stderr"), &out.stderr);
    }
    let run = &outs[0].1;
    let python = std::process::Command::new("python3").arg("-V").output().is_ok();
    let url = if python { "url=<secret:tok>" } else { "token=<secret:tok>" };
    for shown in ["token=<secret:tok>", url, "both=<secret:a><secret:b>"] {
        assert!(run.stdout.contains(shown), "run shows `{shown}`:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("<secret:key>"), "{}", run.stdout);
    let mut files = files_under(&t.path(STATE));
    files.push(t.path("r.json"));
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "log")), "{files:?}");
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
        assert_clean(&f.display().to_string(), &text);
    }
}

#[test]
fn a_secret_too_short_to_mask_stops_the_run_before_any_step() {
    let rb = runbook(
        "short",
        r#"
  secret pin = env("DRBOOK_TEST_PIN")
  step s { duration 1s; run "echo ran > ran"; idempotent }"#,
    );
    let t = Test::new().file("s.drbook", &rb).env("DRBOOK_TEST_PIN", "Q7");
    let out = drb(&t, &["run", "s.drbook", "--run-id", "s"]);
    out.expect_status(2)
        .expect_stderr("secret `pin`")
        .expect_stderr("at least 4")
        .expect_stderr("nothing was run");
    assert!(!out.stderr.contains("Q7") && !out.stdout.contains("Q7"), "{}", out.stderr);
    assert!(!t.path("ran").exists(), "no step may run");
}

#[test]
fn comments_and_reasons_given_without_a_runner_are_masked() {
    let rb = runbook(
        "gated",
        r#"
  secret tok = env("DRBOOK_TEST_TOK")
  step one { duration 1s; approval { by a, b }; run "true"; idempotent }
  step two { duration 1s; approval { by a }; run "true"; idempotent }"#,
    );
    let t = Test::new().file("g.drbook", &rb).env("DRBOOK_TEST_TOK", TOK);
    drb(&t, &["run", "g.drbook", "--run-id", "g"]).expect_status(3);
    let comment = format!("pasted by mistake: {}", TOK.trim());
    let out = drb(&t, &["approve", "g", "one", "--as", "alice", "--comment", &comment]);
    out.expect_status(0);
    let reason = format!("no: {}", TOK.trim());
    drb(&t, &["deny", "g", "two", "--as", "bob", "--reason", &reason]).expect_status(0);
    let status = drb(&t, &["status", "g", "--format", "json"]);
    assert_clean("status", &status.stdout);
    let journal = std::fs::read_to_string(crate::runkit::journal_path(&t, "g")).expect("journal");
    assert_clean("the journal", &journal);
    assert!(journal.contains("pasted by mistake: <secret:tok>"), "{journal}");
    assert!(journal.contains("no: <secret:tok>"), "{journal}");

    // Where the secrets cannot be resolved, nothing unmasked is stored.
    let t2 = Test::new().file("g.drbook", &rb).env("DRBOOK_TEST_TOK", TOK);
    drb(&t2, &["run", "g.drbook", "--run-id", "g"]).expect_status(3);
    let t2 = t2.env("DRBOOK_TEST_TOK", "");
    let out = drb(&t2, &["approve", "g", "one", "--as", "alice", "--comment", &comment]);
    out.expect_status(2).expect_stderr("cannot mask secrets in the comment");
    assert_clean("the refusal", &out.stderr);
    let journal = std::fs::read_to_string(crate::runkit::journal_path(&t2, "g")).expect("journal");
    assert_clean("the journal", &journal);
}
