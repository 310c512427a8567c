//! The `trigger { }` header block (issue 14): when `drbook watch` starts a run of the runbook
//! by itself. Several read-only probes are asked every `every`; a round fails when at least
//! `quorum` of them fail; after `failures` consecutive failed rounds the trigger fires, unless
//! the cooldown since the last failover is active or the RPO gate measures a lag over the
//! runbook's `rpo`. Firing needs a person's approval or, under `requires auto`, a recent
//! successful practice drill (a `full` or `partial` drill of the current content within the
//! runbook's drill schedule).

use super::{Action, Approval, Millis, Text};
use crate::diag::Span;

/// Defaults of the block's settings (the DR planning guide's failover controller).
pub const DEFAULT_EVERY: Millis = 30_000;
pub const DEFAULT_FAILURES: u32 = 3;
pub const DEFAULT_COOLDOWN: Millis = 30 * 60_000;
/// A probe's timeout when it gives none (never more than the interval).
pub const DEFAULT_PROBE_TIMEOUT: Millis = 10_000;

#[derive(Clone, Debug)]
pub struct Trigger {
    /// In declaration order; names are unique.
    pub probes: Vec<Probe>,
    /// The interval between the starts of two rounds.
    pub every: Millis,
    /// Consecutive failed rounds before the trigger fires (at least 1).
    pub failures: u32,
    /// A round fails when at least this many probes fail (1..=probes.len()); `quorum K of N`
    /// with N the number of probes. Default: every probe.
    pub quorum: u32,
    /// No new failover within this long of the last one.
    pub cooldown: Millis,
    /// `rpo_gate STEP`: a `safe` step whose captured lag is compared with the runbook's `rpo`
    /// before firing.
    pub rpo_gate: Option<RpoGate>,
    /// What firing needs.
    pub requires: Requires,
    /// `params { NAME = VALUE }`: the params the run gets; texts may use `${trigger.fired_at}`
    /// and `${trigger.detected_at}` ([`super::Ref::Trigger`]).
    pub params: Vec<(String, Text)>,
    /// `notify URL-or-secret`: where every transition of the watcher is posted.
    pub notify: Option<Text>,
    pub span: Span,
}

/// `probe NAME [timeout DURATION] ACTION`: a read-only action (`run`, `http GET|HEAD`,
/// `ssm command`); it fails when the action fails or does not end within its timeout.
#[derive(Clone, Debug)]
pub struct Probe {
    pub name: String,
    pub action: Action,
    pub timeout: Millis,
    pub span: Span,
}

/// The RPO gate: step `step` (an index into `Runbook::steps`, a `safe` step) is run and its
/// capture `capture` read as a lag (a number of seconds or a duration).
#[derive(Clone, Debug)]
pub struct RpoGate {
    pub step: usize,
    pub capture: String,
}

#[derive(Clone, Debug)]
pub enum Requires {
    /// `requires approval { by ROLE, ...; timeout D }`: one approval per listed role, each by
    /// a different person, through the normal gate rules. Bare `requires approval` (no
    /// `roles` declared in the runbook): one approval by anyone.
    Approval(Approval),
    /// `requires auto`: fire without a person, only after a recent successful practice drill.
    Auto,
}

/// What the text of a trigger's `params` may know of the firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerField {
    /// When the trigger fired (RFC 3339, UTC).
    FiredAt,
    /// When the first failed round of the outage began (the run's `--since`).
    DetectedAt,
}

impl TriggerField {
    pub fn name(self) -> &'static str {
        match self {
            TriggerField::FiredAt => "fired_at",
            TriggerField::DetectedAt => "detected_at",
        }
    }
}
