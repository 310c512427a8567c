//! One round of a trigger's probes: every probe started at once, each within its own timeout
//! (one that does not end in time fails), with the runbook's params and secrets, through
//! [`crate::exec::Standalone`] (as a step's action runs).
//!
//! Input: the trigger and what its actions need. Output: one [`ProbeOutcome`] per probe, in
//! the trigger's order, each detail masked and bounded.

use super::ProbeOutcome;
use crate::exec::Standalone;
use crate::model::Trigger;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Runs every probe of `t` concurrently; the outcomes in declaration order.
pub async fn round(sa: &Standalone<'_>, t: &Trigger) -> Vec<ProbeOutcome> {
    let runs = t.probes.iter().map(|p| {
        Box::pin(async move {
            let ran = sa.probe(&p.name, &p.action, p.timeout).await;
            ProbeOutcome { name: p.name.clone(), ok: ran.ok, detail: ran.detail, ms: ran.ms }
        }) as Pin<Box<dyn Future<Output = ProbeOutcome> + Send + '_>>
    });
    join_all(runs.collect()).await
}

/// Polls every future until all have ended; their outputs in order.
async fn join_all<'a, T>(mut futs: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>) -> Vec<T> {
    let mut done: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, d) in futs.iter_mut().zip(done.iter_mut()) {
            if d.is_some() {
                continue;
            }
            match f.as_mut().poll(cx) {
                Poll::Ready(v) => *d = Some(v),
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Secrets;
    use crate::model::trigger::{Probe, Requires};
    use crate::model::{Action, Text};
    use std::collections::HashMap;
    use std::path::Path;

    fn probe(name: &str, script: &str, timeout: u64) -> Probe {
        Probe {
            name: name.into(),
            action: Action::Run { script: Text::literal(script) },
            timeout,
            span: Default::default(),
        }
    }

    #[test]
    fn probes_run_at_once_each_within_its_timeout_and_secrets_are_masked() {
        let rb = crate::model::tests_support::runbook_with_durations(&[], &[]);
        let t = Trigger {
            probes: vec![
                probe("up", "echo fine", 5_000),
                probe("down", "echo broken >&2; exit 3", 5_000),
                probe("slow", "sleep 5", 300),
                probe("leaky", "echo hunter2-token; exit 1", 5_000),
            ],
            every: 30_000,
            failures: 3,
            quorum: 4,
            cooldown: 0,
            rpo_gate: None,
            requires: Requires::Auto,
            params: Vec::new(),
            notify: None,
            span: Default::default(),
        };
        let values = HashMap::new();
        let secrets = Secrets::from_pairs(vec![("tok".into(), "hunter2-token".into())]);
        let shell = crate::exec::find_shell(None).unwrap_or_else(|e| panic!("{e}"));
        let sa = Standalone::new(&rb, &values, &secrets, Path::new("."), &shell, None);
        let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let started = std::time::Instant::now();
        let out = rt.block_on(round(&sa, &t));
        // The slow probe was cut at its own timeout, and the others did not wait for it.
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
        let names: Vec<_> = out.iter().map(|p| (p.name.as_str(), p.ok)).collect();
        assert_eq!(names, [("up", true), ("down", false), ("slow", false), ("leaky", false)]);
        assert_eq!(out[0].detail, "fine");
        assert!(out[1].detail.contains("broken"), "{}", out[1].detail);
        assert!(out[2].detail.contains("timed out"), "{}", out[2].detail);
        assert!(!out[3].detail.contains("hunter2"), "{}", out[3].detail);
    }
}
