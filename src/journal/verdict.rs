//! The run's results as the report judges them, from its replayed state: the achieved RTO and
//! whether it met `rto`, the achieved RPO. One definition, used by the final report
//! (`cli/runreport.rs`) and by the executor for the `${run.*}` values of `finally` steps.

use super::{RunState, RunStatus};
use crate::model::time as clock;

/// From the RTO clock's start to the run's end (or now, while unfinished).
pub fn achieved_rto_ms(s: &RunState) -> Option<u64> {
    let start = clock::parse(&s.clock_start)?;
    let end = s.finished_at.as_deref().and_then(clock::parse).unwrap_or_else(clock::now_ms);
    u64::try_from(end - start).ok()
}

/// Whether a run that ended as `status` met its `rto` (`achieved`: [`achieved_rto_ms`]).
/// Judged only for a run that recovered: a failed run met no RTO; an unfinished one, or one
/// without `rto`, is not judged.
pub fn rto_met(s: &RunState, status: RunStatus, achieved: Option<u64>) -> Option<bool> {
    match status {
        RunStatus::Succeeded => s.rto_ms.zip(achieved).map(|(budget, got)| got <= budget),
        RunStatus::Failed | RunStatus::RolledBack | RunStatus::RollbackFailed => {
            s.rto_ms.map(|_| false)
        }
        _ => None,
    }
}

/// The achieved RPO: the largest `measure rpo` of the run.
pub fn achieved_rpo_ms(s: &RunState) -> Option<u64> {
    s.steps.iter().filter_map(|(_, r)| r.rpo_ms).max()
}
