//! Language features that shape how steps run: the header's `env`, `workdir` and `shell`, and
//! `finally` steps, exercised with real runs.

use crate::runkit::{drb, journal, runbook, step_states};
use crate::Test;

#[test]
fn env_merges_runbook_then_template_then_step_per_key() {
    let module = r#"template t() {
  env { B = "template"; C = "template" }
}
"#;
    let body = r#"
  env { A = "runbook"; B = "runbook"; C = "runbook" }
  workdir "work"
  step a {
    duration 1s
    use m.t()
    env { C = "step" }
    run "echo $A $B $C > out.txt; pwd > where.txt"
    rollback run "true"
  }
  step b {
    needs a
    duration 1s
    workdir "elsewhere"
    run "echo $A $B $C > out.txt"
    idempotent
  }"#;
    let text = format!("import \"./m.drbook\"\n{}", runbook("merge", body));
    let t = Test::new()
        .file("book/m.drbook", module)
        .file("book/merge.drbook", &text)
        .file("book/work/.keep", "")
        .file("book/elsewhere/.keep", "");
    drb(&t, &["run", "book/merge.drbook", "--run-id", "r1"]).expect_status(0);
    // A relative `workdir` is relative to the runbook file, in the header as in a step.
    assert_eq!(t.read("book/work/out.txt").trim(), "runbook template step");
    assert!(t.read("book/work/where.txt").trim().ends_with("book/work"));
    assert_eq!(t.read("book/elsewhere/out.txt").trim(), "runbook runbook runbook");
}

#[test]
fn header_shell_runs_scripts_and_rollbacks_with_it() {
    let body = r#"
  shell "bash"
  on_failure rollback
  step a {
    duration 1s
    run "set -o pipefail; true | true"
    rollback run "set -o pipefail; echo undone-by-$0 > undone.txt"
  }
  step b {
    needs a
    duration 1s
    run "set -o pipefail; false | true"
    idempotent
  }"#;
    let t = Test::new().file("sh.drbook", &runbook("sh", body));
    // Under bash, pipefail makes `b`'s pipeline fail; `a`'s rollback runs under bash too.
    drb(&t, &["run", "sh.drbook", "--run-id", "r1"]).expect_status(4);
    assert_eq!(t.read("undone.txt").trim(), "undone-by-bash");
    let plan = t.cmd(&["plan", "sh.drbook"]);
    plan.expect_status(0);
    assert!(plan.stdout.contains("shell    bash"), "{}", plan.stdout);
}

#[test]
fn default_shell_is_sh() {
    let body = r#"
  step a { duration 1s; run "echo $0 > shell.txt"; idempotent }"#;
    let t = Test::new().file("d.drbook", &runbook("d", body));
    drb(&t, &["run", "d.drbook", "--run-id", "r1"]).expect_status(0);
    assert_eq!(t.read("shell.txt").trim(), "sh");
}

#[test]
fn a_missing_shell_stops_the_run_before_any_step() {
    let body = r#"
  shell "no-such-shell-xyz"
  step a { duration 1s; run "touch ran.txt"; idempotent }"#;
    let t = Test::new().file("m.drbook", &runbook("m", body));
    drb(&t, &["run", "m.drbook", "--run-id", "r1"])
        .expect_status(2)
        .expect_stderr("no-such-shell-xyz");
    assert!(!t.path("ran.txt").exists());
    let _ = (step_states, journal);
}
