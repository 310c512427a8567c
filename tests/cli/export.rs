//! `drbook export --format dr-plan`: golden documents for every shipped runbook and the main
//! fixtures, secrets masked, `--output` written atomically, bad runbooks refused, and the output
//! readable both as drbook's `DrPlan` and by a consumer that knows only the guide's keys.

use crate::plan::plan_params;
use crate::{drbook_files, golden, report, stem, Test, TODAY};
use serde::Deserialize;

/// Fixtures exported as well as every `runbooks/*.drbook`.
const FIXTURES: &[&str] = &[
    "tests/fixtures/ok/language-example.drbook",
    "tests/fixtures/ok/actions.drbook",
    "tests/fixtures/ok/drills.drbook",
    "tests/fixtures/ok/trigger.drbook",
    "tests/fixtures/ok/params-secrets.drbook",
    "tests/fixtures/ok/objectives.drbook",
];

fn export(path: &str, extra: &[&str]) -> crate::Output {
    let params = plan_params(path);
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    Test::new()
        .in_crate_root()
        .args(&["export", path, "--format", "dr-plan", "--today", TODAY])
        .args(&params)
        .args(extra)
        .run()
}

fn exported() -> Vec<String> {
    let mut paths = drbook_files("runbooks");
    paths.extend(FIXTURES.iter().map(|p| p.to_string()));
    paths
}

#[test]
fn export_matches_golden_files_for_every_runbook() {
    let mut failures = Vec::new();
    for path in exported() {
        let out = export(&path, &[]);
        out.expect_no_crash();
        if out.status != 0 {
            failures.push(format!("{path}: exit {}\n{}", out.status, out.stderr));
            continue;
        }
        if let Err(e) = golden(&format!("tests/golden/export/{}.yaml", stem(&path)), &out.stdout) {
            failures.push(e);
        }
    }
    report(failures);
}

#[test]
fn export_is_deterministic() {
    let path = "runbooks/regional-failover.drbook";
    let first = export(path, &[]);
    first.expect_status(0);
    let second = export(path, &[]);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn every_export_reads_back_as_a_dr_plan() {
    for path in exported() {
        let out = export(&path, &[]);
        out.expect_status(0);
        let doc: drbook::drplan::DrPlan = serde_saphyr::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{path}: the export does not read back: {e}"));
        let steps = doc.procedures.and_then(|p| p.failover).map(|f| f.steps).unwrap_or_default();
        assert!(!steps.is_empty(), "{path}: no failover steps");
    }
}

/// What a consumer of the guide's template reads: its keys only, nothing of `x-drbook`.
#[derive(Deserialize)]
struct GuideDoc {
    metadata: GuideMetadata,
    executive_summary: GuideSummary,
    procedures: GuideProcedures,
}
#[derive(Deserialize)]
struct GuideMetadata {
    document_version: String,
    owner: String,
}
#[derive(Deserialize)]
struct GuideSummary {
    key_metrics: GuideMetrics,
}
#[derive(Deserialize)]
struct GuideMetrics {
    rto_target: String,
    rpo_target: String,
}
#[derive(Deserialize)]
struct GuideProcedures {
    failover: GuideFailover,
}
#[derive(Deserialize)]
struct GuideFailover {
    manual_trigger: GuideManual,
    steps: Vec<GuideStep>,
}
#[derive(Deserialize)]
struct GuideManual {
    authorization_required: String,
}
#[derive(Deserialize)]
struct GuideStep {
    step: u32,
    action: String,
    owner: String,
    duration: String,
    command: Option<String>,
}

#[test]
fn a_consumer_of_the_guides_template_reads_the_regional_failover_export() {
    // The guide's own template reads into the consumer's shape: the shape is the guide's.
    let template = std::fs::read_to_string(
        crate::crate_root().join("tests/fixtures/dr-plan/guide-template.yaml"),
    )
    .expect("read the guide's template");
    let guide: GuideDoc = serde_saphyr::from_str(&template).expect("the guide's template");
    assert_eq!(guide.procedures.failover.steps.len(), 7);

    let out = export("runbooks/regional-failover.drbook", &[]);
    out.expect_status(0);
    let doc: GuideDoc =
        serde_saphyr::from_str(&out.stdout).expect("the export in the guide's shape");
    assert_eq!(doc.metadata.document_version.len(), 64, "the content hash");
    assert!(!doc.metadata.owner.is_empty());
    assert_eq!(doc.executive_summary.key_metrics.rto_target, "1 hour");
    assert_eq!(doc.executive_summary.key_metrics.rpo_target, "15 minutes");
    let steps = &doc.procedures.failover.steps;
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s.step as usize, i + 1, "steps are numbered in order");
        assert!(!s.action.is_empty() && !s.owner.is_empty() && !s.duration.is_empty());
    }
    assert!(steps.iter().any(|s| s.command.is_some()), "run steps carry their command");
    assert!(
        !doc.procedures.failover.manual_trigger.authorization_required.is_empty(),
        "the gates' roles authorise the failover"
    );
}

const SECRET: &str = "hunter2-EXPORT-5d1c0a";

#[test]
fn a_secret_value_never_reaches_the_exported_document() {
    let runbook = r#"runbook "rotate" {
  owner "security"
  rto   30m
  secret token = env("DRBOOK_TEST_SECRET")
  step call "Rotate with the token" {
    duration 1m
    run      "rotate --token ${token}"
    rollback run "revoke --token ${token}"
  }
  step tell "Tell the channel" {
    needs    call
    duration 1m
    notify   "https://hooks.example.com/${token}" "rotated ${token}"
  }
}
"#;
    let t = Test::new().file("rotate.drbook", runbook).env("DRBOOK_TEST_SECRET", SECRET);
    let out = t.cmd(&["export", "rotate.drbook", "--format", "dr-plan"]);
    out.expect_status(0);
    assert!(out.stdout.contains("<secret:token>"), "{}", out.stdout);
    assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET), "{}", out.stdout);
    let out = t.cmd(&["export", "rotate.drbook", "--format", "dr-plan", "--output", "plan.yaml"]);
    out.expect_status(0);
    let written = t.read("plan.yaml");
    assert!(written.contains("<secret:token>") && !written.contains(SECRET), "{written}");
    assert!(written.contains("failback"), "the rollback becomes the failback:\n{written}");
}

#[test]
fn output_writes_the_file_and_nothing_on_stdout() {
    let t = Test::new().copy("runbooks/quickstart.drbook", "quickstart.drbook");
    let out = t.cmd(&["export", "quickstart.drbook", "--format", "dr-plan", "--output", "dr.yaml"]);
    out.expect_status(0);
    assert_eq!(out.stdout, "");
    out.expect_stderr("dr.yaml");
    let printed = t.cmd(&["export", "quickstart.drbook", "--format", "dr-plan"]);
    assert_eq!(t.read("dr.yaml"), printed.stdout);
}

#[test]
fn a_bad_runbook_exits_2_and_writes_nothing() {
    let t = Test::new().file("bad.drbook", "runbook \"x\" {\n  rto 1h\n  step a \"A\" {\n");
    let out = t.cmd(&["export", "bad.drbook", "--format", "dr-plan", "--output", "dr.yaml"]);
    out.expect_status(2);
    out.expect_stderr("bad.drbook:");
    assert!(!t.path("dr.yaml").exists(), "nothing is written for a bad runbook");
}
