//! What a reviewer needs in a pull-request comment: every fact that decides what runs in all
//! three formats, the markdown size budget on a large plan, and the mermaid styles.

use super::super::markdown::{self, Options};
use super::super::mermaid;
use super::{diamond, json_of, lit, plan_of, pref, rendered, run, runbook, sref, step, t, MIN};
use crate::model::{Capture, CaptureFrom, Expr, Ref, Rollback};
use crate::syntax::ast::BinOp;

fn with_facts() -> crate::model::Runbook {
    let mut rb = diamond(Some(60 * MIN));
    rb.description = Some("Run when the primary is down.\nPromotes the replica.".to_string());
    rb.tier = Some("critical".to_string());
    let s = &mut rb.steps[0];
    s.env = vec![
        ("REGION".to_string(), t(&[pref("region")])),
        ("TOKEN".to_string(), t(&[lit("Bearer "), sref("hook")])),
    ];
    s.workdir = Some(t(&[lit("infra/"), pref("region")]));
    s.captures =
        vec![Capture { name: "lag".to_string(), from: CaptureFrom::Json("a.b".to_string()) }];
    s.checks = vec![Expr::Binary(
        BinOp::Lt,
        Box::new(Expr::Ref(Ref::OwnCapture("lag".to_string()))),
        Box::new(Expr::Number(900.0)),
    )];
    s.measure_rpo = Some("lag".to_string());
    s.timeout = Some(7 * MIN);
    rb.steps[2].rollback =
        Some(Rollback { action: run(&[lit("demote")]), timeout: Some(3 * MIN), retry: None });
    rb
}

#[test]
fn every_fact_that_decides_what_runs_is_in_json_text_and_markdown() {
    let plan = plan_of(&with_facts());
    let j = json_of(&plan);
    assert_eq!(j["tier"], "critical");
    assert_eq!(j["description"], "Run when the primary is down.\nPromotes the replica.");
    let s = &j["steps"][0];
    assert_eq!(
        s["env"],
        serde_json::json!({"REGION": "us-west-2", "TOKEN": "Bearer <secret:hook>"})
    );
    assert_eq!(s["workdir"], "infra/us-west-2");
    assert_eq!(
        s["captures"],
        serde_json::json!([{"name": "lag", "from": "json", "pattern": "a.b"}])
    );
    assert_eq!(s["checks"], serde_json::json!(["lag < 900"]));
    assert_eq!(s["measure_rpo"], "lag");
    assert_eq!(s["timeout_seconds"], 420);
    assert_eq!(j["steps"][2]["rollback_timeout_seconds"], 180);
    assert!(j["steps"][1].get("env").is_none(), "absent facts stay out of JSON");

    let text = rendered(&plan, super::super::text::render);
    for want in [
        "tier     critical\n",
        "  Run when the primary is down.\n  Promotes the replica.\n",
        "      timeout: 7m\n",
        "      env: REGION=us-west-2\n",
        "      env: TOKEN=Bearer <secret:hook>\n",
        "      workdir: infra/us-west-2\n",
        "      capture: lag from json \"a.b\"\n",
        "      check: lag < 900\n",
        "      measure: rpo from lag\n",
        "      rollback timeout: 3m\n",
    ] {
        assert!(text.contains(want), "text plan lacks {want:?}:\n{text}");
    }

    let md = rendered(&plan, markdown::render);
    for want in [
        "tier critical",
        "> Run when the primary is down.\n> Promotes the replica.\n",
        "- timeout 7m\n",
        "- env `REGION=us-west-2`\n",
        "- env `TOKEN=Bearer <secret:hook>`\n",
        "- workdir `infra/us-west-2`\n",
        "- capture `lag from json \"a.b\"`\n",
        "- check `lag < 900`\n",
        "- measure rpo from `lag`\n",
        "rollback (timeout 3m):\n",
    ] {
        assert!(md.contains(want), "markdown plan lacks {want:?}:\n{md}");
    }
}

