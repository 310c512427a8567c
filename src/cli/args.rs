//! Command-line arguments (clap).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Disaster-recovery runbooks you can read, review, plan and execute.
#[derive(Parser, Debug)]
#[command(name = "drbook", version, about, max_term_width = 100)]
pub struct Cli {
    /// When to use colours in diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check runbooks and modules: syntax, names, dependencies, budget, lints.
    Check {
        /// Files to check (runbooks or template modules).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// The date the stale-review warning compares against (YYYY-MM-DD); default today.
        #[arg(long, value_name = "DATE")]
        today: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Set a param (NAME=VALUE); repeatable.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    /// Preview a runbook: steps, waves, critical path and RTO budget verdict.
    Plan {
        /// The runbook.
        file: PathBuf,
        /// Set a param (NAME=VALUE); repeatable. Required params must be given.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// The date the stale-review warning compares against (YYYY-MM-DD); default today.
        #[arg(long, value_name = "DATE")]
        today: Option<String>,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Format runbooks in the canonical layout (comments kept).
    Fmt {
        /// Files to format in place.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 if any file is not formatted.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
    Mermaid,
}
