//! Per-service objectives in the plan: the JSON fields, the text lines and the markdown table,
//! and that a runbook without `objectives { }` shows none of it.

use super::{diamond, json_of, markdown, mermaid, plan_of, rendered, text, MIN};
use crate::diag::Span;
use crate::model::{Runbook, ServiceObjective};

fn service(name: &str, rto: Option<u64>, rpo: Option<u64>, tier: Option<&str>) -> ServiceObjective {
    ServiceObjective {
        name: name.to_string(),
        rto: rto.map(|m| m * MIN),
        rpo: rpo.map(|m| m * MIN),
        tier: tier.map(str::to_string),
        span: Span::default(),
    }
}

/// The diamond (start 5m -> {announce 1m, promote 10m} -> finish 2m) with four services:
/// one within its rto, one over, one without an rto and one no step restores.
fn with_services() -> Runbook {
    let mut rb = diamond(Some(60 * MIN));
    rb.objectives = vec![
        service("api-gateway", Some(15), Some(0), Some("critical")),
        service("user-service", Some(10), Some(5), Some("critical")),
        service("search", None, None, None),
        service("reporting", Some(240), Some(60), Some("standard")),
    ];
    rb.steps[2].restores = vec!["api-gateway".to_string()];
    rb.steps[1].restores = vec!["user-service".to_string(), "search".to_string()];
    rb.steps[3].restores = vec!["user-service".to_string()];
    rb
}

#[test]
fn json_has_every_service_with_its_estimate_chain_and_verdict() {
    let v = json_of(&plan_of(&with_services()));
    let s = v["services"].as_array().expect("services is an array");
    assert_eq!(s.len(), 4);
    assert_eq!(s[0]["name"], "api-gateway");
    assert_eq!(s[0]["rto_seconds"], 900);
    assert_eq!(s[0]["rpo_seconds"], 0);
    assert_eq!(s[0]["tier"], "critical");
    assert_eq!(s[0]["restored_by"], serde_json::json!(["promote"]));
    assert_eq!(s[0]["estimated_rto_seconds"], 900);
    assert_eq!(s[0]["critical_path"], serde_json::json!(["start", "promote"]));
    assert_eq!(s[0]["budget"], "within");
    assert_eq!(s[1]["restored_by"], serde_json::json!(["announce", "finish"]));
    assert_eq!(s[1]["estimated_rto_seconds"], 17 * 60);
    assert_eq!(s[1]["critical_path"], serde_json::json!(["start", "promote", "finish"]));
    assert_eq!(s[1]["budget"], "over");
    assert_eq!(s[2]["budget"], "unknown", "no rto, no verdict");
    assert!(s[2].get("tier").is_none(), "an absent tier is left out");
    assert_eq!(s[3]["restored_by"], serde_json::json!([]));
    assert!(s[3]["estimated_rto_seconds"].is_null());
    assert_eq!(s[3]["budget"], "unknown");
    assert!(s[0].get("estimated_ms").is_none(), "exact milliseconds stay internal");
}

#[test]
fn text_has_one_line_per_service_after_the_verdict() {
    let out = rendered(&plan_of(&with_services()), text::render);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("estimated RTO")).expect("a verdict");
    assert_eq!(
        &lines[at + 1..at + 7],
        [
            "",
            "services (each estimated by the longest chain to its last restoring step)",
            "  api-gateway   estimated 15m within rto 15m (slack 0s); rpo 0s; tier critical; chain start -> promote",
            "  user-service  estimated 17m OVER rto 10m by 7m; rpo 5m; tier critical; chain start -> promote -> finish",
            "  search        estimated 6m (no rto); chain start -> announce",
            "  reporting     no step restores it; rpo 1h; tier standard",
        ]
    );
}

#[test]
fn markdown_has_a_table_by_service_and_over_budget_services_stand_out() {
    let out = rendered(&plan_of(&with_services()), markdown::render);
    let first = out.lines().next().expect("a summary line");
    assert!(first.contains(" · ❌ 1 service over RTO"), "{first}");
    assert!(out.contains("<details open><summary>Recovery objectives by service (4, 1 over RTO)"));
    assert!(out.contains("| Service | Tier | RTO | RPO | Estimated | Verdict | Restored by |"));
    for row in [
        "| api-gateway | critical | 15m | 0s | 15m | ✅ within (slack 0s) | `promote` |",
        "| **user-service** | critical | 10m | 5m | 17m | ❌ **OVER by 7m** | `announce`, `finish` |",
        "| search | — | — | — | 6m | ⚠️ no rto | `announce` |",
        "| reporting | standard | 4h | 1h | — | ⚠️ no step restores it | — |",
    ] {
        assert!(out.contains(row), "missing {row} in\n{out}");
    }
    let table = out.find("Recovery objectives by service").expect("the table");
    let steps = out.find("<summary>Steps (").expect("the steps table");
    assert!(table < steps, "services come before the steps");
}

#[test]
fn mermaid_marks_the_step_that_completes_each_service() {
    let out = rendered(&plan_of(&with_services()), mermaid::render);
    assert!(out.contains("s_promote{{\"promote<br/>"), "{out}");
    let promote = out.lines().find(|l| l.contains("s_promote{{")).expect("the promote node");
    assert!(promote.ends_with("<br/>10m<br/>restores api-gateway\"}}"), "{promote}");
    let finish = out.lines().find(|l| l.trim_start().starts_with("s_finish[")).expect("finish");
    assert!(finish.ends_with("<br/>restores user-service\"]"), "{finish}");
    let announce =
        out.lines().find(|l| l.trim_start().starts_with("s_announce[")).expect("announce");
    assert!(announce.ends_with("<br/>restores search\"]"), "{announce}");
}

#[test]
fn without_objectives_no_format_mentions_services() {
    let mut rb = with_services();
    rb.objectives.clear();
    let plan = plan_of(&rb);
    assert!(json_of(&plan).get("services").is_none());
    assert!(!rendered(&plan, text::render).contains("services"));
    let md = rendered(&plan, markdown::render);
    assert!(!md.contains("Recovery objectives") && !md.contains("over RTO"));
    assert!(!rendered(&plan, mermaid::render).contains("restores"));
}
