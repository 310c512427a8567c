//! `contrib/prometheus/drbook-alerts.yml`, the alerting rules shipped for drbook's readiness
//! metrics: Prometheus's own `promtool` checks them (`check rules`) and runs their unit tests
//! (`test rules`, every alert firing and staying silent). Without promtool (Debian package
//! `prometheus`, which .ci/run installs) those tests say SKIPPED; with `DRBOOK_PROMTOOL` set
//! they fail instead when it cannot be run. The rules may name only the metrics drbook
//! writes, every alert must have a unit test, and README's tables list every alert and metric.
//! Last, the rules run against the metrics `drbook readiness` really writes for a runbook that
//! is not ready, and fire exactly the alerts those values call for.

use crate::runkit::drb;
use crate::{crate_root, Test};
use std::path::PathBuf;
use std::process::Command;

/// The metrics `drbook readiness --format prometheus` writes (issue 12, README).
const METRICS: [&str; 12] = [
    "drbook_rto_budget_seconds",
    "drbook_estimated_rto_seconds",
    "drbook_rpo_objective_seconds",
    "drbook_last_achieved_rto_seconds",
    "drbook_last_achieved_rpo_seconds",
    "drbook_last_drill_timestamp_seconds",
    "drbook_last_drill_success",
    "drbook_drill_overdue",
    "drbook_review_due_timestamp_seconds",
    "drbook_changed_since_drill",
    "drbook_watch_state",
    "drbook_watch_consecutive_failures",
];

fn contrib() -> PathBuf {
    crate_root().join("contrib/prometheus")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(contrib().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// The promtool to use: `DRBOOK_PROMTOOL` (which must work), else `promtool` on PATH, else
/// none, said out loud.
pub(crate) fn promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DRBOOK_PROMTOOL") {
        let path = PathBuf::from(path);
        let works = Command::new(&path).arg("--version").output().is_ok_and(|o| o.status.success());
        assert!(works, "DRBOOK_PROMTOOL={} cannot be run", path.display());
        return Some(path);
    }
    if Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some(PathBuf::from("promtool"));
    }
    eprintln!("SKIPPED: promtool not installed (Debian package `prometheus`)");
    None
}

/// Runs `promtool ARGS` in contrib/prometheus; returns its combined output, panicking with it
/// unless it exits 0.
fn run(promtool: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(promtool).args(args).current_dir(contrib()).output().expect("promtool");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

/// The alert names a rules file defines, in order.
fn alerts(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(|name| name.trim().to_string())
        .collect()
}

#[test]
fn alert_rules_pass_promtool_check_rules() {
    let Some(promtool) = promtool() else { return };
    let out = run(&promtool, &["check", "rules", "drbook-alerts.yml"]);
    let count = alerts(&read("drbook-alerts.yml")).len();
    assert!(out.contains(&format!("SUCCESS: {count} rules found")), "{out}");
}

#[test]
fn alert_rules_pass_their_promtool_unit_tests() {
    let Some(promtool) = promtool() else { return };
    let out = run(&promtool, &["test", "rules", "drbook-alerts.test.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn a_broken_alert_rule_fails_its_unit_tests() {
    // The unit tests must be able to fail: an overdue rule that fires on every drill does.
    let Some(promtool) = promtool() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rules =
        read("drbook-alerts.yml").replace("drbook_drill_overdue == 1", "drbook_drill_overdue >= 0");
    std::fs::write(dir.path().join("drbook-alerts.yml"), rules).expect("write rules");
    std::fs::write(dir.path().join("drbook-alerts.test.yml"), read("drbook-alerts.test.yml"))
        .expect("write tests");
    let out = Command::new(&promtool)
        .args(["test", "rules", "drbook-alerts.test.yml"])
        .current_dir(dir.path())
        .output()
        .expect("promtool");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "a rule firing for a current drill passed:\n{text}");
    assert!(text.contains("alertname: DrbookDrillOverdue"), "{text}");
}

#[test]
fn alert_rules_name_only_drbook_metrics_and_every_alert_is_tested() {
    let rules = read("drbook-alerts.yml");
    let tests = read("drbook-alerts.test.yml");
    let names = alerts(&rules);
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        assert!(tests.contains(&format!("alertname: {name}\n")), "no unit test for {name}");
    }
    for expr in rules.lines().filter_map(|l| l.trim().strip_prefix("expr:")) {
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("drbook_") {
                assert!(METRICS.contains(&word), "`{word}` is not a drbook metric: {expr}");
            }
        }
    }
    for metric in
        ["drbook_drill_overdue", "drbook_last_drill_success", "drbook_changed_since_drill"]
    {
        assert!(rules.contains(metric), "no alert on {metric}");
    }
}

