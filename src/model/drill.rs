//! Drill types (issue 12): how a runbook is practised. A drill is a run recorded as a drill of
//! one of these types; the `drills { }` header block declares how often each is due.

use serde::{Deserialize, Serialize};

/// The four drill types of the DR planning guide's drill framework.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillKind {
    /// Nothing executes: the team walks the runbook and answers each step.
    Tabletop,
    /// Only `safe` steps (and side-effect-free `http GET`/`HEAD` steps) run.
    Component,
    /// `--only STEP,...` and their ancestors run.
    Partial,
    /// The whole runbook, exactly like `run`.
    Full,
}

impl DrillKind {
    /// Every type, in the guide's order (least to most invasive).
    pub const ALL: [DrillKind; 4] =
        [DrillKind::Tabletop, DrillKind::Component, DrillKind::Partial, DrillKind::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            DrillKind::Tabletop => "tabletop",
            DrillKind::Component => "component",
            DrillKind::Partial => "partial",
            DrillKind::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<DrillKind> {
        DrillKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Full and partial drills recover something, so they have an achieved RTO; a tabletop
    /// runs nothing and a component drill only probes.
    pub fn recovers(self) -> bool {
        matches!(self, DrillKind::Full | DrillKind::Partial)
    }

    /// Tabletop and component drills change nothing: they may run while an unfinished run
    /// of the same runbook exists.
    pub fn changes_nothing(self) -> bool {
        matches!(self, DrillKind::Tabletop | DrillKind::Component)
    }
}

impl std::fmt::Display for DrillKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the header's `drills { }` block: `component every 7d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrillCadence {
    pub kind: DrillKind,
    /// Milliseconds between drills of this type.
    pub every: super::Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in DrillKind::ALL {
            assert_eq!(DrillKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DrillKind::parse("Full"), None);
        assert!(DrillKind::Component.changes_nothing());
        assert!(!DrillKind::Partial.changes_nothing());
    }
}
