//! `drbook drill FILE --type T`: a run recorded as a drill (issue 12). The drill's type and
//! targets go into its `run_started` record, so `resume`, `status`, reports and `history`
//! know it for a drill of that type. A tabletop drill executes nothing and resolves no
//! secret: its steps are discussed (`exec::tabletop`, `journal::tabletop`).

use super::outcome::{CliError, Outcome};
use super::prepare::RunRequest;
use super::run::{self, NewRun};
use crate::journal::DrillInfo;
use crate::model::DrillKind;

/// What `drill` is asked besides the runbook and the run flags.
pub struct DrillRequest {
    pub kind: DrillKind,
    /// `--only`: a partial drill's targets.
    pub only: Vec<String>,
    /// `--notify URL`: where the drill result's summary is posted.
    pub notify: Option<String>,
}

pub fn drill(
    req: RunRequest<'_>,
    ask: DrillRequest,
    run_id: Option<String>,
    allow_concurrent: bool,
) -> Result<Outcome, CliError> {
    if !ask.only.is_empty() && ask.kind != DrillKind::Partial {
        return Err(CliError::invalid(format!(
            "`--only` names a partial drill's targets; this is a {} drill (nothing was run)",
            ask.kind
        )));
    }
    if ask.kind == DrillKind::Partial && ask.only.is_empty() {
        return Err(CliError::invalid(
            "a partial drill needs its targets: `--only STEP[,STEP...]` (nothing was run)",
        ));
    }
    if ask.kind == DrillKind::Tabletop && !req.flags.approve.is_empty() {
        return Err(CliError::invalid(
            "a tabletop drill asks for no approval (nothing runs): `drbook approve RUN STEP` says a step is ready (nothing was run)",
        ));
    }
    let mut only: Vec<String> = Vec::new();
    for t in ask.only {
        if !only.contains(&t) {
            only.push(t);
        }
    }
    let drill = Some(DrillInfo { kind: ask.kind, targets: only });
    let notify = ask.notify;
    let new = NewRun {
        run_id,
        since: None,
        allow_concurrent,
        dry_run: false,
        drill,
        notify,
        trigger: None,
    };
    run::run(req, &new)
}
