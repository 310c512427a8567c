//! Unit tests for [`build`](super::build) and the four renderers.
//!
//! Input: small runbooks built by hand (a diamond with an approval gate, a rollback, a secret
//! in a notify URL and a hostile param in a run script) plus a generated 100,000-step chain.
//! Output: assertions on the parsed JSON, and on the text, markdown and mermaid output.

use std::collections::HashMap;

use serde_json::Value;

use super::{build, json, markdown, mermaid, text, Budget, Plan, PlanWarning};
use crate::diag::Span;
use crate::graph::Dag;
use crate::model::{
    Action, Approval, Expr, FailurePolicy, Param, ParamType, ParamValue, Part, Ref, Rollback,
    Runbook, Secret, SecretSource, Step, Text,
};
use crate::syntax::ast::BinOp;

mod actions;
mod comment;
mod services;

pub(super) const MIN: u64 = 60_000;

pub(super) fn runbook(name: &str, rto: Option<u64>, steps: Vec<Step>) -> Runbook {
    Runbook {
        name: name.to_string(),
        title: Some("Fail over to the DR region".to_string()),
        description: None,
        owner: Some("platform-team".to_string()),
        rto,
        rpo: Some(15 * MIN),
        tier: None,
        reviewed: None,
        review_every: None,
        on_failure: FailurePolicy::Abort,
        parallel: 16,
        params: vec![param("region", Some("us-west-2")), param("target", None)],
        secrets: vec![Secret {
            name: "hook".to_string(),
            source: SecretSource::Env("HOOK".to_string()),
            span: Span::default(),
        }],
        roles: None,
        steps,
        file: Default::default(),
        shell: None,
        people: Default::default(),
        approvals: Default::default(),
        signers: None,
        drills: Vec::new(),
        notify_drills: None,
        trigger: None,
        objectives: Vec::new(),
        impact: None,
    }
}

fn param(name: &str, default: Option<&str>) -> Param {
    Param {
        name: name.to_string(),
        ty: ParamType::String,
        default: default.map(|d| ParamValue::Str(d.to_string())),
        span: Span::default(),
    }
}

pub(super) fn step(id: &str, minutes: u64, needs: &[usize], action: Option<Action>) -> Step {
    Step {
        id: id.to_string(),
        title: None,
        owner: Some("on-call".to_string()),
        duration: Some(minutes * MIN),
        timeout: None,
        needs: needs.to_vec(),
        when: None,
        retry: None,
        on_failure: FailurePolicy::Abort,
        idempotent: false,
        approval: None,
        env: Vec::new(),
        workdir: None,
        captures: Vec::new(),
        checks: Vec::new(),
        measure_rpo: None,
        action,
        rollback: None,
        verify: None,
        span: Span::default(),
        finally: false,
        safe: false,
        restores: Vec::new(),
    }
}

/// Literal pieces and references: `t(&[lit("echo "), param("x")])`.
pub(super) fn t(parts: &[Part]) -> Text {
    Text { parts: parts.to_vec() }
}
pub(super) fn lit(s: &str) -> Part {
    Part::Lit(s.to_string())
}
pub(super) fn pref(name: &str) -> Part {
    Part::Ref(Ref::Param(name.to_string()))
}
pub(super) fn sref(name: &str) -> Part {
    Part::Ref(Ref::Secret(name.to_string()))
}
pub(super) fn run(parts: &[Part]) -> Action {
    Action::Run { script: t(parts) }
}

