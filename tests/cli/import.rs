//! `drbook import`: the guide's template into golden runbooks that check and are formatted,
//! the prose-duration warning, `--output`/`--force`, a hostile corpus that is refused with a
//! location and writes nothing, and the round trip through `drbook export`.

use crate::{golden, report, Test, TODAY};
use drbook::drplan::{prose, DrPlan, ProcedureStep};
use std::time::Duration;

const TEMPLATE: &str = "tests/fixtures/dr-plan/guide-template.yaml";

fn imported() -> Test {
    let t = Test::new().copy(TEMPLATE, "guide-template.yaml");
    t.cmd(&["import", "guide-template.yaml", "--output", "guide-template.drbook"])
        .expect_no_crash()
        .expect_status(0)
        .expect_stderr("wrote guide-template-failback.drbook (the failback procedure)");
    t
}

#[test]
fn the_guides_template_imports_into_golden_runbooks_that_check_and_are_formatted() {
    let t = imported();
    let mut failures = Vec::new();
    for name in ["guide-template", "guide-template-failback"] {
        let file = format!("{name}.drbook");
        if let Err(e) = golden(&format!("tests/golden/import/{name}.drbook"), &t.read(&file)) {
            failures.push(e);
        }
        t.cmd(&["check", "--today", TODAY, &file]).expect_status(0);
        t.cmd(&["fmt", "--check", &file]).expect_status(0);
    }
    report(failures);
}

#[test]
fn prose_durations_are_one_warning_naming_failback_steps_1_and_2() {
    let t = Test::new().copy(TEMPLATE, "plan.yaml");
    let out = t.cmd(&["import", "plan.yaml"]);
    out.expect_status(0);
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains("# duration:")).collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains("failback step 1 (`24 hours before`)")
            && lines[0].contains("failback step 2 (`varies based on data volume`)"),
        "{}",
        lines[0]
    );
    assert!(out.stdout.starts_with("runbook \"plan\" {"), "{}", out.stdout);
    out.expect_stderr("give --output FILE to write it as plan-failback.drbook");
}

#[test]
fn an_existing_output_is_replaced_only_with_force() {
    let t = Test::new().copy(TEMPLATE, "plan.yaml").file("rb.drbook", "keep me\n");
    t.cmd(&["import", "plan.yaml", "--output", "rb.drbook", "--name", "dr"])
        .expect_status(2)
        .expect_stderr("`rb.drbook` exists; give --force to replace it");
    assert_eq!(t.read("rb.drbook"), "keep me\n");
    assert!(!t.path("rb-failback.drbook").exists());
    t.cmd(&["import", "plan.yaml", "--output", "rb.drbook", "--name", "dr", "--force"])
        .expect_status(0);
    assert!(t.read("rb.drbook").starts_with("runbook \"dr\" {"));
    assert!(t.read("rb-failback.drbook").starts_with("runbook \"dr-failback\" {"));
}

/// Each hostile document is refused (exit 2) with `FILE:LINE:COL`, a help line and no output
/// file, within a few seconds.
#[test]
fn hostile_documents_are_refused_with_a_location_and_nothing_written() {
    let mut t = Test::new().copy("tests/fixtures/dr-plan/hostile", "hostile");
    let mut huge = b"metadata:\n  owner: \"".to_vec();
    huge.resize(20 * 1024 * 1024, b'x');
    huge.extend_from_slice(b"\"\n");
    t = t.bytes("hostile/huge-scalar.yaml", &huge);
    let mut failures = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(t.path("hostile"))
        .expect("list the corpus")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 11, "{names:?}");
    for name in &names {
        let file = format!("hostile/{name}");
        let out = t.cmd(&["import", &file, "--output", "out.drbook"]);
        out.expect_no_crash();
        let located = out.stderr.contains(&format!("{file}:"))
            && out.stderr.lines().any(|l| l.contains(&file) && l.matches(':').count() >= 2);
        if out.status != 2 || !located || !out.stderr.contains("help:") {
            failures.push(format!("{name}: status {}\n{}", out.status, out.stderr));
        }
        if out.elapsed > Duration::from_secs(5) {
            failures.push(format!("{name}: took {:?}", out.elapsed));
        }
        if t.path("out.drbook").exists() || t.path("out-failback.drbook").exists() {
            failures.push(format!("{name}: wrote an output file"));
        }
    }
    report(failures);
}

