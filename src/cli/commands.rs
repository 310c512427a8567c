//! The commands: each loads, checks, and renders; all printing happens here.

use super::args::{CheckFormat, Cli, Color, Command, PlanFormat};
use super::report;
use super::Outcome;
use crate::check::{self, Checked, Options};
use crate::diag::Sources;
use crate::load::{self, Loaded};
use crate::model::Date;
use crate::plan;
use crate::syntax;
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn run(cli: Cli) -> Outcome {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match cli.command {
        Command::Check { files, strict, today, format, params } => {
            let Some(opts) = options(today.as_deref(), &params, strict, false) else {
                return Outcome::Invalid;
            };
            check_files(&files, &opts, format, color)
        }
        Command::Plan { file, params, format, today, strict } => {
            let Some(opts) = options(today.as_deref(), &params, strict, true) else {
                return Outcome::Invalid;
            };
            plan_file(&file, &opts, format, color)
        }
        Command::Fmt { files, check } => fmt_files(&files, check, color),
        Command::Run { file, params, common, run_id, since, allow_concurrent, dry_run } => {
            let Some(pairs) = param_pairs(&params) else { return Outcome::Invalid };
            let user = super::runs::identity(cli.as_user.as_deref());
            super::runs::run(
                &file,
                pairs,
                &common,
                run_id,
                since.as_deref(),
                allow_concurrent,
                dry_run,
                user,
                color,
            )
        }
        Command::Resume { run_id, common, file, interrupted, allow_edited } => {
            let user = super::runs::identity(cli.as_user.as_deref());
            super::runs::resume(
                &run_id,
                &common,
                file.as_deref(),
                &interrupted,
                allow_edited,
                user,
                color,
            )
        }
        Command::Approve { run_id, step, role, comment, state_dir } => {
            let user = super::runs::identity(cli.as_user.as_deref());
            let ask = crate::journal::inbox::Ask::Approve { role, comment };
            super::approve::approve(&state_dir, &run_id, &step, ask, user)
        }
        Command::Deny { run_id, step, reason, state_dir } => {
            let user = super::runs::identity(cli.as_user.as_deref());
            let ask = crate::journal::inbox::Ask::Deny { reason };
            super::approve::approve(&state_dir, &run_id, &step, ask, user)
        }
        Command::Rollback { run_id, common, yes, file, interrupted, allow_edited } => {
            let user = super::runs::identity(cli.as_user.as_deref());
            let asked = super::undo::Asked {
                yes,
                file: file.as_deref(),
                interrupted: &interrupted,
                allow_edited,
            };
            super::undo::rollback(&run_id, &common, &asked, user, color)
        }
        Command::Status { run_id, state_dir, format } => {
            super::runs::status(&state_dir, run_id.as_deref(), format)
        }
    }
}

fn eprint(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Today's date (UTC).
pub(super) fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days((secs / 86_400) as i64)
}

/// `--param NAME=VALUE` values, split.
fn param_pairs(params: &[String]) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for p in params {
        match p.split_once('=') {
            Some((n, v)) if !n.trim().is_empty() => {
                pairs.push((n.trim().to_string(), v.to_string()))
            }
            _ => {
                eprint(&format!("error: `--param {p}` must be NAME=VALUE"));
                return None;
            }
        }
    }
    Some(pairs)
}

fn options(
    today: Option<&str>,
    params: &[String],
    strict: bool,
    require_params: bool,
) -> Option<Options> {
    let today = match today {
        Some(t) => match parse_date(t) {
            Some(d) => d,
            None => {
                eprint(&format!("error: `--today {t}` is not a date; write YYYY-MM-DD"));
                return None;
            }
        },
        None => self::today(),
    };
    let params = param_pairs(params)?;
    Some(Options { today, params, require_params, strict })
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    let date = Date { year: y, month: m, day: d };
    (it.next().is_none() && Date::from_days(date.days()) == date).then_some(date)
}

fn load(path: &Path) -> Result<Loaded, String> {
    load::load_path(path).map_err(|e| format!("error: cannot read `{}`: {e}", path.display()))
}

fn check_files(
    files: &[std::path::PathBuf],
    opts: &Options,
    format: CheckFormat,
    color: bool,
) -> Outcome {
    let mut all = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    let mut unreadable = false;
    for f in files {
        let mut loaded = match load(f) {
            Ok(l) => l,
            Err(e) => {
                eprint(&e);
                unreadable = true;
                errors += 1;
                continue;
            }
        };
        let checked = check::check(&mut loaded, opts);
        errors += checked.errors();
        warnings += checked.warnings();
        match format {
            CheckFormat::Json => {
                all.extend(checked.diags.iter().map(|d| report::to_json(&loaded.sources, d)))
            }
            CheckFormat::Human => {
                let _ = write!(
                    std::io::stderr(),
                    "{}",
                    report::human(&loaded.sources, &checked.diags, color)
                );
                let verdict = if checked.errors() > 0 { "failed" } else { "ok" };
                eprint(&format!(
                    "{verdict}: {} ({})",
                    f.display(),
                    report::counts(checked.errors(), checked.warnings())
                ));
            }
        }
        // Freed by the process's exit instead (see `plan_file`).
        std::mem::forget((checked, loaded));
    }
    if format == CheckFormat::Json {
        let doc = serde_json::json!({ "diagnostics": all, "errors": errors, "warnings": warnings });
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &doc);
        let _ = writeln!(out);
    }
    if errors > 0 || unreadable {
        Outcome::Invalid
    } else {
        Outcome::Succeeded
    }
}

