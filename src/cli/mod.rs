//! The command line: the only module that prints, prompts or picks colours, and the one place
//! where outcomes become exit codes (LANGUAGE.md §8).
//!
//! Each command is thin: [`main`] parses the arguments (clap, `args.rs`), builds the command's
//! request, calls its one entry function, and turns what comes back into the exit code. One
//! file per command:
//!
//! | file          | command                | request                           |
//! |---------------|------------------------|-----------------------------------|
//! | `check.rs`    | `check FILE...`        | `CheckRequest`                    |
//! | `plan.rs`     | `plan FILE`            | `PlanRequest`                     |
//! | `diff.rs`     | `diff OLD NEW`, `--git`| `DiffRequest`                     |
//! | `export.rs`   | `export FILE --format dr-plan` | `ExportRequest`           |
//! | `fmt.rs`      | `fmt FILE...`          | `FmtRequest`                      |
//! | `run.rs`      | `run FILE`             | `RunRequest` + `NewRun`           |
//! | `drill.rs`    | `drill FILE --type T`  | `RunRequest` + `DrillRequest`     |
//! | `resume.rs`   | `resume RUN`           | `ExistingRun`                     |
//! | `rollback.rs` | `rollback RUN`         | `RollbackRequest` (`ExistingRun`) |
//! | `approve.rs`  | `approve` and `deny`   | `ApproveRequest`                  |
//! | `status.rs`   | `status [RUN]`         | `StatusRequest`                   |
//! | `docs.rs`     | `completions`, `man`   | the shell / an output dir         |
//! | `report_cmd.rs` | `report RUN`         | `ReportRequest`                   |
//! | `verify.rs`   | `verify RUN`           | `VerifyRequest`                   |
//! | `history.rs`  | `history [RUNBOOK]`    | `HistoryRequest` (+ `history_svg.rs`) |
//! | `readiness.rs` | `readiness [FILES]`   | `ReadinessRequest` (+ `prometheus.rs`) |
//! | `watch.rs`    | `watch FILE`           | `WatchOptions` (`watch_args.rs`; + `watch_fire.rs`, `watch_log.rs`) |
//! | `watch_admin.rs` | `watch ack\|approve\|deny\|status FILE` | `WatchAdmin` (`watch_args.rs`) |
//! | `advise.rs`   | `advise --hourly-revenue N ...` | `AdviseArgs`            |
//! | `import.rs`   | `import PLAN.yaml`     | `ImportArgs`                      |
//!
//! Below the commands, files that import no command file:
//!
//! - `prepare.rs`: the one preparation path of `run`, `resume` and `rollback`: a request is
//!   loaded into a checked `Book`, connected (`Ready`: AWS, secrets, the runtime), and takes
//!   its run (`Prepared`: the store, the run's locked journal, the `Job`).
//! - `drive.rs`: drives a `Prepared` run (settling `decide.rs`'s questions first for `resume`
//!   and `rollback`), prints the report, and says what the finish means.
//! - `decide.rs`: what a person decides about interrupted steps before a runner goes on.
//! - `input.rs`: params, dates, who is acting, a runbook loaded and checked.
//!   `params_file.rs`: `--params-file FILE` and `RUNBOOK.params`.
//! - `outcome.rs`: [`Outcome`] and [`CliError`]. `term.rs`: stderr/stdout lines, whether a
//!   person can be asked. `args.rs`: clap.
//! - Rendering: `report.rs` (diagnostics), `runreport.rs` (the final report), `audit.rs`
//!   (the audit trail in `status` and the reports), `dry.rs` (what decides a dry run), `progress.rs`
//!   and `live.rs` (what a run shows as it goes), `prompt.rs` (questions at the terminal).
//!
//! Errors: a command returns `Result<Outcome, CliError>`. A run that fails, pauses or rolls
//! back is an `Outcome` the command has rendered; what stopped the command itself is a
//! `CliError`, printed once, here, and mapped to its exit code by [`exit_code`] (in `outcome.rs`). `check` and
//! `fmt` report on each file as they go (that report is their output) and return the
//! verdict.

