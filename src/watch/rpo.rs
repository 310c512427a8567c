//! The trigger's RPO gate: before firing, the gate step (a `safe` step with a capture) is run
//! on its own, like a step (its action, `env`, `workdir`, `timeout`, captures and checks), and
//! its captured lag compared with the runbook's `rpo`. Fail safe: a lag over `rpo` blocks
//! ([`Block::RpoGate`]), and so does a lag that could not be measured — the step failed, the
//! capture is missing or not a number of seconds or a duration, the runbook has no `rpo`
//! ([`Block::RpoGateFailed`]). The trigger never fires on an unknown lag.
//!
//! Input: the runbook, its trigger's gate, what actions need. Output: the lag in milliseconds
//! (within `rpo`), or the block.

use super::Block;
use crate::exec::Standalone;
use crate::model::trigger::RpoGate;
use crate::model::Runbook;

/// Runs the gate; `Ok(lag_ms)` when the lag is within the runbook's `rpo`.
pub async fn rpo_gate(sa: &Standalone<'_>, rb: &Runbook, gate: &RpoGate) -> Result<u64, Block> {
    let Some(step) = rb.steps.get(gate.step) else {
        return Err(Block::RpoGateFailed {
            step: format!("#{}", gate.step),
            error: "the gate step is not in the runbook".into(),
        });
    };
    let id = step.id.clone();
    let fail = |error: String| Block::RpoGateFailed { step: id.clone(), error };
    let Some(rpo_ms) = rb.rpo else {
        return Err(fail("the runbook declares no `rpo` to compare the lag with".into()));
    };
    let ran = sa.step(gate.step).await;
    if !ran.ok {
        return Err(fail(format!("the step failed: {}", ran.detail)));
    }
    let Some(value) = ran.captures.get(&gate.capture) else {
        return Err(fail(format!("the step captured no `{}`", gate.capture)));
    };
    let Some(lag) = lag_ms(value) else {
        return Err(fail(format!(
            "`{}` = `{}` is not a number of seconds or a duration",
            gate.capture,
            sa.bound(value)
        )));
    };
    if lag > rpo_ms {
        return Err(Block::RpoGate { step: id, lag_ms: lag, rpo_ms });
    }
    Ok(lag)
}

/// A captured lag in milliseconds: a number of seconds (`12`, `0.5`) or a duration (`2m`).
/// Negative lags (clock skew) count as none.
pub fn lag_ms(value: &str) -> Option<u64> {
    let secs = crate::exec::seconds(value)?;
    Some((secs * 1000.0).round().max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_read_as_seconds_or_durations() {
        assert_eq!(lag_ms("12"), Some(12_000));
        assert_eq!(lag_ms(" 0.5\n"), Some(500));
        assert_eq!(lag_ms("2m"), Some(120_000));
        assert_eq!(lag_ms("-3"), Some(0));
        assert_eq!(lag_ms("lots"), None);
        assert_eq!(lag_ms(""), None);
    }
}
