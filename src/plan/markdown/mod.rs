//! Markdown renderer: a pull-request comment (GitHub-flavoured) that fits.
//!
//! Layout: one summary line first (verdict emoji, runbook, estimated RTO against the budget,
//! steps, approval gates, steps without rollback), then the title, tier, owner, description
//! and how approvers are proved, the place for a diff section ([`Options::diff`]), the
//! critical path, then collapsible `<details>` sections: the recovery objectives by service
//! (open, when the runbook declares `objectives { }`), the trigger (open, when the runbook
//! has one), the steps table (open; narrow
//! columns, so the gate and the rollback stay visible at comment width), every step's
//! details (all that decides what runs, scripts in full in fenced blocks), the finally steps,
//! params, drills, the mermaid diagram and the warnings.
//!
//! Size: the output never exceeds [`Options::max_chars`] characters (GitHub comments hold
//! 65,536); [`fit`] summarises, then leaves out sections, then cuts the steps table, and says
//! so in a visible notice naming the command that shows everything. The diagram is drawn only
//! within mermaid's default limits, otherwise reduced to the critical path and its neighbours.
//!
//! Everything from the runbook is escaped ([`cells`]): a `<secret:NAME>` or a `*` in a script
//! shows as written, and control characters are visible escapes.

mod cells;
mod diagram;
mod fit;
mod services;
mod steps;

use std::io::{self, Write};

use super::{human, Budget, Plan};
use cells::{code, text};
use fit::Block;

/// GitHub's limit on a comment's length, in characters.
pub const DEFAULT_MAX_CHARS: usize = 65_536;
const NONE: &str = "—";

/// How the markdown plan is rendered.
#[derive(Clone, Debug)]
pub struct Options {
    /// The output never has more characters than this.
    pub max_chars: usize,
    /// The runbook file as the user named it, for the command a cut notice suggests.
    pub source: String,
    /// A markdown section placed right after the summary (a diff against a base version),
    /// and how many risk labels it holds (named in the summary line).
    pub diff: Option<(String, usize)>,
}

impl Default for Options {
    fn default() -> Options {
        Options { max_chars: DEFAULT_MAX_CHARS, source: "FILE".to_string(), diff: None }
    }
}

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    render_with(plan, &Options::default(), out)
}

pub fn render_with(plan: &Plan, opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    let doc = fit::fit(blocks(plan, opts), opts);
    out.write_all(doc.as_bytes())?;
    out.flush()
}

/// The one line a reviewer reads first; `risks`: the risk labels of the diff, when there is
/// one.
pub fn summary_line(plan: &Plan, risks: Option<usize>) -> String {
    let emoji = match plan.budget {
        Budget::Within => "✅",
        Budget::Over => "❌",
        Budget::Unknown => "⚠️",
    };
    let without_rollback = plan.steps.iter().filter(|s| !s.rollback).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let risks = risks.map_or(String::new(), |n| format!(" · {}", plural(n, "risk", "risks")));
    let services = match services::over(plan) {
        0 => String::new(),
        n => format!(" · ❌ {} over RTO", plural(n, "service", "services")),
    };
    format!(
        "{emoji} **{}**: {} · {} · {} · {} without rollback{services}{risks}",
        text(&plan.runbook),
        text(&plan.verdict()),
        plural(plan.steps.len(), "step", "steps"),
        plural(plan.approvals(), "approval gate", "approval gates"),
        without_rollback,
    )
}