fn steps(doc: &DrPlan, failback: bool) -> Vec<ProcedureStep> {
    let p = doc.procedures.as_ref().expect("procedures");
    let p = if failback { p.failback.as_ref() } else { p.failover.as_ref() };
    p.expect("the procedure").steps.clone()
}

fn parsed(text: &str) -> DrPlan {
    serde_saphyr::from_str(text).expect("a DR plan document")
}

/// Import, then export: every step's action, owner, duration and command survive (a prose
/// duration that is not a length is the one thing that cannot).
#[test]
fn import_then_export_keeps_every_steps_action_owner_duration_and_command() {
    let t = imported();
    let input = parsed(&std::fs::read_to_string(crate::crate_root().join(TEMPLATE)).expect("read"));
    for (file, failback) in
        [("guide-template.drbook", false), ("guide-template-failback.drbook", true)]
    {
        let out = t.cmd(&["export", "--today", TODAY, file]);
        out.expect_status(0);
        let back = steps(&parsed(&out.stdout), false);
        // The failback runbook starts with its prerequisites step.
        let back = if failback { back[1..].to_vec() } else { back };
        let want = steps(&input, failback);
        assert_eq!(back.len(), want.len(), "{file}");
        for (b, w) in back.iter().zip(&want) {
            assert_eq!(b.action, w.action, "{file}");
            assert_eq!(b.command, w.command, "{file}");
            if w.owner.is_some() {
                assert_eq!(b.owner, w.owner, "{file}");
            }
            let length = w.duration.as_deref().and_then(prose::parse_duration);
            if length.is_some() {
                assert_eq!(b.duration.as_deref().and_then(prose::parse_duration), length, "{file}");
                assert_eq!(b.duration, w.duration, "{file}");
            } else {
                assert_eq!(b.duration, None, "{file}");
            }
        }
    }
    let fb = parsed(&t.cmd(&["export", "--today", TODAY, "guide-template-failback.drbook"]).stdout);
    let first = &steps(&fb, false)[0];
    assert_eq!(first.action.as_deref(), Some("Confirm the failback prerequisites"));
}

/// An exported document imported again keeps drbook's own step data (ids, needs, approvals).
#[test]
fn an_exported_document_imports_back_with_its_ids_and_gates() {
    let t = imported();
    let doc = t.cmd(&["export", "--today", TODAY, "guide-template.drbook"]);
    doc.expect_status(0);
    let t2 = Test::new().file("again.yaml", &doc.stdout);
    let out = t2.cmd(&["import", "again.yaml", "--output", "again.drbook"]);
    out.expect_status(0);
    let again = t2.read("again.drbook");
    let first = t.read("guide-template.drbook");
    let ids = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.trim_start().starts_with("step "))
            .map(|l| l.trim().to_string())
            .collect()
    };
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(
        again.matches("approval { by on_call_lead, engineering_manager }").count(),
        1,
        "{again}"
    );
    t2.cmd(&["check", "--today", TODAY, "again.drbook"]).expect_status(0);
}

/// `restores` and `safe` from a runbook survive export and import.
#[test]
fn restores_and_safe_survive_export_then_import() {
    let t = Test::new().file(
        "svc.drbook",
        r#"runbook "svc" {
  owner "team"
  rto   1h
  objectives {
    service "api" { rto 15m; rpo 0s; tier critical }
  }

  step probe "Probe the API" {
    duration 1m
    safe
    run      "true"
  }

  step bring_up "Bring the API up" {
    needs    probe
    duration 5m
    restores "api"
    run      "echo up"
  }
}
"#,
    );
    let doc = t.cmd(&["export", "--today", TODAY, "svc.drbook", "--output", "svc.yaml"]);
    doc.expect_status(0);
    t.cmd(&["import", "svc.yaml", "--output", "back.drbook"]).expect_status(0);
    let back = t.read("back.drbook");
    let flat = back.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "step probe \"Probe the API\" {",
        "safe",
        "step bring_up \"Bring the API up\" { needs probe",
        "restores \"api\"",
        "run \"echo up\"",
    ] {
        assert!(flat.contains(want), "{want} in\n{back}");
    }
    t.cmd(&["check", "--today", TODAY, "back.drbook"]).expect_status(0);
}
