//! What a component drill of each shipped runbook (`runbooks/`) runs, from `plan`'s
//! `component_drill_steps`: only its read-only checks that pass against a healthy production
//! (replica lag, backup freshness, DNS, capacity, health). A probe that expects an outage or a
//! region that only the restore builds must not be among them, or every weekly drill fails.
//! Every shipped runbook also declares its drill cadence.

use crate::{json, Test, TODAY};

fn component_drill_steps(file: &str) -> Vec<String> {
    let path = format!("runbooks/{file}");
    let text = std::fs::read_to_string(crate::crate_root().join(&path)).expect("runbook");
    assert!(text.contains("\n  drills {\n"), "{path} declares no drills {{ }} cadence");
    let mut args = vec!["plan", path.as_str(), "--today", TODAY, "--format", "json"];
    if text.contains("param change_ticket: string") {
        args.extend(["--param", "change_ticket=CHG-0"]);
    }
    let out = Test::new().in_crate_root().args(&args).run();
    out.expect_status(0);
    json(&out)["component_drill_steps"]
        .as_array()
        .expect("component_drill_steps")
        .iter()
        .map(|s| s.as_str().expect("a step id").to_string())
        .collect()
}

#[test]
fn component_drills_of_the_shipped_runbooks_run_only_checks_a_healthy_production_passes() {
    let expected: [(&str, &[&str]); 6] = [
        ("cold-standby-restore.drbook", &["find_snapshot", "snapshot_age", "verify"]),
        ("db-failover-drill.drbook", &["check_dr", "app_check"]),
        ("fleet-restart.drbook", &["healthy"]),
        (
            "hot-standby.drbook",
            &[
                "dns_weights",
                "survivor_health",
                "survivor_capacity",
                "survivor_ready",
                "verify_public",
            ],
        ),
        ("quickstart.drbook", &[]),
        ("regional-failover.drbook", &["replica_lag", "workers_ready", "verify"]),
    ];
    let shipped = crate::drbook_files("runbooks");
    assert_eq!(shipped.len(), expected.len(), "a new runbook needs a line here: {shipped:?}");
    for (file, steps) in expected {
        assert_eq!(component_drill_steps(file), steps, "{file}");
    }
}
