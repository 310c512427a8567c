//! The semantic diff of two runbook versions: what a reviewer of a change must see.
//!
//! Input: two checked runbooks (either may be absent: a file added or removed), each with its
//! [`Dag`], effective param values and check warnings. Output: a [`Diff`], pure data, rendered
//! by [`render`] as text or Markdown and serialized as JSON.
//!
//! Steps are matched by id, never by position. Every field is compared as the plan renders it
//! (params filled in, secrets `<secret:NAME>`, captures as placeholders), so a diff can show no
//! secret value: the model never holds one. Risk labels ([`risk`]) are computed from the two
//! views, not guessed.

mod lines;
pub mod render;
mod risk;
mod view;

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::graph::Dag;
use crate::model::{self, ParamValue};

use super::PlanWarning;
pub use risk::Risk;

/// One version of a runbook, checked.
pub struct Side<'a> {
    pub rb: &'a model::Runbook,
    pub dag: &'a Dag,
    pub values: &'a HashMap<String, ParamValue>,
    pub warnings: Vec<PlanWarning>,
}

/// The diff; field names are the JSON field names (README documents the schema).
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub steps: Steps,
    pub header: Vec<Change>,
    pub risks: Vec<Risk>,
    pub rto: Rto,
    pub critical_path: CriticalPath,
    pub warnings: Warnings,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Steps {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<StepChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepChange {
    pub id: String,
    pub changes: Vec<Change>,
}

/// One field that differs. `before`/`after` are `null` where the field is absent.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
    /// A line diff (`-`, `+` and ` ` prefixed lines) when either side is a multi-line script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Rto {
    pub before: u64,
    pub after: u64,
    pub delta_seconds: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CriticalPath {
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Warnings {
    pub new: Vec<PlanWarning>,
    pub fixed: Vec<PlanWarning>,
}

impl Diff {
    /// Whether the two versions differ in anything the diff compares.
    pub fn is_empty(&self) -> bool {
        self.steps.added.is_empty()
            && self.steps.removed.is_empty()
            && self.steps.changed.is_empty()
            && self.header.is_empty()
    }
}

/// Compares two versions; `None` is a file that does not exist on that side.
pub fn diff(old: Option<Side<'_>>, new: Option<Side<'_>>) -> Diff {
    let old = old.map(|s| view::View::of(&s)).unwrap_or_default();
    let new = new.map(|s| view::View::of(&s)).unwrap_or_default();
    let mut steps = Steps::default();
    let old_ids: HashMap<&str, usize> =
        old.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let new_ids: HashMap<&str, usize> =
        new.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    steps.removed = old
        .steps
        .iter()
        .filter(|s| !new_ids.contains_key(s.id.as_str()))
        .map(|s| s.id.clone())
        .collect();
    for s in &new.steps {
        match old_ids.get(s.id.as_str()) {
            None => steps.added.push(s.id.clone()),
            Some(&i) => {
                let changes = fields(&old.steps[i].fields, &s.fields);
                if !changes.is_empty() {
                    steps.changed.push(StepChange { id: s.id.clone(), changes });
                }
            }
        }
    }
    let header = fields(&old.header, &new.header);
    let risks = risk::risks(&old, &new, &old_ids);
    let key = |w: &PlanWarning| (w.code.clone(), w.message.clone());
    let old_w: Vec<_> = old.warnings.iter().map(key).collect();
    let new_w: Vec<_> = new.warnings.iter().map(key).collect();
    let warnings = Warnings {
        new: new.warnings.iter().filter(|w| !old_w.contains(&key(w))).cloned().collect(),
        fixed: old.warnings.iter().filter(|w| !new_w.contains(&key(w))).cloned().collect(),
    };
    Diff {
        steps,
        header,
        risks,
        rto: Rto {
            before: old.rto,
            after: new.rto,
            delta_seconds: new.rto as i64 - old.rto as i64,
        },
        critical_path: CriticalPath { before: old.critical_path, after: new.critical_path },
        warnings,
    }
}

/// The fields that differ, in the order of `new` (then fields only `old` has).
fn fields(old: &[(String, Value)], new: &[(String, Value)]) -> Vec<Change> {
    let get = |side: &[(String, Value)], f: &str| {
        side.iter().find(|(k, _)| k == f).map_or(Value::Null, |(_, v)| v.clone())
    };
    let mut names: Vec<&str> = new.iter().map(|(k, _)| k.as_str()).collect();
    for (k, _) in old {
        if !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    names
        .into_iter()
        .filter_map(|f| {
            let (before, after) = (get(old, f), get(new, f));
            (before != after).then(|| {
                let lines = lines::script_lines(&before, &after);
                Change { field: f.to_string(), before, after, lines }
            })
        })
        .collect()
}
