//! The `wait` action: sleeps, unless a signal stops the run first.

use super::env::{begin, ActionEnv, Attempt};
use crate::model::Millis;
use std::time::Duration;

pub(super) async fn run(env: &ActionEnv<'_>, millis: Millis) -> Attempt {
    if let Some(a) = begin(env, None).await {
        return a;
    }
    let mut stop = env.stop.clone();
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(millis)) => Attempt::Ok(String::new()),
        _ = stop.wait_for(|s| *s) => Attempt::Stopped,
    }
}
