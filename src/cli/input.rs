//! What a person hands the commands, read and judged: `--param` pairs, `--today`, who is
//! acting, and a runbook file loaded and checked (for `plan`, `run`, `resume`, `rollback`).

use super::outcome::CliError;
use super::report;
use crate::check::{self, Checked, Options};
use crate::load::{self, Loaded};
use crate::model::Date;
use std::path::Path;

/// The person acting: `--as`, else `DRBOOK_USER`, else the OS user.
pub fn identity(as_user: Option<&str>) -> String {
    as_user
        .map(str::to_string)
        .or_else(|| std::env::var("DRBOOK_USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|u| !u.is_empty()))
        // cron and some root shells set neither: the OS account of the process.
        .or_else(|| {
            let uid = nix::unistd::getuid();
            nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.name)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `--as NAME`, refused when it hides characters (see `journal::identity`).
pub fn check_as(as_user: Option<&str>) -> Result<(), CliError> {
    match as_user {
        Some(name) => crate::journal::identity::check_name(name)
            .map_err(|e| CliError::invalid(format!("`--as`: {e}"))),
        None => Ok(()),
    }
}

/// Today's date (UTC).
pub fn today() -> Date {
    Date::today()
}

/// `--param NAME=VALUE` values, split.
pub fn param_pairs(params: &[String]) -> Result<Vec<(String, String)>, CliError> {
    let mut pairs = Vec::new();
    for p in params {
        match p.split_once('=') {
            Some((n, v)) if !n.trim().is_empty() => {
                pairs.push((n.trim().to_string(), v.to_string()))
            }
            _ => return Err(CliError::invalid(format!("`--param {p}` must be NAME=VALUE"))),
        }
    }
    Ok(pairs)
}

/// `--params-file FILE`'s pairs (if given), then the `--param` flags, which win.
pub fn params(
    file: Option<&Path>,
    flags: &[String],
    color: bool,
) -> Result<Vec<(String, String)>, CliError> {
    let flags = param_pairs(flags)?;
    match file {
        Some(f) => Ok(super::params_file::merge(super::params_file::read(f, color)?, flags)),
        None => Ok(flags),
    }
}

/// The checker's options from `--today`, the params and `--strict`.
pub fn options(
    today: Option<&str>,
    params: Vec<(String, String)>,
    strict: bool,
    require_params: bool,
) -> Result<Options, CliError> {
    let today = match today {
        Some(t) => parse_date(t).ok_or_else(|| {
            CliError::invalid(format!("`--today {t}` is not a date; write YYYY-MM-DD"))
        })?,
        None => self::today(),
    };
    Ok(Options { today, params, require_params, strict })
}

/// `YYYY-MM-DD`, a real date; `None` otherwise.
pub fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    let date = Date { year: y, month: m, day: d };
    (it.next().is_none() && Date::from_days(date.days()) == date).then_some(date)
}

/// Reads a file with its imports (confined to `root`, default the file's directory); the
/// message says which file could not be read.
pub fn read(path: &Path, root: Option<&Path>) -> Result<Loaded, String> {
    load::load_path_in(path, root).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

/// Loads and checks one runbook for `plan` and the run commands. Warnings are printed here
/// (they do not stop anything); errors come back as the rendered report.
pub fn checked_runbook(
    path: &Path,
    root: Option<&Path>,
    opts: &Options,
    color: bool,
) -> Result<(Loaded, Checked), CliError> {
    let mut loaded = read(path, root).map_err(CliError::invalid)?;
    let checked = check::check(&mut loaded, opts);
    let rendered = if checked.diags.is_empty() {
        String::new()
    } else {
        report::human(&loaded.sources, &checked.diags, color)
    };
    if checked.errors() > 0 {
        return Err(CliError::Diagnostics(format!(
            "{rendered}failed: {} ({})",
            path.display(),
            report::counts(checked.errors(), checked.warnings())
        )));
    }
    if !rendered.is_empty() {
        use std::io::Write;
        let _ = write!(std::io::stderr(), "{rendered}");
    }
    if checked.runbook.is_none() {
        return Err(CliError::invalid(format!(
            "`{}` is a module of templates, not a runbook; `plan` and `run` take a runbook",
            path.display()
        )));
    }
    Ok((loaded, checked))
}