/// Loads and checks one runbook for plan (and later run): diagnostics printed, `None` on error.
pub(super) fn checked_runbook(
    path: &Path,
    opts: &Options,
    color: bool,
) -> Option<(Loaded, Checked)> {
    let mut loaded = match load(path) {
        Ok(l) => l,
        Err(e) => {
            eprint(&e);
            return None;
        }
    };
    let checked = check::check(&mut loaded, opts);
    if !checked.diags.is_empty() {
        let _ =
            write!(std::io::stderr(), "{}", report::human(&loaded.sources, &checked.diags, color));
    }
    if checked.errors() > 0 {
        eprint(&format!(
            "failed: {} ({})",
            path.display(),
            report::counts(checked.errors(), checked.warnings())
        ));
        return None;
    }
    if checked.runbook.is_none() {
        eprint(&format!(
            "error: `{}` is a module of templates, not a runbook; `plan` and `run` take a runbook",
            path.display()
        ));
        return None;
    }
    Some((loaded, checked))
}

fn plan_file(path: &Path, opts: &Options, format: PlanFormat, color: bool) -> Outcome {
    let Some((loaded, checked)) = checked_runbook(path, opts, color) else {
        return Outcome::Invalid;
    };
    let (Some(rb), Some(dag)) = (&checked.runbook, &checked.dag) else { return Outcome::Invalid };
    let warnings = checked.diags.iter().map(|d| warning(&loaded.sources, d)).collect();
    let plan = plan::build(rb, dag, &checked.values, warnings);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let res = match format {
        PlanFormat::Text => plan::text::render(&plan, &mut out),
        PlanFormat::Json => plan::json::render(&plan, &mut out),
        PlanFormat::Markdown => plan::markdown::render(&plan, &mut out),
        PlanFormat::Mermaid => plan::mermaid::render(&plan, &mut out),
    };
    // The process ends right after this: handing a large runbook's many small allocations back
    // one by one would cost more than the whole plan did.
    std::mem::forget((plan, checked, loaded));
    match res.and_then(|()| out.flush()) {
        Ok(()) => Outcome::Succeeded,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Succeeded,
        Err(e) => {
            eprint(&format!("error: cannot write the plan: {e}"));
            Outcome::Failed
        }
    }
}

fn warning(sources: &Sources, d: &crate::diag::Diagnostic) -> plan::PlanWarning {
    let j = report::to_json(sources, d);
    plan::PlanWarning {
        code: j.code.to_string(),
        message: j.message,
        file: j.file,
        line: j.line,
        column: j.column,
    }
}

fn fmt_files(files: &[std::path::PathBuf], check_only: bool, color: bool) -> Outcome {
    let mut outcome = Outcome::Succeeded;
    for f in files {
        let loaded_text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprint(&format!("error: cannot read `{}`: {e}", f.display()));
                outcome = Outcome::Invalid;
                continue;
            }
        };
        let mut sources = Sources::new();
        let id = sources.add(f.display().to_string(), None, loaded_text.as_str().into());
        let (parsed, diags) = syntax::parse(&loaded_text, id);
        let parsed = match parsed {
            Some(p) if diags.is_empty() => p,
            _ => {
                let _ = write!(std::io::stderr(), "{}", report::human(&sources, &diags, color));
                eprint(&format!("failed: {} is not valid; not formatted", f.display()));
                outcome = Outcome::Invalid;
                continue;
            }
        };
        let formatted = syntax::fmt::format(&loaded_text, &parsed);
        if formatted == loaded_text {
            continue;
        }
        if check_only {
            eprint(&format!("would reformat: {}", f.display()));
            if outcome == Outcome::Succeeded {
                outcome = Outcome::Failed;
            }
        } else if let Err(e) = write_atomically(f, &formatted) {
            eprint(&format!("error: cannot write `{}`: {e}", f.display()));
            outcome = Outcome::Invalid;
        } else {
            eprint(&format!("formatted: {}", f.display()));
        }
    }
    outcome
}

/// Writes through a temporary file and a rename, so a crash never leaves half a runbook.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.drbook-fmt.tmp"));
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path)
}
