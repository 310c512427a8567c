//! `drbook watch ack|approve|deny|status FILE`: the admin commands of a watched runbook.
//!
//! Input: [`WatchAdmin`], who is acting. Output: what was done, or a refusal (exit 2).

use super::watch_args::WatchAdmin;
use super::{CliError, Outcome};

pub fn admin(cmd: WatchAdmin, _user: &str, _color: bool) -> Result<Outcome, CliError> {
    let name = match cmd {
        WatchAdmin::Ack { .. } => "ack",
        WatchAdmin::Approve { .. } => "approve",
        WatchAdmin::Deny { .. } => "deny",
        WatchAdmin::Status { .. } => "status",
    };
    Err(CliError::invalid(format!("drbook watch {name}: not implemented yet in this build")))
}
