//! A build without the cargo feature `aws`: no AWS client. `check` rejects `ssm` actions and
//! `ssm()` secrets in such a build, so nothing here is reached from a checked runbook; should
//! it be, the answer is a clear refusal, never a pretended success.

use super::remote::{AutomationSpec, AwsOptions, CommandSpec, Ended};
use std::time::Duration;
use tokio::sync::watch;

/// Never constructed without AWS support.
#[derive(Clone, Debug)]
pub enum Aws {}

pub const REFUSAL: &str =
    "this drbook was built without AWS support (cargo feature `aws`); rebuild with default features";

impl Aws {
    pub async fn connect(_: &AwsOptions) -> Result<Aws, String> {
        Err(REFUSAL.into())
    }

    pub async fn get_parameter(&self, _: &str) -> Result<String, String> {
        match *self {}
    }

    pub async fn put_parameter(&self, _: &str, _: &str, _: bool) -> Result<i64, String> {
        match *self {}
    }

    pub async fn command(
        &self,
        _: &CommandSpec,
        _: Option<String>,
        _: impl FnOnce(&str) -> Result<(), String>,
        _: impl Fn(String),
        _: Option<Duration>,
        _: watch::Receiver<bool>,
    ) -> Ended {
        match *self {}
    }

    pub async fn automation(
        &self,
        _: &AutomationSpec,
        _: Option<String>,
        _: impl FnOnce(&str) -> Result<(), String>,
        _: impl Fn(String),
        _: Option<Duration>,
        _: watch::Receiver<bool>,
    ) -> Ended {
        match *self {}
    }
}
