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
