//! `readiness --format prometheus`: the Prometheus text exposition format (version 0.0.4), for
//! node_exporter's textfile collector. Every metric is a gauge with a `runbook` label (the
//! runbook's name), and a `type` label (the drill type) for the per-drill ones; a family is
//! written only when it has a sample, with its `# HELP` and `# TYPE` lines. Label values are
//! escaped as the format says (`\\`, `\"`, `\n`).
//!
//! | metric | labels | value |
//! |---|---|---|
//! | `drbook_rto_budget_seconds` | runbook | the `rto` budget |
//! | `drbook_estimated_rto_seconds` | runbook | the critical path, as `plan` computes it |
//! | `drbook_rpo_objective_seconds` | runbook | the `rpo` objective |
//! | `drbook_last_achieved_rto_seconds` | runbook | from the latest run or drill that recovered |
//! | `drbook_last_achieved_rpo_seconds` | runbook | from the latest run or drill that measured it |
//! | `drbook_last_drill_timestamp_seconds` | runbook, type | start of the last drill over |
//! | `drbook_last_drill_success` | runbook, type | 1 when that drill succeeded, else 0 |
//! | `drbook_drill_overdue` | runbook, type | 1 when a declared type is overdue, else 0 |
//! | `drbook_review_due_timestamp_seconds` | runbook | midnight UTC of the review's due date |
//! | `drbook_changed_since_drill` | runbook, type | 1 when the runbook changed since the last successful drill of a declared type |
//! | `drbook_watch_state` | runbook, state | for a runbook with watch state: one sample per state (`healthy`, `degraded`, `awaiting_approval`, `disarmed`), 1 for the current one, else 0 |
//! | `drbook_watch_consecutive_failures` | runbook | the watcher's count of consecutive failed rounds |

use crate::journal::readiness::Readiness;
use crate::journal::watch::Phase;
use crate::model::time as clock;
use std::fmt::Write as _;

/// One metric family: name, help, and its samples (labels, value).
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(String, f64)>,
}

/// `{runbook="db"}` or `{runbook="db",type="full"}`, escaped.
fn labels(runbook: &str, kind: Option<&str>) -> String {
    let mut out = format!("{{runbook=\"{}\"", escape(runbook));
    if let Some(k) = kind {
        let _ = write!(out, ",type=\"{}\"", escape(k));
    }
    out.push('}');
    out
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn epoch_seconds(at: &str) -> Option<f64> {
    clock::parse(at).map(|ms| ms as f64 / 1000.0)
}

/// The watcher's state of one runbook, for the `drbook_watch_*` families.
pub struct Watched {
    pub runbook: String,
    pub phase: Phase,
    pub consecutive: u32,
}

/// The exposition of `judged`, and of `watched` (the runbooks with watch state).
pub fn render(judged: &[Readiness], watched: &[Watched]) -> String {
    let mut fams = vec![
        Family { name: "drbook_rto_budget_seconds", help: "The runbook's RTO budget (rto).", samples: vec![] },
        Family {
            name: "drbook_estimated_rto_seconds",
            help: "The runbook's estimated RTO: its critical path, as drbook plan computes it.",
            samples: vec![],
        },
        Family { name: "drbook_rpo_objective_seconds", help: "The runbook's RPO objective (rpo).", samples: vec![] },
        Family {
            name: "drbook_last_achieved_rto_seconds",
            help: "The achieved RTO of the latest run or drill of the runbook that recovered.",
            samples: vec![],
        },
        Family {
            name: "drbook_last_achieved_rpo_seconds",
            help: "The achieved RPO of the latest run or drill of the runbook that measured one.",
            samples: vec![],
        },
        Family {
            name: "drbook_last_drill_timestamp_seconds",
            help: "When the last finished drill of this type started (Unix time).",
            samples: vec![],
        },
        Family {
            name: "drbook_last_drill_success",
            help: "1 when the last finished drill of this type succeeded, 0 when it did not.",
            samples: vec![],
        },
        Family {
            name: "drbook_drill_overdue",
            help: "1 when a drill type declared in drills { } is overdue (no successful drill within its every), else 0.",
            samples: vec![],
        },
        Family {
            name: "drbook_review_due_timestamp_seconds",
            help: "When the runbook's review is due: reviewed + review_every, midnight UTC (Unix time).",
            samples: vec![],
        },
        Family {
            name: "drbook_changed_since_drill",
            help: "1 when the runbook changed since the last successful drill of this declared type, else 0.",
            samples: vec![],
        },
    ];
    for r in judged {
        let rb = labels(&r.runbook, None);
        let mut put = |i: usize, l: &str, v: Option<f64>| {
            if let Some(v) = v {
                fams[i].samples.push((l.to_string(), v));
            }
        };
        put(0, &rb, r.rto_budget_seconds);
        put(1, &rb, Some(r.estimated_rto_seconds));
        put(2, &rb, r.rpo_objective_seconds);
        put(3, &rb, r.last_achieved_rto_seconds);
        put(4, &rb, r.last_achieved_rpo_seconds);
        for d in &r.drills {
            let l = labels(&r.runbook, Some(d.kind.as_str()));
            put(5, &l, d.last.as_ref().and_then(|x| epoch_seconds(&x.started_at)));
            put(6, &l, d.last.as_ref().map(|x| flag(x.success)));
            if d.declared {
                put(7, &l, Some(flag(d.overdue)));
                put(9, &l, Some(flag(d.changed_since_drill)));
            }
        }
        put(8, &rb, r.review_due_epoch.map(|s| s as f64));
    }
    fams.push(Family {
        name: "drbook_watch_state",
        help: "The watcher's state of the runbook: 1 for the current state, 0 for the others.",
        samples: vec![],
    });
    fams.push(Family {
        name: "drbook_watch_consecutive_failures",
        help: "Consecutive failed probe rounds the runbook's watcher has counted.",
        samples: vec![],
    });
    for w in watched {
        for p in Phase::ALL {
            let l = format!("{{runbook=\"{}\",state=\"{}\"}}", escape(&w.runbook), p.as_str());
            fams[10].samples.push((l, flag(w.phase == p)));
        }
        fams[11].samples.push((labels(&w.runbook, None), f64::from(w.consecutive)));
    }
    let mut out = String::new();
    for f in fams.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} gauge", f.name);
        for (l, v) in &f.samples {
            let _ = writeln!(out, "{}{l} {v}", f.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_state_has_one_sample_per_state() {
        let w = Watched { runbook: "db".into(), phase: Phase::Disarmed, consecutive: 2 };
        let out = render(&[], &[w]);
        assert!(out.contains("# TYPE drbook_watch_state gauge\n"), "{out}");
        assert!(out.contains("drbook_watch_state{runbook=\"db\",state=\"disarmed\"} 1\n"), "{out}");
        assert!(out.contains("drbook_watch_state{runbook=\"db\",state=\"healthy\"} 0\n"), "{out}");
        assert!(out.contains("drbook_watch_consecutive_failures{runbook=\"db\"} 2\n"), "{out}");
        assert!(!render(&[], &[]).contains("drbook_watch"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            labels("a\"b\\c\nd", Some("full")),
            "{runbook=\"a\\\"b\\\\c\\nd\",type=\"full\"}"
        );
    }
}