/// A layered runbook of `n` steps, each needing up to three of the layer before, with long
/// multi-line scripts and rollbacks: far more than a comment holds.
fn large(n: usize) -> crate::model::Runbook {
    let width = 32;
    let steps = (0..n)
        .map(|i| {
            let layer = i / width;
            let needs: Vec<usize> = if layer == 0 {
                Vec::new()
            } else {
                let base = (layer - 1) * width;
                (0..3).map(|k| base + (i + k * 7) % width).filter(|&j| j < i).collect()
            };
            let script = format!(
                "deploy --region us-west-2 --unit {i}\nkubectl rollout status deploy/svc-{i}\n"
            );
            let mut s = step(
                &format!("s_{layer}_{}", i % width),
                1 + (i as u64 % 10),
                &needs,
                Some(run(&[lit(&script)])),
            );
            s.needs.sort_unstable();
            s.needs.dedup();
            s.rollback =
                Some(Rollback { action: run(&[lit("undeploy")]), timeout: None, retry: None });
            s.title = Some(format!("Layer {layer} step {}", i % width));
            s
        })
        .collect();
    runbook("synthetic", Some(100 * 60 * MIN), steps)
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn md(plan: &crate::plan::Plan, max_chars: usize) -> String {
    let opts = Options { max_chars, source: "big.drbook".to_string(), diff: None };
    let mut out = Vec::new();
    markdown::render_with(plan, &opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn a_thousand_step_plan_fits_a_comment_and_says_what_was_left_out() {
    let plan = plan_of(&large(1000));
    let mut full = Vec::new();
    mermaid::render(&plan, &mut full).expect("render");
    assert!(full.len() > 50_000, "the full diagram is over mermaid's limit");
    for max in [markdown::DEFAULT_MAX_CHARS, 8_000, 1_000] {
        let out = md(&plan, max);
        assert!(chars(&out) <= max, "{} characters with --max-chars {max}", chars(&out));
        assert!(out.starts_with("✅ **synthetic**: "), "{out}");
        assert!(out.contains("> ✂️ **Shortened to fit"), "{out}");
        assert!(out.contains("`drbook plan big.drbook --format text`"), "{out}");
        if max >= 8_000 {
            assert_eq!(out.matches("<details").count(), out.matches("</details>").count(), "{out}");
            assert_eq!(out.matches("```").count() % 2, 0, "fences closed: {out}");
        }
    }
    let out = md(&plan, markdown::DEFAULT_MAX_CHARS);
    assert!(out.contains("| 1 | `s_0_0`<br>"), "the steps table starts: {out}");
    assert!(out.contains("of 1000 rows of the steps table"), "{}", &out[out.len() - 600..]);
}

#[test]
fn a_large_diagram_is_reduced_to_the_critical_path_within_mermaids_limits() {
    let plan = plan_of(&large(1000));
    // A budget large enough to hold the reduced diagram.
    let out = md(&plan, 1_000_000);
    let start = out.find("```mermaid\n").expect("a diagram") + "```mermaid\n".len();
    let diagram = &out[start..start + out[start..].find("```").expect("closed")];
    assert!(chars(diagram) <= 50_000, "{} characters", chars(diagram));
    assert!(diagram.matches(" --> ").count() <= 500);
    assert!(out.contains("is over mermaid's limits"), "{out}");
    for id in &plan.critical_path {
        assert!(
            diagram.contains(&format!("s_{id}[")) || diagram.contains(&format!("s_{id}{{")),
            "{id}"
        );
    }
}

#[test]
fn filled_mermaid_classes_set_a_dark_text_colour_and_gates_keep_the_critical_outline() {
    let out = rendered(&plan_of(&diamond(None)), mermaid::render);
    for line in out.lines().filter(|l| l.contains("classDef") && l.contains("fill:")) {
        assert!(line.contains("color:#1a1a1a"), "readable in dark mode: {line}");
    }
    let gate = out.lines().find(|l| l.contains("classDef gate_critical")).expect("gate_critical");
    assert!(gate.contains("stroke:#d00,stroke-width:3px"), "{gate}");
    assert!(out.contains("class s_promote gate_critical\n"), "{out}");
    assert!(!out.contains("class s_promote gate\n"), "one class per node: {out}");
}

#[test]
fn a_summary_longer_than_the_budget_is_cut_but_keeps_the_notice() {
    let mut rb = diamond(None);
    rb.description = Some("A very long description line.\n".repeat(100));
    let out = md(&plan_of(&rb), 1_000);
    assert!(chars(&out) <= 1_000, "{} characters", chars(&out));
    assert!(out.starts_with("⚠️ **regional-failover**: "), "{out}");
    assert!(out.contains("Left out:") && out.contains("the end of the summary"), "{out}");
}