/// start -> {announce, promote (gate, rollback, when)} -> finish; critical path 17m.
pub(super) fn diamond(rto: Option<u64>) -> Runbook {
    let start = step("start", 5, &[], Some(run(&[lit("echo start "), pref("target")])));
    let notify = Action::Notify {
        url: t(&[sref("hook")]),
        text: t(&[lit("failover in "), pref("region"), lit(" for "), sref("hook")]),
    };
    let mut announce = step("announce", 1, &[0], Some(notify));
    announce.title = Some("Tell | everyone".to_string());
    let mut promote =
        step("promote", 10, &[0], Some(run(&[lit("promote --region "), pref("region")])));
    promote.title = Some("Promote the \"DR\" database".to_string());
    promote.approval = Some(Approval {
        roles: vec!["oncall_lead".to_string(), "eng_manager".to_string()],
        timeout: Some(15 * MIN),
    });
    promote.rollback = Some(Rollback {
        action: run(&[lit("demote "), pref("region")]),
        timeout: None,
        retry: None,
    });
    promote.when = Some(Expr::Binary(
        BinOp::Lt,
        Box::new(Expr::Ref(Ref::Capture(0, "lag_seconds".to_string()))),
        Box::new(Expr::Number(900.0)),
    ));
    let http = Action::Http {
        method: "GET".to_string(),
        url: t(&[lit("https://api."), pref("region"), lit(".example.com/health")]),
        headers: vec![(t(&[lit("Authorization")]), t(&[lit("Bearer "), sref("hook")]))],
        body: None,
        status: vec![(200, 299)],
        body_contains: None,
    };
    let finish = step("finish", 2, &[1, 2], Some(http));
    runbook("regional-failover", rto, vec![start, announce, promote, finish])
}

fn values(rb: &Runbook) -> HashMap<String, ParamValue> {
    let mut v: HashMap<String, ParamValue> =
        rb.params.iter().filter_map(|p| Some((p.name.clone(), p.default.clone()?))).collect();
    v.insert("target".to_string(), ParamValue::Str("x; rm -rf /".to_string()));
    v
}

pub(super) fn plan_of(rb: &Runbook) -> Plan {
    let durations = rb.steps.iter().map(|s| s.duration.unwrap_or(0)).collect();
    let needs = rb.steps.iter().map(|s| s.needs.clone()).collect();
    let dag = Dag::new(durations, needs).expect("test runbooks are acyclic");
    let warning = PlanWarning {
        code: "drbook::check::no_rollback".to_string(),
        message: "step `start` has side effects but no rollback".to_string(),
        file: "failover.drbook".to_string(),
        line: 12,
        column: 3,
    };
    build(rb, &dag, &values(rb), vec![warning])
}