#[test]
fn readme_lists_every_alert_and_every_metric() {
    let readme = std::fs::read_to_string(crate_root().join("README.md")).expect("README.md");
    let section = readme
        .split("## Drills and readiness")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a `## Drills and readiness` section");
    for name in alerts(&read("drbook-alerts.yml")) {
        assert!(section.contains(&format!("| `{name}` |")), "README's alert table lacks {name}");
    }
    for metric in METRICS {
        assert!(
            section.contains(&format!("| `{metric}` |")),
            "README's metric table lacks {metric}"
        );
    }
}

/// A runbook whose estimate misses its 1m budget and whose one weekly component check fails.
const NOT_READY: &str = r#"runbook "not-ready" {
  owner "ops"
  rto   1m
  drills {
    component every 7d
  }

  step probe {
    duration 2m
    safe
    run      "exit 3"
    idempotent
  }
}
"#;

/// The rules against the metrics `drbook readiness --format prometheus` really writes: each
/// sample becomes a constant promtool input series, and after two hours exactly the alerts
/// their values call for are firing, with drbook's labels (the time-based review rule is left
/// out: promtool's clock starts in 1970).
#[test]
fn the_alert_rules_fire_on_what_drbook_readiness_writes() {
    let Some(promtool) = promtool() else { return };
    let t = Test::new().file("not-ready.drbook", NOT_READY);
    drb(&t, &["drill", "not-ready.drbook", "--type", "component", "--non-interactive"])
        .expect_status(1);
    let out = drb(
        &t,
        &["readiness", "not-ready.drbook", "--format", "prometheus", "--today", crate::TODAY],
    );
    out.expect_status(1);
    let mut series = String::new();
    for line in out.stdout.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (name, value) = line.rsplit_once(' ').expect("a sample line: NAME{LABELS} VALUE");
        series.push_str(&format!("      - series: '{name}'\n        values: '{value}x180'\n"));
    }
    assert!(series.contains("drbook_drill_overdue{"), "{}", out.stdout);
    let firing = [
        r#"alertname="DrbookDrillOverdue",alertstate="firing",runbook="not-ready",severity="warning",type="component""#,
        r#"alertname="DrbookEstimatedRtoOverBudget",alertstate="firing",runbook="not-ready",severity="warning""#,
        r#"alertname="DrbookLastDrillFailed",alertstate="firing",runbook="not-ready",severity="critical",type="component""#,
    ];
    let samples: String = firing
        .iter()
        .map(|l| format!("          - labels: 'ALERTS{{{l}}}'\n            value: 1\n"))
        .collect();
    let test = format!(
        "rule_files:\n  - drbook-alerts.yml\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    \
         input_series:\n{series}    promql_expr_test:\n      - expr: 'ALERTS{{alertstate=\"firing\", alertname!=\"DrbookReviewStale\"}}'\n        \
         eval_time: 2h\n        exp_samples:\n{samples}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("drbook-alerts.yml"), read("drbook-alerts.yml"))
        .expect("write rules");
    std::fs::write(dir.path().join("readiness.test.yml"), &test).expect("write tests");
    let got = Command::new(&promtool)
        .args(["test", "rules", "readiness.test.yml"])
        .current_dir(dir.path())
        .output()
        .expect("promtool");
    assert!(
        got.status.success(),
        "{}{}\n{test}",
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&got.stderr)
    );
}