fn blocks(plan: &Plan, opts: &Options) -> Vec<Block> {
    let risks = opts.diff.as_ref().map(|(_, n)| *n);
    let mut head = format!("{}\n\n", summary_line(plan, risks));
    if let Some(title) = &plan.title {
        head.push_str(&format!("**{}**\n\n", text(title)));
    }
    let secs = |s: Option<u64>| s.map_or_else(|| NONE.to_string(), human);
    let mut facts = vec![
        format!("RTO budget {}", secs(plan.rto_seconds)),
        format!("RPO {}", secs(plan.rpo_seconds)),
        format!("{} waves", plan.waves.len()),
    ];
    if let Some(owner) = &plan.owner {
        facts.push(format!("owner {}", text(owner)));
    }
    if let Some(tier) = &plan.tier {
        facts.push(format!("tier {}", text(tier)));
    }
    if let Some(shell) = &plan.shell {
        facts.push(format!("shell {}", code(shell)));
    }
    head.push_str(&format!("{}\n\n", facts.join(" · ")));
    if let Some(d) = &plan.description {
        for line in d.trim().lines() {
            head.push_str(&format!("> {}\n", text(line.trim_end())));
        }
        head.push('\n');
    }
    if let Some(proof) = plan.proof_line() {
        head.push_str(&format!("Approvals are proved by: {}\n\n", text(proof)));
    }
    if !plan.critical_path.is_empty() {
        let path: Vec<String> = plan.critical_path.iter().map(|id| code(id)).collect();
        let path = fit::shorten_list(&path, 60, " → ");
        head.push_str(&format!(
            "**Critical path:** {path} ({})\n\n",
            human(plan.estimated_rto_seconds)
        ));
    }
    let mut out = vec![Block::fixed("the summary", 100, head)];
    if let Some((diff, _)) = &opts.diff {
        out.push(Block::fixed("the diff", 90, format!("{}\n\n", diff.trim_end())));
    }
    if !plan.services.is_empty() {
        out.push(services::table(plan));
    }
    if let Some(t) = &plan.trigger {
        out.push(Block::fixed("the trigger", 80, trigger(plan, t)));
    }
    out.push(steps::table(plan));
    out.push(steps::details(plan));
    if !plan.finally.is_empty() {
        out.push(steps::finally(plan));
    }
    if !plan.params.0.is_empty() {
        let items =
            plan.params.0.iter().map(|(k, v)| format!("| {} | {} |\n", code(k), code(v))).collect();
        out.push(Block::list(
            "the params",
            45,
            details_open("Params", false),
            "| Param | Value |\n|---|---|\n",
            items,
            "\n</details>\n\n",
        ));
    }
    if plan.shows_drills() {
        out.push(Block::fixed("the drills", 40, drills(plan)));
    }
    out.push(diagram::block(plan));
    if !plan.warnings.is_empty() {
        let items = plan
            .warnings
            .iter()
            .map(|warn| {
                format!(
                    "- ⚠️ {} ({}:{}:{}) {}\n",
                    code(&warn.code),
                    text(&warn.file),
                    warn.line,
                    warn.column,
                    // Messages quote names in backticks on purpose: keep them as code spans.
                    warn.message.replace('\n', " ")
                )
            })
            .collect();
        out.push(Block::list(
            "warnings",
            60,
            details_open(&format!("Warnings ({})", plan.warnings.len()), true),
            "",
            items,
            "\n</details>\n\n",
        ));
    }
    out
}

/// `<details><summary>TITLE</summary>` and the blank line GitHub needs before markdown.
fn details_open(title: &str, open: bool) -> String {
    let open = if open { " open" } else { "" };
    format!("<details{open}><summary>{title}</summary>\n\n")
}

/// The trigger's facts, one bullet each.
fn trigger(plan: &Plan, t: &super::trigger::PlanTrigger) -> String {
    let mut s = details_open("Trigger", true);
    s.push_str("`drbook watch` starts a run of this runbook when the trigger fires.\n\n");
    for f in t.facts(plan.rpo_seconds) {
        let label = text(&f.label);
        if f.code && f.value.contains('\n') {
            s.push_str(&format!("- **{label}:**\n\n{}\n", cells::block(&f.value)));
        } else {
            let value = if f.code { code(&f.value) } else { text(&f.value) };
            s.push_str(&format!("- **{label}:** {value}\n"));
        }
    }
    s.push_str("\n</details>\n\n");
    s
}

/// The declared cadence, the steps a component drill runs, where drills report.
fn drills(plan: &Plan) -> String {
    let mut s = details_open("Drills", false);
    if plan.drills.is_empty() {
        s.push_str("No drill cadence declared.\n\n");
    } else {
        let cadence: Vec<String> = plan
            .drills
            .iter()
            .map(|d| format!("{} every {}", d.kind, human(d.every_seconds)))
            .collect();
        s.push_str(&format!("**Cadence:** {}\n\n", text(&cadence.join(", "))));
    }
    let runs: Vec<String> = plan.component_drill_steps.iter().map(|id| code(id)).collect();
    if runs.is_empty() {
        s.push_str("**Component drill runs:** no step (none is `safe`)\n\n");
    } else {
        s.push_str(&format!(
            "**Component drill runs:** {}\n\n",
            fit::shorten_list(&runs, 200, ", ")
        ));
    }
    if let Some(url) = &plan.notify_drills {
        s.push_str(&format!("**Drill results posted to:** {}\n\n", code(url)));
    }
    s.push_str("</details>\n\n");
    s
}
