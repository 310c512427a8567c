//! `drbook diff OLD NEW` and `drbook diff --git REV [FILE...]`: both versions loaded and
//! checked, then their semantic diff (`plan::diff`) on standard output. Exit 0: no
//! difference; 1: differences (unless `--exit-zero`); 2: either side is invalid.
//!
//! `--git REV` materializes REV's tree (`git archive REV | tar -x`) in a temporary directory
//! and loads each file from there, so imports resolve at the same revision.

use super::args::DiffFormat;
use super::outcome::{CliError, Outcome};
use super::report;
use crate::check::{self, Checked, Options};
use crate::diag::escape::Escaped;
use crate::load::Loaded;
use crate::plan::diff::{self, Diff, Side};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What `drbook diff` is asked.
pub struct DiffRequest {
    pub files: Vec<PathBuf>,
    pub git: Option<String>,
    pub format: DiffFormat,
    pub exit_zero: bool,
    pub options: Options,
    /// Colour the text output (standard output is a terminal, or `--color always`).
    pub color: bool,
}

/// A pair to compare: the name shown, the old file and the new file (`None`: absent).
type Pair = (String, Option<PathBuf>, Option<PathBuf>);

pub fn diff(req: &DiffRequest) -> Result<Outcome, CliError> {
    let diffs = compare(req)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    render(req, &diffs, &mut out)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("cannot write the diff: {e}")))?;
    let differ = diffs.iter().any(|(_, d)| !d.is_empty());
    Ok(if differ && !req.exit_zero { Outcome::Failed } else { Outcome::Succeeded })
}

/// Each pair the request names, loaded, checked and compared.
fn compare(req: &DiffRequest) -> Result<Vec<(String, Diff)>, CliError> {
    let mut tree = None;
    let pairs: Vec<Pair> = match &req.git {
        Some(rev) => {
            let t = Tree::at(rev)?;
            let pairs = git_pairs(rev, &req.files, &t)?;
            tree = Some(t);
            pairs
        }
        None => match req.files.as_slice() {
            [old, new] => vec![(new.display().to_string(), Some(old.clone()), Some(new.clone()))],
            _ => {
                return Err(CliError::invalid(
                    "`diff` takes two files, OLD and NEW (or `--git REV`)",
                ))
            }
        },
    };
    // Files found by `git diff` (not named) that are modules of templates are skipped: their
    // changes show in the runbooks that import them.
    let listed = req.git.is_some() && req.files.is_empty();
    let mut diffs = Vec::new();
    for (name, old, new) in &pairs {
        let load = |p: &Option<PathBuf>| -> Result<Option<Option<Book>>, CliError> {
            let Some(p) = p else { return Ok(None) };
            let book = load_checked(p, &req.options).map_err(|e| at_rev(e, tree.as_ref()))?;
            match book {
                Some(b) => Ok(Some(Some(b))),
                None if listed => Ok(Some(None)),
                None => Err(CliError::invalid(format!(
                    "`{name}` is a module of templates, not a runbook; `diff` takes runbooks"
                ))),
            }
        };
        let (o, n) = (load(old)?, load(new)?);
        if matches!(o, Some(None)) || matches!(n, Some(None)) {
            continue;
        }
        let (o, n) = (o.flatten(), n.flatten());
        diffs.push((name.clone(), diff::diff(o.as_ref().map(side), n.as_ref().map(side))));
    }
    drop(tree);
    Ok(diffs)
}

/// The markdown diff of `file` at git revision `rev` against the working tree, and how many
/// risk labels it has, for `plan --format markdown --diff-base REV`.
pub fn markdown_at(rev: &str, file: &Path, options: &Options) -> Result<(String, usize), CliError> {
    let req = DiffRequest {
        files: vec![file.to_path_buf()],
        git: Some(rev.to_string()),
        format: DiffFormat::Markdown,
        exit_zero: true,
        options: options.clone(),
        color: false,
    };
    let diffs = compare(&req)?;
    let mut out = Vec::new();
    render(&req, &diffs, &mut out)
        .map_err(|e| CliError::Failed(format!("cannot render the diff: {e}")))?;
    let risks = diffs.iter().map(|(_, d)| d.risks.len()).sum();
    Ok((String::from_utf8_lossy(&out).into_owned(), risks))
}

