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

#[cfg(test)]
mod gate_tests {
    use super::*;
    use crate::exec::Secrets;
    use crate::model::{Action, Capture, CaptureFrom, Text};
    use std::collections::HashMap;
    use std::path::Path;

    /// The runbook's only step prints `script`'s output and captures it as `lag`.
    fn gate(script: &str, rpo: Option<u64>) -> Result<u64, Block> {
        let mut rb = crate::model::tests_support::runbook_with_durations(&[1], &[&[]]);
        rb.rpo = rpo;
        rb.steps[0].id = "replica_lag".into();
        rb.steps[0].action = Some(Action::Run { script: Text::literal(script) });
        rb.steps[0].captures = vec![Capture { name: "lag".into(), from: CaptureFrom::Stdout }];
        rb.steps[0].safe = true;
        let g = RpoGate { step: 0, capture: "lag".into() };
        let values = HashMap::new();
        let secrets = Secrets::default();
        let shell = crate::exec::find_shell(None).unwrap_or_else(|e| panic!("{e}"));
        let sa = Standalone::new(&rb, &values, &secrets, Path::new("."), &shell, None);
        let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(rpo_gate(&sa, &rb, &g))
    }

    #[test]
    fn the_gate_passes_within_rpo_and_blocks_over_it_or_when_it_cannot_measure() {
        assert_eq!(gate("echo 12", Some(60_000)), Ok(12_000));
        assert_eq!(
            gate("echo 2m", Some(60_000)),
            Err(Block::RpoGate { step: "replica_lag".into(), lag_ms: 120_000, rpo_ms: 60_000 })
        );
        let failed = |r: Result<u64, Block>| match r {
            Err(Block::RpoGateFailed { step, error }) => (step, error),
            other => panic!("{other:?}"),
        };
        let (step, error) = failed(gate("echo unknown", Some(60_000)));
        assert_eq!(step, "replica_lag");
        assert!(error.contains("not a number of seconds"), "{error}");
        let (_, error) = failed(gate("exit 2", Some(60_000)));
        assert!(error.contains("the step failed"), "{error}");
        let (_, error) = failed(gate("echo 1", None));
        assert!(error.contains("no `rpo`"), "{error}");
    }
}
