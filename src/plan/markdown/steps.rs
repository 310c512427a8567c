//! The steps of the markdown plan: a narrow table (step, owner, duration, gate, rollback) that
//! fits a comment's width, and a collapsed section with every fact of every step, scripts in
//! full.

use super::cells::{block, code, text};
use super::fit::Block;
use super::{details_open, human, Plan, NONE};
use crate::model::FailurePolicy;
use crate::plan::{PlanAction, PlanRetry, PlanStep};

fn gate(s: &PlanStep) -> String {
    let Some(a) = &s.approval else { return NONE.to_string() };
    let mut g = if a.by.is_empty() {
        "🔒 required".to_string()
    } else {
        format!("🔒 {}", text(&a.by.join(" + ")))
    };
    if let Some(t) = a.timeout_seconds {
        g.push_str(&format!(" ({})", human(t)));
    }
    g
}

fn rollback(s: &PlanStep) -> String {
    let Some(a) = &s.rollback_action else { return NONE.to_string() };
    let mut r = format!("↩ {}", a.kind());
    if let Some(retry) = &s.rollback_retry {
        r.push_str(&format!(", retry {}", retry.attempts));
    }
    r
}

pub(super) fn table(plan: &Plan) -> Block {
    let items = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut step = code(&s.id);
            if s.critical {
                step = format!("**{step}**");
            }
            if let Some(title) = &s.title {
                step.push_str(&format!("<br>{}", text(title)));
            }
            if s.safe {
                step.push_str("<br>safe (read-only)");
            }
            let owner = s.owner.as_deref().map_or_else(|| NONE.to_string(), text);
            let duration = s.duration_seconds.map_or_else(|| NONE.to_string(), human);
            format!(
                "| {} | {step} | {owner} | {duration} | {} | {} |\n",
                i + 1,
                gate(s),
                rollback(s)
            )
        })
        .collect();
    Block::list(
        "rows of the steps table",
        80,
        details_open(&format!("Steps ({}, critical path in bold)", plan.steps.len()), true),
        "| # | Step | Owner | Duration | Gate | Rollback |\n|---|---|---|---|---|---|\n",
        items,
        "\n</details>\n\n",
    )
}

pub(super) fn details(plan: &Plan) -> Block {
    let full = plan.steps.iter().map(|s| step_details(s, true)).collect();
    let short = plan.steps.iter().map(|s| step_details(s, false)).collect();
    Block::list(
        "step details",
        50,
        details_open("Step details: actions, conditions, retries, checks", false),
        "",
        full,
        "</details>\n\n",
    )
    .or_short(short)
}

pub(super) fn finally(plan: &Plan) -> Block {
    let items = plan.finally.iter().map(|s| step_details(s, true)).collect();
    Block::list(
        "the finally steps",
        55,
        details_open(&format!("Finally steps ({})", plan.finally.len()), false),
        "Run once the run has ended, whatever its outcome; never undone.\n\n",
        items,
        "</details>\n\n",
    )
}

/// Every fact of a step that decides what runs. `full`: actions in fenced blocks, every line;
/// otherwise their one-line summaries.
fn step_details(s: &PlanStep, full: bool) -> String {
    let mut out = format!("**{}**", code(&s.id));
    if let Some(t) = &s.title {
        out.push_str(&format!(" {}", text(t)));
    }
    out.push('\n');
    let mut facts = Vec::new();
    if !s.needs.is_empty() {
        let needs: Vec<String> = s.needs.iter().map(|n| code(n)).collect();
        facts.push(format!("needs {}", needs.join(", ")));
    }
    if s.approval.is_some() {
        facts.push(format!("approval {}", gate(s)));
    }
    if let Some(w) = &s.when {
        facts.push(format!("when {}", code(w)));
    }
    if let Some(t) = s.timeout_seconds {
        facts.push(format!("timeout {}", human(t)));
    }
    if let Some(r) = &s.retry {
        facts.push(format!("retry {}", retry(r)));
    }
    match s.on_failure {
        FailurePolicy::Abort => {}
        FailurePolicy::Rollback => facts.push("on failure: rollback".to_string()),
        FailurePolicy::Continue => facts.push("on failure: **continue**".to_string()),
    }
    if s.idempotent {
        facts.push("idempotent".to_string());
    }
    if s.safe {
        facts.push("safe (read-only)".to_string());
    }
    for (k, v) in &s.env.0 {
        facts.push(format!("env {}", code(&format!("{k}={v}"))));
    }
    if let Some(d) = &s.workdir {
        facts.push(format!("workdir {}", code(d)));
    }
    for c in &s.captures {
        facts.push(format!("capture {}", code(&c.describe())));
    }
    for c in &s.checks {
        facts.push(format!("check {}", code(c)));
    }
    if let Some(m) = &s.measure_rpo {
        facts.push(format!("measure rpo from {}", code(m)));
    }
    for f in facts {
        out.push_str(&format!("- {f}\n"));
    }
    let mut action = |label: String, a: &PlanAction| {
        if full {
            out.push_str(&format!("\n{label}:\n\n{}", block(&a.describe())));
        } else {
            out.push_str(&format!("- {label}: {}\n", code(&a.summary())));
        }
    };
    if let Some(a) = &s.action {
        action("action".to_string(), a);
    }
    if let Some(a) = &s.rollback_action {
        let mut label = "rollback".to_string();
        if let Some(r) = &s.rollback_retry {
            label.push_str(&format!(" (retry {})", retry(r)));
        }
        if let Some(t) = s.rollback_timeout_seconds {
            label.push_str(&format!(" (timeout {})", human(t)));
        }
        action(label, a);
    }
    if let Some(a) = &s.verify {
        action("verify".to_string(), a);
    }
    out.push('\n');
    out
}

fn retry(r: &PlanRetry) -> String {
    let backoff = if r.exponential { ", exponential backoff" } else { "" };
    format!("{} more every {}{backoff}", r.attempts, human(r.every_seconds))
}