fn render(req: &DiffRequest, diffs: &[(String, Diff)], out: &mut dyn Write) -> std::io::Result<()> {
    match req.format {
        DiffFormat::Json => {
            if req.git.is_none() {
                // Field order as declared (README's schema), not sorted.
                serde_json::to_writer_pretty(&mut *out, &diffs[0].1)?;
                return writeln!(out);
            }
            let doc = {
                let files: Vec<serde_json::Value> = diffs
                    .iter()
                    .map(|(name, d)| {
                        let mut v = serde_json::to_value(d).expect("a diff serializes");
                        v["file"] = serde_json::Value::String(name.clone());
                        v
                    })
                    .collect();
                serde_json::json!({ "files": files })
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        // The renderer escapes control characters itself: its colours must pass.
        DiffFormat::Text => {
            for (name, d) in diffs {
                diff::render::text(d, name, req.color, out)?;
            }
            Ok(())
        }
        DiffFormat::Markdown => {
            let mut out = Escaped::new(out);
            for (name, d) in diffs {
                diff::render::markdown(d, name, &mut out)?;
            }
            out.flush()
        }
    }
}

fn side(lc: &Book) -> Side<'_> {
    let (loaded, checked) = lc;
    let rb = checked.runbook.as_ref().expect("load_checked keeps runbooks only");
    let dag = checked.dag.as_ref().expect("load_checked keeps runbooks with a graph only");
    let warnings = checked.diags.iter().map(|d| report::plan_warning(&loaded.sources, d)).collect();
    Side { rb, dag, values: &checked.values, warnings }
}

/// A runbook loaded and checked.
type Book = (Loaded, Checked);

/// Loads and checks one side (`None`: a module of templates); its errors come back as `check`
/// prints them.
fn load_checked(path: &Path, opts: &Options) -> Result<Option<Book>, CliError> {
    let mut loaded = super::input::read(path, None).map_err(CliError::invalid)?;
    let checked = check::check(&mut loaded, opts);
    if checked.errors() > 0 {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        return Err(CliError::Diagnostics(format!(
            "{}failed: {} ({})",
            report::human(&loaded.sources, &checked.diags, color),
            path.display(),
            report::counts(checked.errors(), checked.warnings())
        )));
    }
    Ok((checked.runbook.is_some() && checked.dag.is_some()).then_some((loaded, checked)))
}

/// An error about a file of REV's tree names it `REV:path`, not the temporary directory.
fn at_rev(e: CliError, tree: Option<&Tree>) -> CliError {
    let Some(t) = tree else { return e };
    let dir = format!("{}/", t.dir.display());
    let rev = format!("{}:", t.rev);
    match e {
        CliError::Diagnostics(r) => CliError::Diagnostics(r.replace(&dir, &rev)),
        CliError::Invalid { errors, then } => CliError::Invalid {
            errors: errors.into_iter().map(|m| m.replace(&dir, &rev)).collect(),
            then,
        },
        other => other,
    }
}

/// REV's tree, extracted into a temporary directory removed on drop.
struct Tree {
    dir: PathBuf,
    rev: String,
    /// The working directory relative to the repository's root (`git rev-parse --show-prefix`).
    prefix: String,
}

impl Tree {
    fn at(rev: &str) -> Result<Tree, CliError> {
        let prefix = git(&["rev-parse", "--show-prefix"])?.trim().to_string();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("drbook-diff-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| CliError::Failed(format!("cannot create `{}`: {e}", dir.display())))?;
        let tree = Tree { dir, rev: rev.to_string(), prefix };
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let mut archive = Command::new("git")
            .args(["archive", "--format=tar", rev])
            .current_dir(top.trim())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CliError::Failed(format!("cannot run `git archive`: {e}")))?;
        let tar = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&tree.dir)
            .stdin(archive.stdout.take().expect("piped stdout"))
            .status()
            .map_err(|e| CliError::Failed(format!("cannot run `tar`: {e}")))?;
        let archived = archive
            .wait_with_output()
            .map_err(|e| CliError::Failed(format!("cannot run `git archive`: {e}")))?;
        if !archived.status.success() {
            let err = String::from_utf8_lossy(&archived.stderr).trim().to_string();
            return Err(CliError::invalid(format!("cannot read revision `{rev}`: {err}")));
        }
        if !tar.success() {
            return Err(CliError::Failed(format!("cannot extract revision `{rev}`")));
        }
        Ok(tree)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Each file at REV (in `tree`) against the working tree; no files: every `*.drbook` changed
/// since REV.
fn git_pairs(rev: &str, files: &[PathBuf], tree: &Tree) -> Result<Vec<Pair>, CliError> {
    let files: Vec<PathBuf> = if files.is_empty() {
        let names =
            git(&["diff", "--name-only", "--no-renames", "--relative", rev, "--", "*.drbook"])?;
        names.lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect()
    } else {
        files.to_vec()
    };
    let mut pairs = Vec::new();
    for f in files {
        let old = tree.dir.join(&tree.prefix).join(&f);
        let (old, new) = (old.is_file().then_some(old), f.is_file().then(|| f.clone()));
        if old.is_none() && new.is_none() {
            return Err(CliError::invalid(format!(
                "`{}` exists neither at `{rev}` nor in the working tree",
                f.display()
            )));
        }
        pairs.push((f.display().to_string(), old, new));
    }
    Ok(pairs)
}

/// Runs `git ARGS` in the working directory; its standard output.
fn git(args: &[&str]) -> Result<String, CliError> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| CliError::Failed(format!("cannot run `git`: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(CliError::invalid(format!("`git {}` failed: {err}", args.join(" "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
