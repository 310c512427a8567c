//! The audit trail as people read it: one line per entry (for `status` and the text report)
//! and a markdown table (the markdown report). The entries come from the journal's replay
//! (`journal::audit`), in journal order; this file only words them.

use crate::journal::{AuditAction, AuditEntry, Decision};

fn decision(d: Option<Decision>) -> &'static str {
    match d {
        Some(Decision::Retry) => "retry",
        Some(Decision::Done) => "done",
        Some(Decision::Fail) => "fail",
        None => "-",
    }
}

/// What was done, without when: `carol denied `promote` (cli): not today`.
pub fn what(a: &AuditEntry) -> String {
    let step = a.step.as_deref().unwrap_or("-");
    let how = a.how.map_or(String::new(), |h| format!(" ({})", h.as_str()));
    let mut out = match a.action {
        AuditAction::Approved => {
            format!("{} approved `{step}` as {}{how}", a.by, a.role.as_deref().unwrap_or("-"))
        }
        AuditAction::Denied => format!("{} denied `{step}`{how}", a.by),
        AuditAction::Refused => format!("an approval of `{step}` as {} was refused{how}", a.by),
        AuditAction::Reopened => format!("{} re-opened the gate of `{step}`", a.by),
        AuditAction::Decided => format!("{} decided `{step}`: {}", a.by, decision(a.decision)),
        AuditAction::UndoDecided => {
            format!("{} decided the rollback of `{step}`: {}", a.by, decision(a.decision))
        }
        AuditAction::RollbackStarted => format!("rollback started by {}", a.by),
        AuditAction::Probed if a.decision.is_some() => {
            format!("the verify probe of `{step}` decided it succeeded")
        }
        AuditAction::Probed => format!("the verify probe of `{step}` looked"),
        AuditAction::RollbackRetried => format!("failed rollbacks retried by {}", a.by),
        AuditAction::Discussed if a.reason.is_some() => {
            format!("{} discussed `{step}`: issue found{how}", a.by)
        }
        AuditAction::Discussed => format!("{} discussed `{step}`: ready{how}", a.by),
    };
    if a.forced {
        out.push_str(" (forced against its probe)");
    }
    if let Some(r) = &a.reason {
        out.push_str(&format!(" — {r}"));
    }
    if let Some(c) = &a.comment {
        out.push_str(&format!(" — “{c}”"));
    }
    out
}

/// The `audit:` section of `status` and the text report (empty without entries).
pub fn text(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let mut out = String::from("audit:\n");
    for a in entries {
        out.push_str(&format!("  {}  {}\n", a.at, what(a)));
    }
    out
}

/// The `## Audit` section of the markdown report (empty without entries).
pub fn markdown(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from(
        "\n## Audit\n\n| at | by | action | step | detail | reason or comment |\n|---|---|---|---|---|---|\n",
    );
    for a in entries {
        let detail = match a.action {
            AuditAction::Approved => {
                let how = a.how.map_or("", |h| h.as_str());
                format!("as {} ({how})", a.role.as_deref().unwrap_or("-"))
            }
            AuditAction::Discussed if a.reason.is_some() => "issue found".to_string(),
            AuditAction::Discussed => "ready".to_string(),
            AuditAction::Denied | AuditAction::Refused => {
                a.how.map_or(String::new(), |h| h.as_str().to_string())
            }
            AuditAction::Decided | AuditAction::UndoDecided if a.forced => {
                format!("{} (--force)", decision(a.decision))
            }
            AuditAction::Decided | AuditAction::UndoDecided | AuditAction::Probed => {
                decision(a.decision).to_string()
            }
            AuditAction::Reopened | AuditAction::RollbackStarted | AuditAction::RollbackRetried => {
                String::new()
            }
        };
        let why: Vec<&str> =
            [a.reason.as_deref(), a.comment.as_deref()].into_iter().flatten().collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            a.at,
            cell(&a.by),
            a.action.as_str(),
            a.step.as_deref().map_or("-".to_string(), |s| format!("`{s}`")),
            detail,
            cell(&why.join("; "))
        ));
    }
    out
}
