//! The clap shape of `drbook watch`: either the watcher itself (`drbook watch FILE [--once]
//! [--dry-run] ...`) or one of its admin commands (`drbook watch ack|approve|deny|status
//! FILE ...`), and [`WatchOptions`], what `cli/mod.rs` hands the watcher (`watch.rs`).
//!
//! Input: the command line. Output: [`WatchArgs`]; imports no other command file.

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `drbook watch`: a subcommand, or the watcher's own arguments (never both).
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct WatchArgs {
    #[command(subcommand)]
    pub admin: Option<WatchAdmin>,
    /// The runbook to watch (it must have a `trigger` block).
    #[arg(required = true)]
    pub file: Option<PathBuf>,
    /// Where runs and watch state are kept.
    #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Run one round and exit: 0 when it was healthy, 1 when it failed.
    #[arg(long)]
    pub once: bool,
    /// Do everything except firing (the journal records `fired` with `dry_run: true`).
    #[arg(long)]
    pub dry_run: bool,
    /// Set a param (NAME=VALUE); repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Read params from FILE: one `NAME=VALUE` per line, `#` comment lines; `--param` wins.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// How rounds and transitions are printed.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WatchStatusFormat {
    Text,
    Json,
}

/// The admin commands of a watched runbook (`--as NAME` says who you are).
#[derive(Subcommand, Debug)]
pub enum WatchAdmin {
    /// Re-arm a watcher disarmed by a failover (journaled as acknowledged).
    Ack {
        /// The watched runbook.
        file: PathBuf,
        /// A note kept with the acknowledgement.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        /// Where runs and watch state are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// Approve the failover the watcher is waiting on.
    Approve {
        /// The watched runbook.
        file: PathBuf,
        /// The role you approve as; default: the first missing role you may hold.
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
        /// A note kept with the approval.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        /// Where runs and watch state are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// Deny the failover the watcher is waiting on (journaled as blocked).
    Deny {
        /// The watched runbook.
        file: PathBuf,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Where runs and watch state are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// Show the watcher's state: phase, failures, cooldown, disarm, pending approval, rounds.
    Status {
        /// The watched runbook.
        file: PathBuf,
        /// Where runs and watch state are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = WatchStatusFormat::Text)]
        format: WatchStatusFormat,
    },
}

/// What the watcher (`watch::watch`) is asked to do.
// The placeholder `watch.rs` of a build without the watcher reads only `file`.
#[allow(dead_code)]
#[derive(Debug)]
pub struct WatchOptions {
    pub file: PathBuf,
    pub state_dir: PathBuf,
    pub once: bool,
    pub dry_run: bool,
    /// `--param` and `--params-file`, merged (`--param` wins).
    pub params: Vec<(String, String)>,
    pub log_format: LogFormat,
    /// Who runs the watcher (`--as`, `$DRBOOK_USER`, the OS user).
    pub user: String,
    /// Whether diagnostics are coloured.
    pub color: bool,
}