mod achieved;
mod advise;
mod again;
mod annotate;
mod approve;
mod args;
mod audit;
mod check;
mod decide;
mod diff;
mod docs;
mod drill;
mod drill_end;
mod drillreport;
mod drive;
mod dry;
mod export;
mod fmt;
mod history;
mod history_svg;
mod import;
mod input;
mod live;
mod lsp;
mod outcome;
mod output;
mod params_file;
mod plan;
mod prepare;
mod progress;
mod prometheus;
mod prompt;
mod readiness;
mod report;
mod report_cmd;
mod resume;
mod rollback;
mod run;
mod runreport;
mod signing;
mod snippet;
mod status;
mod tabletop;
mod term;
mod trend;
mod verify;
mod watch;
mod watch_admin;
mod watch_args;
mod watch_fire;
mod watch_log;
mod watch_status;

pub use args::Cli;
pub use outcome::{exit_code, CliError, Outcome};

use args::{Color, Command};
use clap::Parser;
use std::io::IsTerminal;

/// Parses arguments, runs the command, prints what stopped it (if anything), returns the
/// process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit_code(Outcome::Invalid) } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let outcome = match dispatch(cli) {
        Ok(outcome) => outcome,
        // A checker's report is escaped field by field and may be coloured: printed as is.
        Err(CliError::Diagnostics(report)) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{report}");
            Outcome::Invalid
        }
        Err(e) => {
            term::eprint(&e.to_string());
            e.outcome()
        }
    };
    exit_code(outcome)
}