pub(super) fn rendered(
    plan: &Plan,
    render: fn(&Plan, &mut dyn std::io::Write) -> std::io::Result<()>,
) -> String {
    let mut out = Vec::new();
    render(plan, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("renderers write UTF-8")
}

pub(super) fn json_of(plan: &Plan) -> Value {
    serde_json::from_str(&rendered(plan, json::render)).expect("the JSON renderer writes JSON")
}

#[test]
fn json_has_critical_path_waves_and_budget() {
    let j = json_of(&plan_of(&diamond(Some(60 * MIN))));
    assert_eq!(j["runbook"], "regional-failover");
    assert_eq!(j["rto_seconds"], 3600);
    assert_eq!(j["rpo_seconds"], 900);
    assert_eq!(j["estimated_rto_seconds"], 17 * 60);
    assert_eq!(j["budget"], "within");
    assert_eq!(j["critical_path"], serde_json::json!(["start", "promote", "finish"]));
    assert_eq!(j["waves"], serde_json::json!([["start"], ["announce", "promote"], ["finish"]]));
    assert_eq!(j["params"], serde_json::json!({"region": "us-west-2", "target": "x; rm -rf /"}));
    assert_eq!(j["warnings"][0]["line"], 12);
    let ids: Vec<&str> =
        j["steps"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["start", "announce", "promote", "finish"], "declaration order");
}

#[test]
fn json_steps_have_every_field() {
    let j = json_of(&plan_of(&diamond(Some(60 * MIN))));
    let promote = &j["steps"][2];
    assert_eq!(promote["needs"], serde_json::json!(["start"]));
    assert_eq!(promote["duration_seconds"], 600);
    assert_eq!(promote["timeout_seconds"], Value::Null);
    assert_eq!(promote["when"], "steps.start.lag_seconds < 900");
    assert_eq!(
        promote["approval"],
        serde_json::json!({"by": ["oncall_lead", "eng_manager"], "timeout_seconds": 900})
    );
    assert_eq!(promote["rollback"], true);
    assert_eq!(
        promote["rollback_action"],
        serde_json::json!({"kind": "run", "script": "demote us-west-2"})
    );
    assert_eq!(promote["retry"], Value::Null);
    assert_eq!(promote["on_failure"], "abort");
    assert_eq!(promote["idempotent"], false);
    assert_eq!(promote["critical"], true);
    assert_eq!(j["steps"][1]["critical"], false);
    assert_eq!(j["steps"][1]["rollback_action"], Value::Null);
    let http = &j["steps"][3]["action"];
    assert_eq!(http["kind"], "http");
    assert_eq!(http["url"], "https://api.us-west-2.example.com/health");
    assert_eq!(http["status"], serde_json::json!(["200..299"]));
    assert_eq!(http["body"], Value::Null);
}

#[test]
fn hostile_param_is_one_shell_word_in_scripts_only() {
    let j = json_of(&plan_of(&diamond(None)));
    assert_eq!(
        j["steps"][0]["action"],
        serde_json::json!({"kind": "run", "script": "echo start 'x; rm -rf /'"})
    );
    assert_eq!(j["params"]["target"], "x; rm -rf /", "outside scripts the value is as given");
}

#[test]
fn secrets_are_never_shown() {
    let plan = plan_of(&diamond(None));
    let j = json_of(&plan);
    let notify = &j["steps"][1]["action"];
    assert_eq!(notify["kind"], "notify");
    assert_eq!(notify["url"], "<secret:hook>");
    assert_eq!(notify["text"], "failover in us-west-2 for <secret:hook>");
    assert_eq!(j["steps"][3]["action"]["headers"]["Authorization"], "Bearer <secret:hook>");
    for out in [rendered(&plan, text::render), rendered(&plan, markdown::render)] {
        assert!(out.contains("<secret:hook>"), "{out}");
    }
}

#[test]
fn over_budget_and_unknown_budget() {
    let over = plan_of(&diamond(Some(12 * MIN)));
    assert_eq!(over.budget, Budget::Over);
    assert_eq!(json_of(&over)["budget"], "over");
    assert!(
        rendered(&over, text::render).contains("estimated RTO 17m OVER budget by 5m (budget 12m)")
    );
    assert!(rendered(&over, markdown::render).contains("❌"));
    let exact = plan_of(&diamond(Some(17 * MIN)));
    assert_eq!(exact.budget, Budget::Within, "equal to the budget is within it");
    let none = plan_of(&diamond(None));
    assert_eq!(json_of(&none)["budget"], "unknown");
    assert_eq!(json_of(&none)["rto_seconds"], Value::Null);
    assert!(rendered(&none, markdown::render)
        .starts_with("⚠️ **regional-failover**: estimated RTO 17m (no rto budget) · "));
}

#[test]
fn text_shows_verdict_waves_markers_and_critical_path() {
    let out = rendered(&plan_of(&diamond(Some(60 * MIN))), text::render);
    assert!(
        out.starts_with("runbook  regional-failover\ntitle    Fail over to the DR region\n"),
        "{out}"
    );
    assert!(out.contains("rto      1h\nrpo      15m\n"), "{out}");
    assert!(out.contains("estimated RTO 17m within budget 1h (slack 43m)"), "{out}");
    assert!(
        out.contains("wave 1\n* start     (5m, on-call)  run echo start 'x; rm -rf /'\n"),
        "{out}"
    );
    assert!(out.contains("wave 2\n  announce  (1m, on-call)  notify <secret:hook>"), "{out}");
    assert!(
        out.contains("      needs approval: oncall_lead + eng_manager (timeout 15m)\n"),
        "{out}"
    );
    assert!(out.contains("      when: steps.start.lag_seconds < 900\n"), "{out}");
    assert!(out.contains("      rollback: run demote us-west-2\n"), "{out}");
    assert!(out.contains("critical path: start -> promote -> finish (17m)"), "{out}");
    assert!(out.contains("failover.drbook:12:3: step `start` has side effects"), "{out}");
}

#[test]
fn text_shows_whole_multi_line_scripts() {
    let mut rb = diamond(None);
    rb.steps[0].action =
        Some(run(&[lit("terraform init\nterraform apply -var r="), pref("target")]));
    let out = rendered(&plan_of(&rb), text::render);
    assert!(out.contains("run terraform init\n                               terraform apply -var r='x; rm -rf /'\n"), "{out}");
}

#[test]
fn markdown_starts_with_one_summary_line_then_collapsible_sections() {
    let out = rendered(&plan_of(&diamond(Some(60 * MIN))), markdown::render);
    assert!(
        out.starts_with(
            "✅ **regional-failover**: estimated RTO 17m within budget 1h (slack 43m) · 4 steps · \
             1 approval gate · 3 without rollback\n\n**Fail over to the DR region**\n"
        ),
        "{out}"
    );
    assert!(out.contains("RTO budget 1h · RPO 15m · 3 waves · owner platform-team\n"), "{out}");
    assert!(out.contains("| # | Step | Owner | Duration | Gate | Rollback |"), "{out}");
    assert!(out.contains("| 3 | **`promote`**<br>Promote the \"DR\" database | on-call | 10m | 🔒 oncall\\_lead + eng\\_manager (15m) | ↩ run |"), "{out}");
    assert!(out.contains("| 2 | `announce`<br>Tell \\| everyone |"), "pipes escaped: {out}");
    assert!(out.contains("**Critical path:** `start` → `promote` → `finish` (17m)"), "{out}");
    assert!(
        out.contains("<details><summary>Diagram</summary>\n\n```mermaid\nflowchart TD\n"),
        "{out}"
    );
    assert!(out.contains("- when `steps.start.lag_seconds < 900`\n"), "{out}");
    assert!(out.contains("rollback:\n\n```text\nrun demote us-west-2\n```\n"), "{out}");
    assert!(
        out.contains(
            "<details open><summary>Warnings (1)</summary>\n\n- ⚠️ `drbook::check::no_rollback` (failover.drbook:12:3) step `start`"
        ),
        "{out}"
    );
    // Every section that opens is closed.
    assert_eq!(out.matches("<details").count(), out.matches("</details>").count(), "{out}");
    assert!(!out.contains("Shortened"), "a small plan is never cut: {out}");
}

#[test]
fn markdown_shows_multi_line_scripts_in_full_in_a_longer_fence() {
    let mut rb = diamond(None);
    rb.steps[0].action = Some(run(&[lit("echo a | grep `b`\n```\necho second line")]));
    let out = rendered(&plan_of(&rb), markdown::render);
    assert!(
        out.contains("\n````text\nrun echo a | grep `b`\n    ```\n    echo second line\n````\n"),
        "{out}"
    );
}

#[test]
fn mermaid_has_nodes_edges_and_critical_path() {
    let out = rendered(&plan_of(&diamond(Some(60 * MIN))), mermaid::render);
    let expected = "flowchart TD
    s_start[\"start<br/>5m\"]
    s_announce[\"announce<br/>Tell | everyone<br/>1m\"]
    s_promote{{\"promote<br/>Promote the #quot;DR#quot; database<br/>10m\"}}
    s_finish[\"finish<br/>2m\"]
    s_start --> s_announce
    s_start --> s_promote
    s_announce --> s_finish
    s_promote --> s_finish
    classDef critical stroke:#d00,stroke-width:3px
    classDef gate fill:#fff4d6,stroke:#b8860b,color:#1a1a1a
    class s_start,s_finish critical
    classDef gate_critical fill:#fff4d6,stroke:#d00,stroke-width:3px,color:#1a1a1a
    class s_promote gate_critical
    linkStyle 1 stroke:#d00,stroke-width:3px
    linkStyle 3 stroke:#d00,stroke-width:3px
";
    assert_eq!(out, expected);
}

#[test]
fn mermaid_node_names_avoid_keywords_and_hyphens() {
    let steps =
        vec![step("end", 1, &[], None), step("a-b", 1, &[0], None), step("a_b", 1, &[1], None)];
    let out = rendered(&plan_of(&runbook("r", None, steps)), mermaid::render);
    assert!(out.contains("    s_end --> h1_a_b\n    h1_a_b --> s_a_b\n"), "{out}");
    assert!(out.contains("h1_a_b[\"a-b<br/>1m\"]"), "{out}");
}

#[test]
fn hundred_thousand_steps_plan_in_one_pass() {
    let n = 100_000;
    let steps: Vec<Step> = (0..n)
        .map(|i| {
            let needs: Vec<usize> = if i == 0 { vec![] } else { vec![i - 1, i / 2] };
            step(&format!("s{i}"), 1, &needs, Some(run(&[lit("echo "), pref("target")])))
        })
        .collect();
    let rb = runbook("big", Some(60 * MIN), steps);
    let start = std::time::Instant::now();
    let plan = plan_of(&rb);
    let out = rendered(&plan, json::render);
    let elapsed = start.elapsed();
    assert_eq!(plan.critical_path.len(), n);
    assert_eq!(plan.budget, Budget::Over);
    assert!(out.ends_with("}\n"));
    // Generous for unoptimised test builds; the release binary is far faster.
    assert!(elapsed.as_secs() < 10, "planning 100k steps took {elapsed:?}");
    for render in [text::render, markdown::render, mermaid::render] {
        assert!(!rendered(&plan, render).is_empty());
    }
}

#[test]
fn every_format_says_how_approvers_are_proved_when_there_is_a_gate() {
    use crate::model::ApprovalMode;
    let mut rb = diamond(Some(60 * MIN));
    rb.approvals = ApprovalMode::Signed;
    let plan = plan_of(&rb);
    assert!(rendered(&plan, text::render).contains("approvals signed (an SSH signature"));
    assert!(rendered(&plan, markdown::render).contains("Approvals are proved by: signed"));
    assert_eq!(json_of(&plan)["approvals_proved_by"], "signed");
    // No gate: nothing to say.
    rb.steps.iter_mut().for_each(|s| s.approval = None);
    let plan = plan_of(&rb);
    assert!(!rendered(&plan, text::render).contains("approvals "));
    assert!(json_of(&plan).get("approvals_proved_by").is_none());
}

#[test]
fn steps_planned_in_two_halves_give_what_one_thread_gives() {
    let n = 1200;
    let steps: Vec<Step> = (0..n)
        .map(|i| {
            let needs: Vec<usize> = if i == 0 { vec![] } else { vec![i - 1, i / 3] };
            let action = match i % 3 {
                0 => run(&[lit("echo "), pref("target")]),
                1 => run(&[lit("notify "), sref("hook")]),
                _ => run(&[lit("true")]),
            };
            step(&format!("s{i}"), 1 + (i as u64 % 7), &needs, Some(action))
        })
        .collect();
    let rb = runbook("big", Some(60 * MIN), steps);
    let durations = rb.steps.iter().map(|s| s.duration.unwrap_or(0)).collect();
    let dag =
        Dag::new(durations, rb.steps.iter().map(|s| s.needs.clone()).collect()).expect("acyclic");
    let values: HashMap<String, ParamValue> =
        [("target".to_string(), ParamValue::Str("db; rm -rf /".to_string()))].into();
    let json = |parallel_from| {
        let plan = super::build_split(&rb, &dag, &values, Vec::new(), parallel_from);
        rendered(&plan, json::render)
    };
    let (one, two) = (json(usize::MAX), json(2));
    assert!(one.contains("\"s1199\"") && one.contains("'db; rm -rf /'"), "{}", &one[..2000]);
    assert_eq!(one, two);
}
