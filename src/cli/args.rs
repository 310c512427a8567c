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
    /// Who is acting (journaled with decisions); default $DRBOOK_USER, then the OS user.
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub as_user: Option<String>,
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
        /// Read params from FILE: one `NAME=VALUE` per line, `#` comment lines; `--param` wins.
        #[arg(long, value_name = "FILE")]
        params_file: Option<PathBuf>,
        /// The project root: imports must stay inside it (default: the runbook's directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
    /// Preview a runbook: steps, waves, critical path and RTO budget verdict.
    Plan {
        /// The runbook.
        file: PathBuf,
        /// Set a param (NAME=VALUE); repeatable. Required params must be given.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Read params from FILE: one `NAME=VALUE` per line, `#` comment lines; `--param` wins.
        /// Default: RUNBOOK.params beside the runbook, when it exists.
        #[arg(long, value_name = "FILE")]
        params_file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// The date the stale-review warning compares against (YYYY-MM-DD); default today.
        #[arg(long, value_name = "DATE")]
        today: Option<String>,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// The project root: imports must stay inside it (default: the runbook's directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Markdown only: the most characters to write (a GitHub comment holds 65,536).
        #[arg(long, value_name = "N", default_value_t = 65_536,
              value_parser = clap::value_parser!(u64).range(1_000..))]
        max_chars: u64,
        /// Markdown only: put the semantic diff against the runbook at git revision REV
        /// (`drbook diff --git REV FILE`) right after the summary.
        #[arg(long, value_name = "REV")]
        diff_base: Option<String>,
    },
    /// Export a runbook as the DR planning guide's DR plan document (YAML).
    Export {
        /// The runbook.
        file: PathBuf,
        /// The document to write.
        #[arg(long, value_enum, default_value_t = ExportFormat::DrPlan)]
        format: ExportFormat,
        /// Write to FILE atomically (temporary file + rename beside it) instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Set a param (NAME=VALUE); repeatable. Required params must be given.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Read params from FILE; `--param` wins. Default: RUNBOOK.params beside the runbook.
        #[arg(long, value_name = "FILE")]
        params_file: Option<PathBuf>,
        /// The date the stale-review warning compares against (YYYY-MM-DD); default today.
        #[arg(long, value_name = "DATE")]
        today: Option<String>,
        /// The project root: imports must stay inside it (default: the runbook's directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
    /// Run a runbook: steps in dependency order, journaled durably, timed against the RTO.
    Run {
        /// The runbook.
        file: PathBuf,
        /// Set a param (NAME=VALUE); repeatable.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Read params from FILE: one `NAME=VALUE` per line, `#` comment lines; `--param` wins.
        #[arg(long, value_name = "FILE")]
        params_file: Option<PathBuf>,
        #[command(flatten)]
        common: RunFlags,
        /// Name the run (for schedulers); refused while a run with this id exists.
        #[arg(long, value_name = "ID")]
        run_id: Option<String>,
        /// When the incident was declared (RFC 3339): the RTO clock starts there.
        #[arg(long, value_name = "TIMESTAMP")]
        since: Option<String>,
        /// Start even if an unfinished run of this runbook exists in the state dir.
        #[arg(long)]
        allow_concurrent: bool,
        /// Simulate: no actions, no state written, time fast-forwarded by `duration`s.
        #[arg(long)]
        dry_run: bool,
    },
    /// Practise a runbook: a run recorded as a drill of one type (tabletop walks it and runs
    /// nothing; component runs only `safe` steps; partial runs `--only` steps and their
    /// ancestors; full runs everything), ending in a drill result.
    Drill {
        /// The runbook.
        file: PathBuf,
        /// The drill type.
        #[arg(long = "type", value_enum, value_name = "TYPE")]
        kind: DrillType,
        /// A partial drill's targets: these steps and all their ancestors run.
        #[arg(long, value_name = "STEP,...", value_delimiter = ',')]
        only: Vec<String>,
        /// Post a Slack-compatible summary of the drill result to this webhook URL (default:
        /// the runbook's `notify_drills`).
        #[arg(long, value_name = "URL")]
        notify: Option<String>,
        /// Set a param (NAME=VALUE); repeatable.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Read params from FILE: one `NAME=VALUE` per line, `#` comment lines; `--param` wins.
        #[arg(long, value_name = "FILE")]
        params_file: Option<PathBuf>,
        #[command(flatten)]
        common: RunFlags,
        /// Name the drill's run (for schedulers); refused while a run with this id exists.
        #[arg(long, value_name = "ID")]
        run_id: Option<String>,
        /// Start even if an unfinished run of this runbook exists in the state dir (tabletop
        /// and component drills never need it: they change nothing).
        #[arg(long)]
        allow_concurrent: bool,
    },
    /// Continue an interrupted, paused or failed run without repeating finished steps.
    Resume {
        /// The run's id (`drbook status` lists them).
        run_id: String,
        #[command(flatten)]
        common: RunFlags,
        /// The runbook file, when it moved since the run started.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Decide a step that was running when the runner died: STEP=retry|done|fail.
        #[arg(long = "interrupted", value_name = "STEP=DECISION")]
        interrupted: Vec<String>,
        /// Accept changes to the runbook in steps that have not started.
        #[arg(long)]
        allow_edited: bool,
        /// Re-open STEP's denied approval gate: it asks for its approvals afresh; repeatable.
        /// A denied gate stays denied otherwise.
        #[arg(long = "reopen", value_name = "STEP")]
        reopen: Vec<String>,
        /// Why (journaled with each `--interrupted` decision and `--reopen`).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Let `retry` stand when a step's `verify` probe says its effect is in place, and
        /// `done` when it says it is not (journaled as forced).
        #[arg(long)]
        force: bool,
        /// A drill: post the summary of its result to this webhook URL when it ends (default:
        /// the runbook's `notify_drills`). Never journaled.
        #[arg(long, value_name = "URL")]
        notify: Option<String>,
    },
    /// Approve a gated step of a run, from any shell (`--as NAME` says who you are).
    Approve {
        /// The run's id (`drbook status` lists them).
        run_id: String,
        /// The gated step.
        step: String,
        /// The role you approve as; default: the first missing role you may hold.
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
        /// A note kept with the approval.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        /// A tabletop drill's answer: a runbook update is needed (kept with "ready").
        #[arg(long, value_name = "TEXT")]
        update: Option<String>,
        /// Mark an interrupted step done although its `verify` probe says its effect is not in
        /// place (journaled as forced).
        #[arg(long)]
        force: bool,
        /// Where runs are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
        /// Sign the approval with this OpenSSH private key (no passphrase); you approve as the
        /// principal the runbook's signers file gives the key.
        #[arg(long, value_name = "KEY", conflicts_with_all = ["print_message", "signature"])]
        sign: Option<PathBuf>,
        /// Print the approval message to sign elsewhere (`ssh-keygen -Y sign -n drbook`) and
        /// record nothing.
        #[arg(long, conflicts_with = "signature")]
        print_message: bool,
        /// Submit a signature made elsewhere (`ssh-keygen -Y sign -n drbook -f KEY FILE`
        /// writes FILE.sig); the message is FILE unless `--message` says otherwise.
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
        /// The signed approval message, with `--signature`.
        #[arg(long, value_name = "FILE", requires = "signature")]
        message: Option<PathBuf>,
    },
    /// Deny a gated step of a run: the step fails and its failure policy applies.
    Deny {
        /// The run's id.
        run_id: String,
        /// The gated step.
        step: String,
        /// Why (kept in the journal and the report). In a tabletop drill: the issue found.
        #[arg(long, value_name = "TEXT", required = true)]
        reason: String,
        /// A tabletop drill's answer: a runbook update is needed (kept with the issue).
        #[arg(long, value_name = "TEXT")]
        update: Option<String>,
        /// Where runs are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// Undo a run: each step that succeeded has its rollback run, in reverse dependency order.
    Rollback {
        /// The run's id (`drbook status` lists them).
        run_id: String,
        #[command(flatten)]
        common: RunFlags,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// The runbook file, when it moved since the run started.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Decide a step that was running when the runner died: STEP=done|fail.
        #[arg(long = "interrupted", value_name = "STEP=DECISION")]
        interrupted: Vec<String>,
        /// Accept changes to the runbook in steps that have not started.
        #[arg(long)]
        allow_edited: bool,
    },
    /// Watch a runbook's `trigger`: probe every interval and fail over by itself (or, with a
    /// subcommand, acknowledge, approve, deny or show the watcher's state).
    Watch(super::watch_args::WatchArgs),
    /// Show runs in the state dir, or one run's steps.
    Status {
        /// A run id; without it, every run is listed.
        run_id: Option<String>,
        /// Where runs are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
        format: StatusFormat,
    },
    /// Check a run's journal offline, read-only: every record where its hash chain puts
    /// it, and the chain's head matching the run's anchor (or --head). Exit 0 only then,
    /// 1 naming what is wrong.
    Verify {
        /// The run's id (`drbook status` lists them).
        run_id: String,
        /// The head the journal must end in (`sha256:…`, as reports print it).
        #[arg(long, value_name = "sha256:HEX")]
        head: Option<String>,
        /// An allowed_signers file: the run's head must be signed (`run --sign`) by one of
        /// its keys.
        #[arg(long, value_name = "FILE")]
        signers: Option<PathBuf>,
        /// Where runs are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// Print the report of a run, finished or not, at any time; read-only (takes no lock,
    /// writes nothing to the run).
    Report {
        /// The run's id (`drbook status` lists them).
        run_id: String,
        /// Output format; default: from `--output`'s extension (`.json`, `.md`), else text.
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Option<ReportFormat>,
        /// Write the report to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The runbook file (for each step's expected duration), when it moved since the run.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Where runs are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// Every run and drill in the state dir, newest first: what each achieved against the RTO
    /// and RPO, the issues it found, whether the runbook changed since; and the trend of the
    /// achieved RTO. Read-only.
    History {
        /// Only this runbook's runs: its name, or its file (runs started from that path).
        #[arg(value_name = "RUNBOOK|FILE")]
        runbook: Option<String>,
        /// Where runs are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
        /// Output format (`svg`: the achieved-RTO trend chart).
        #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
        format: HistoryFormat,
        /// Only runs started on or after DATE (YYYY-MM-DD, or an RFC 3339 timestamp).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Whether each runbook's practice is current: the last drill of each type and its result,
    /// overdue drills, a stale review, changes since the last drill, the estimated and last
    /// achieved RTO/RPO. Exit 0 when all is current, 1 otherwise. Read-only.
    Readiness {
        /// Runbook files, or directories (every runbook `*.drbook` in them); default `.`.
        #[arg(value_name = "FILE|DIR", default_value = ".")]
        paths: Vec<PathBuf>,
        /// Where runs are kept.
        #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
        state_dir: PathBuf,
        /// Judge as at this date's midnight, UTC (YYYY-MM-DD); default now.
        #[arg(long, value_name = "DATE")]
        today: Option<String>,
        /// Output format (`prometheus`: the text exposition format).
        #[arg(long, value_enum, default_value_t = ReadinessFormat::Text)]
        format: ReadinessFormat,
        /// Write to FILE atomically (temporary file + rename beside it) instead of standard
        /// output: for node_exporter's textfile collector.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Compare two versions of a runbook: steps added, removed and changed (matched by id),
    /// header changes, risk labels, the RTO and critical path before and after. Exit 0: no
    /// difference; 1: differences; 2: invalid input.
    Diff {
        /// The old and the new runbook; with `--git REV`, the files to compare (default: every
        /// `*.drbook` changed since REV).
        files: Vec<PathBuf>,
        /// Compare each file at revision REV with the working tree (imports at REV too).
        #[arg(long, value_name = "REV")]
        git: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// Exit 0 even when the versions differ (for CI steps that only report).
        #[arg(long)]
        exit_zero: bool,
        /// Set a param (NAME=VALUE) on both sides; repeatable.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// The date the stale-review warning compares against (YYYY-MM-DD); default today.
        #[arg(long, value_name = "DATE")]
        today: Option<String>,
    },
    /// Format runbooks in the canonical layout (comments kept).
    Fmt {
        /// Files to format in place; `-` reads standard input and writes the result to
        /// standard output.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 if any file is not formatted.
        #[arg(long)]
        check: bool,
        /// Do not write; print a unified diff of what would change, exit 1 if anything would.
        #[arg(long)]
        diff: bool,
    },
    /// Recommend an RTO, RPO, standby strategy and cost tier from the business impact of an
    /// outage (the DR planning guide's calculator), with the lines to put in a runbook.
    Advise(super::advise::AdviseArgs),
    /// Turn a DR plan document (the DR planning guide's YAML template) into a runbook, checked
    /// and formatted; the failback procedure becomes a second runbook.
    Import(super::import::ImportArgs),
    /// Serve the Language Server Protocol on standard input and output, for editors:
    /// diagnostics as `check` gives them, hover, go to definition, references, completion,
    /// quick fixes, outline, formatting and plan hints (README, "Editor support").
    Lsp,
    /// Print a shell completion script: `drbook completions bash > ~/.local/share/bash-completion/completions/drbook`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (`drbook man | man -l -`), or write one page per command into DIR.
    Man {
        /// Write `drbook.1` and `drbook-COMMAND.1` into this directory instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// Flags shared by `run`, `resume` and `rollback`.
#[derive(clap::Args, Debug)]
pub struct RunFlags {
    /// Where runs are kept.
    #[arg(long, env = "DRBOOK_STATE_DIR", default_value = ".drbook", value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Most steps at once (overrides the runbook's `parallel`).
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,
    /// Never prompt: pause (exit 3) where a person is needed.
    #[arg(long)]
    pub non_interactive: bool,
    /// Exit 6 when the run succeeded but missed the runbook's `rto`.
    #[arg(long)]
    pub strict_rto: bool,
    /// Exit 6 when the run succeeded but missed the runbook's `rpo` (its largest `measure rpo`).
    #[arg(long)]
    pub strict_rpo: bool,
    /// Exit 1 when the run succeeded but a step failed under `on_failure continue`.
    #[arg(long)]
    pub fail_on_continue: bool,
    /// Write the final report to FILE (`.json` or `.md`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Progress as plain lines, or one JSON event per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Approve STEP's gate as the invoking person (`--as`); repeatable.
    #[arg(long = "approve", value_name = "STEP")]
    pub approve: Vec<String>,
    /// AWS profile for `ssm` actions and secrets (default: the SDK's chain, AWS_PROFILE).
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// AWS region for `ssm` actions and secrets (default: AWS_REGION, then the profile).
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,
    /// Without a terminal, keep waiting at approval gates (for `drbook approve` from another
    /// shell, or the gate's timeout) instead of pausing with exit 3.
    #[arg(long)]
    pub wait: bool,
    /// The project root: imports must stay inside it (default: the runbook's directory).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// When the runner stops, sign the journal's head with this SSH key (ed25519, no
    /// passphrase) into the run's `head.sig`; `drbook verify --signers FILE` checks it.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
}

/// `drill --type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DrillType {
    Tabletop,
    Component,
    Partial,
    Full,
}

impl DrillType {
    pub fn kind(self) -> crate::model::DrillKind {
        use crate::model::DrillKind;
        match self {
            DrillType::Tabletop => DrillKind::Tabletop,
            DrillType::Component => DrillKind::Component,
            DrillType::Partial => DrillKind::Partial,
            DrillType::Full => DrillKind::Full,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
    /// GitHub Actions workflow commands (`::error file=…::message`), one line per diagnostic.
    Github,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
    Mermaid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The guide's `disaster-recovery-plan.yaml` template, filled in.
    DrPlan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
    Markdown,
    Svg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReadinessFormat {
    Text,
    Json,
    Prometheus,
}
