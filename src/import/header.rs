//! The runbook's header from the document: title, description, owner, `rto`/`rpo`, `tier`,
//! review dates, `objectives { }` from the services' objectives and `drills { }` from the
//! testing schedule.

use super::text::{duration, ident, quote, string};
use crate::drplan::{prose, DrPlan};

/// The header's lines (two-space indented) and the warnings they raised.
pub fn header(doc: &DrPlan, warnings: &mut Vec<String>) -> String {
    let mut out = String::new();
    let meta = doc.metadata.clone().unwrap_or_default();
    let summary = doc.executive_summary.clone().unwrap_or_default();
    let km = summary.key_metrics.clone().unwrap_or_default();
    let x = doc.x_drbook.as_ref();
    if let Some(t) = x.and_then(|x| x.title.as_deref()) {
        out.push_str(&format!("  title {}\n", quote(t)));
    }
    if let Some(d) = summary.description.as_deref().filter(|d| !d.trim().is_empty()) {
        out.push_str(&format!("  description {}\n", string(d, "  ")));
    }
    if let Some(o) = meta.owner.as_deref().filter(|o| !o.trim().is_empty()) {
        out.push_str(&format!("  owner {}\n", quote(o.trim())));
    }
    let length =
        |drbook: Option<&String>, prose_text: Option<&String>, what: &str, w: &mut Vec<String>| {
            let parsed = drbook
                .and_then(|t| prose::parse_duration(t))
                .or_else(|| prose_text.and_then(|t| prose::parse_duration(t)));
            if parsed.is_none() {
                if let Some(t) = prose_text {
                    w.push(format!("`{what}` `{t}` is not a length; left out"));
                }
            }
            parsed
        };
    if let Some(ms) =
        length(x.and_then(|x| x.rto.as_ref()), km.rto_target.as_ref(), "rto_target", warnings)
    {
        out.push_str(&format!("  rto {}\n", duration(ms)));
    }
    if let Some(ms) =
        length(x.and_then(|x| x.rpo.as_ref()), km.rpo_target.as_ref(), "rpo_target", warnings)
    {
        out.push_str(&format!("  rpo {}\n", duration(ms)));
    }
    if let Some(t) = tier(doc) {
        out.push_str(&format!("  tier {t}\n"));
    }
    if let Some(d) = meta.last_updated.as_deref().filter(|d| is_date(d)) {
        out.push_str(&format!("  reviewed {d}\n"));
    }
    if let Some(f) = meta.review_frequency.as_deref() {
        match prose::parse_cadence(f) {
            Some(ms) => out.push_str(&format!("  review_every {}\n", duration(ms))),
            None => warnings.push(format!("`review_frequency` `{f}` is not a cadence; left out")),
        }
    }
    out
}

/// `tier` from drbook's own record, the strategy (`warm standby` → `important`), or the first
/// service's tier.
fn tier(doc: &DrPlan) -> Option<String> {
    if let Some(t) = doc.x_drbook.as_ref().and_then(|x| x.tier.as_deref()) {
        return Some(ident(t, "")).filter(|t| !t.is_empty());
    }
    let strategy = doc
        .executive_summary
        .as_ref()
        .and_then(|s| s.key_metrics.as_ref())
        .and_then(|k| k.dr_strategy.as_deref());
    if let Some(s) = strategy.map(str::to_ascii_lowercase) {
        for (word, tier) in [("hot", "critical"), ("warm", "important"), ("cold", "standard")] {
            if s.starts_with(word) {
                return Some(tier.to_string());
            }
        }
    }
    let first = doc.recovery_objectives.as_ref()?.by_service.first()?.tier.as_deref()?;
    Some(ident(first, "")).filter(|t| !t.is_empty())
}

/// `YYYY-MM-DD`, a real date, written with four digits of year (as the language reads it).
fn is_date(s: &str) -> bool {
    use crate::model::Date;
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let mut it = s.split('-').map(|p| p.parse::<u32>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (it.next(), it.next(), it.next()) else {
        return false;
    };
    let Ok(year) = i32::try_from(y) else { return false };
    let date = Date { year, month: m, day: d };
    Date::from_days(date.days()) == date
}

/// `objectives { service "..." { rto ..; rpo ..; tier .. } }`, or nothing.
pub fn objectives(doc: &DrPlan, warnings: &mut Vec<String>) -> String {
    let Some(by) =
        doc.recovery_objectives.as_ref().map(|r| &r.by_service).filter(|b| !b.is_empty())
    else {
        return String::new();
    };
    let mut out = String::from("\n  objectives {\n");
    let mut seen: Vec<&str> = Vec::new();
    for s in by {
        if s.service.trim().is_empty() || seen.contains(&s.service.as_str()) {
            warnings.push(format!("service `{}` is unnamed or repeated; left out", s.service));
            continue;
        }
        seen.push(&s.service);
        let mut parts = Vec::new();
        for (what, text) in [("rto", &s.rto), ("rpo", &s.rpo)] {
            if let Some(t) = text {
                match prose::parse_duration(t) {
                    Some(ms) => parts.push(format!("{what} {}", duration(ms))),
                    None => warnings.push(format!(
                        "service `{}`: {what} `{t}` is not a length; left out",
                        s.service
                    )),
                }
            }
        }
        if let Some(t) = &s.tier {
            match ident(t, "") {
                id if id.is_empty() => warnings.push(format!(
                    "service `{}`: tier `{t}` cannot be a name; left out",
                    s.service
                )),
                id => {
                    if id != *t {
                        warnings
                            .push(format!("service `{}`: tier `{t}` written as `{id}`", s.service));
                    }
                    parts.push(format!("tier {id}"));
                }
            }
        }
        out.push_str(&format!("    service {} {{ {} }}\n", quote(&s.service), parts.join("; ")));
    }
    out.push_str("  }\n");
    out
}

/// `drills { tabletop every 30d ... }` from the testing schedule, or nothing.
pub fn drills(doc: &DrPlan, warnings: &mut Vec<String>) -> String {
    let Some(s) = doc.testing.as_ref().and_then(|t| t.schedule.as_ref()) else {
        return String::new();
    };
    let mut lines = Vec::new();
    for (kind, key, value) in [
        ("tabletop", "tabletop", &s.tabletop),
        ("component", "component", &s.component),
        ("partial", "partial_failover", &s.partial_failover),
        ("full", "full_failover", &s.full_failover),
    ] {
        if let Some(v) = value {
            match prose::parse_cadence(v) {
                Some(ms) if ms > 0 => lines.push(format!("    {kind} every {}\n", duration(ms))),
                _ => warnings
                    .push(format!("testing schedule `{key}` `{v}` is not a cadence; left out")),
            }
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    format!("\n  drills {{\n{}  }}\n", lines.concat())
}