/// Builds the command's request and calls the command.
fn dispatch(cli: Cli) -> Result<Outcome, CliError> {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    input::check_as(cli.as_user.as_deref())?;
    let user = || input::identity(cli.as_user.as_deref());
    match cli.command {
        Command::Check { files, strict, today, format, params, params_file, root } => {
            let params = input::params(params_file.as_deref(), &params, color)?;
            let options = input::options(today.as_deref(), params, strict, false)?;
            check::check(&check::CheckRequest { files, options, format, color, root })
        }
        Command::Plan {
            file,
            params,
            params_file,
            format,
            today,
            strict,
            root,
            max_chars,
            diff_base,
        } => {
            let params_file = params_file.or_else(|| params_file::beside(&file));
            let params = input::params(params_file.as_deref(), &params, color)?;
            let options = input::options(today.as_deref(), params, strict, true)?;
            let max_chars = usize::try_from(max_chars).unwrap_or(usize::MAX);
            let req =
                plan::PlanRequest { file, options, format, color, root, max_chars, diff_base };
            plan::plan(&req)
        }
        Command::Export { file, format, output, params, params_file, today, root } => {
            let params_file = params_file.or_else(|| params_file::beside(&file));
            let params = input::params(params_file.as_deref(), &params, color)?;
            let options = input::options(today.as_deref(), params, false, true)?;
            export::export(&export::ExportRequest { file, options, format, color, root, output })
        }
        Command::Diff { files, git, format, exit_zero, params, today } => {
            let params = input::params(None, &params, color)?;
            let options = input::options(today.as_deref(), params, false, false)?;
            let color = match cli.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            diff::diff(&diff::DiffRequest { files, git, format, exit_zero, options, color })
        }
        Command::Fmt { files, check, diff } => {
            fmt::fmt(&fmt::FmtRequest { files, check_only: check, diff, color })
        }
        Command::Advise(args) => advise::advise(&args),
        Command::Import(args) => import::import(&args, color),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out_dir } => docs::man(out_dir.as_deref()),
        Command::Lsp => lsp::lsp(),
        Command::Run {
            file,
            params,
            params_file,
            common,
            run_id,
            since,
            allow_concurrent,
            dry_run,
        } => {
            let params = input::params(params_file.as_deref(), &params, color)?;
            let req = prepare::RunRequest { file, params, flags: &common, user: user(), color };
            let new = run::NewRun {
                run_id,
                since,
                allow_concurrent,
                dry_run,
                drill: None,
                notify: None,
                trigger: None,
            };
            run::run(req, &new)
        }
        Command::Drill {
            file,
            kind,
            only,
            notify,
            params,
            params_file,
            common,
            run_id,
            allow_concurrent,
        } => {
            let params = input::params(params_file.as_deref(), &params, color)?;
            let req = prepare::RunRequest { file, params, flags: &common, user: user(), color };
            let ask = drill::DrillRequest { kind: kind.kind(), only, notify };
            drill::drill(req, ask, run_id, allow_concurrent)
        }
        Command::Resume {
            run_id,
            common,
            file,
            interrupted,
            allow_edited,
            reopen,
            reason,
            force,
            notify,
        } => resume::resume(&prepare::ExistingRun {
            run_id: &run_id,
            flags: &common,
            file: file.as_deref(),
            interrupted: &interrupted,
            allow_edited,
            user: user(),
            color,
            reopen: &reopen,
            reason: reason.as_deref(),
            force,
            notify: notify.as_deref(),
        }),
        Command::Rollback { run_id, common, yes, file, interrupted, allow_edited } => {
            let run = prepare::ExistingRun {
                run_id: &run_id,
                flags: &common,
                file: file.as_deref(),
                interrupted: &interrupted,
                allow_edited,
                user: user(),
                color,
                reopen: &[],
                reason: None,
                force: false,
                notify: None,
            };
            rollback::rollback(&rollback::RollbackRequest { run, yes })
        }
        Command::Approve {
            run_id,
            step,
            role,
            comment,
            update,
            force,
            state_dir,
            sign,
            print_message,
            signature,
            message,
        } => {
            let ask = crate::journal::inbox::Ask::Approve { role, comment };
            let user = user();
            let signing = match (sign, print_message, signature) {
                (Some(key), _, _) => signing::Signing::Key(key),
                (_, true, _) => signing::Signing::PrintMessage,
                (_, _, Some(signature)) => signing::Signing::External { signature, message },
                _ => signing::Signing::Typed,
            };
            let r = approve::ApproveRequest {
                state_dir,
                run_id,
                step,
                ask,
                user,
                force,
                signing,
                update,
            };
            approve::approve(r)
        }
        Command::Deny { run_id, step, reason, update, state_dir } => {
            let ask = crate::journal::inbox::Ask::Deny { reason };
            let user = user();
            approve::approve(approve::ApproveRequest {
                state_dir,
                run_id,
                step,
                ask,
                user,
                force: false,
                signing: Default::default(),
                update,
            })
        }
        Command::Status { run_id, state_dir, format } => {
            status::status(&status::StatusRequest { state_dir, run_id, format })
        }
        Command::Verify { run_id, head, signers, state_dir } => {
            verify::verify(&verify::VerifyRequest { state_dir, run_id, head, signers })
        }
        Command::History { runbook, state_dir, format, since, output } => {
            history::history(&history::HistoryRequest { state_dir, runbook, format, since, output })
        }
        Command::Readiness { paths, state_dir, today, format, output } => {
            readiness::readiness(&readiness::ReadinessRequest {
                paths,
                state_dir,
                today,
                format,
                output,
                color,
            })
        }
        Command::Watch(w) => match w.admin {
            Some(admin) => watch_admin::admin(admin, &user(), color),
            None => {
                let file =
                    w.file.ok_or_else(|| CliError::invalid("drbook watch: no runbook given"))?;
                let params = input::params(w.params_file.as_deref(), &w.params, color)?;
                watch::watch(watch_args::WatchOptions {
                    file,
                    state_dir: w.state_dir,
                    once: w.once,
                    dry_run: w.dry_run,
                    params,
                    log_format: w.log_format,
                    user: user(),
                    color,
                })
            }
        },
        Command::Report { run_id, format, output, file, state_dir } => {
            report_cmd::report(&report_cmd::ReportRequest {
                state_dir,
                run_id,
                format,
                output,
                file,
            })
        }
    }
}
