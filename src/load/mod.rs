//! Load: a root file in, every file it imports parsed, templates spliced into steps.
//!
//! `import "std/NAME"` resolves to the bundled [`stdlib`]; `import "./x.drbook" [as a]` to a
//! file relative to the importing one, which must stay inside the project root (the root
//! runbook's directory, or `--root DIR`): an import that leaves it, by `..`, an absolute path
//! or a symlink, is an error and the target is never read. Import cycles are reported with the whole cycle. The
//! product, [`Loaded`], holds the root runbook with every `use` replaced by the template's
//! items (arguments substituted), and every diagnostic found on the way.

mod splice;
pub mod stdlib;

use crate::diag::{did_you_mean, Diagnostic, FileId, SourceText, Sources, Span};
use crate::syntax::{self, ast};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A root file with its imports loaded and templates spliced.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Sources,
    pub root: FileId,
    /// The root file's runbook with templates spliced, if it has one.
    pub runbook: Option<ast::Runbook>,
    /// Templates of the root file (a module), with the file's aliases, for checking.
    pub templates: Vec<ast::Template>,
    pub diags: Vec<Diagnostic>,
    /// Whether the root file parsed at all (structure intact).
    pub parsed: bool,
    /// The syntax trees of the imported modules, as written (for editor support: template
    /// definitions and their parameters).
    pub modules: Vec<(FileId, ast::File)>,
}

/// A parsed file and what its imports resolved to.
struct Module {
    file: Option<ast::File>,
    aliases: HashMap<String, FileId>,
    /// Aliases of imports that failed (already reported): their `use`s are not reported again.
    failed: Vec<String>,
}

struct Loader {
    sources: Sources,
    modules: HashMap<FileId, Module>,
    diags: Vec<Diagnostic>,
    /// Files being loaded, innermost last: an import of one of these is a cycle.
    stack: Vec<FileId>,
    /// The project root (canonical): relative imports must resolve inside it.
    root: PathBuf,
    /// The root file's parse, when the caller parsed it already.
    preparsed: Option<(Option<syntax::Parsed>, Vec<Diagnostic>)>,
}

/// Loads `text` as the file `name` (a path on disk, or anything for stdin).
/// The project root is the file's directory (the working directory for text with no path).
pub fn load_text(name: &str, path: Option<PathBuf>, text: SourceText) -> Loaded {
    let root = match path.as_ref().and_then(|p| p.parent()) {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().unwrap_or_default(),
    };
    load_text_in(name, path, text, root)
}

/// Loads `text` with imports confined to `root` (a canonical directory).
pub fn load_text_in(name: &str, path: Option<PathBuf>, text: SourceText, root: PathBuf) -> Loaded {
    load(name, path, text, root, None)
}

/// [`load_text_in`] for a root file the caller has parsed already, as `syntax::parse(text,
/// FileId(0))` (the root is always the first file), so it is not parsed twice.
pub fn load_parsed_in(
    name: &str,
    path: Option<PathBuf>,
    text: SourceText,
    root: PathBuf,
    parse: (Option<syntax::Parsed>, Vec<Diagnostic>),
) -> Loaded {
    load(name, path, text, root, Some(parse))
}

fn load(
    name: &str,
    path: Option<PathBuf>,
    text: SourceText,
    root: PathBuf,
    preparsed: Option<(Option<syntax::Parsed>, Vec<Diagnostic>)>,
) -> Loaded {
    let mut l = Loader {
        sources: Sources::new(),
        modules: HashMap::new(),
        diags: Vec::new(),
        stack: Vec::new(),
        root,
        preparsed,
    };
    let root = l.sources.add(name.to_string(), path, text);
    l.load_file(root);
    let parsed = l.modules.get(&root).is_some_and(|m| m.file.is_some());
    let (runbook, templates) = l.root_items(root);
    let mut modules: Vec<(FileId, ast::File)> =
        l.modules.into_iter().filter_map(|(id, m)| Some((id, m.file?))).collect();
    modules.sort_by_key(|(id, _)| id.0);
    Loaded { sources: l.sources, root, runbook, templates, diags: l.diags, parsed, modules }
}

/// Reads and loads a file from disk; its directory is the project root.
pub fn load_path(path: &Path) -> std::io::Result<Loaded> {
    load_path_in(path, None)
}

/// Reads and loads a file from disk with imports confined to `root` (default: the file's
/// directory). A `root` that does not hold the file is refused.
pub fn load_path_in(path: &Path, root: Option<&Path>) -> std::io::Result<Loaded> {
    let bytes = std::fs::read(path)?;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = match root {
        None => dir,
        Some(r) => {
            let r = std::fs::canonicalize(r).map_err(|e| {
                std::io::Error::new(e.kind(), format!("`--root {}`: {e}", r.display()))
            })?;
            if !abs.starts_with(&r) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("`--root {}` does not contain the runbook", r.display()),
                ));
            }
            r
        }
    };
    let name = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => Ok(load_text_in(&name, Some(abs), text.into(), root)),
        Err(e) => Ok(not_utf8(name, abs, e)),
    }
}

/// A file that is not UTF-8: one diagnostic at its first bad byte, nothing parsed. The text is
/// kept (bad bytes replaced) so the diagnostic can show the line.
fn not_utf8(name: String, abs: PathBuf, e: std::string::FromUtf8Error) -> Loaded {
    let at = e.utf8_error().valid_up_to();
    let bytes = e.into_bytes();
    let byte = bytes.get(at).copied().unwrap_or_default();
    let before = String::from_utf8_lossy(&bytes[..at]);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut sources = Sources::new();
    let root = sources.add(name, Some(abs), text.into());
    // The replacement character is 3 bytes long in the kept text.
    let span = Span::new(root, at, at + 3);
    let diag = Diagnostic::error(
        "drbook::syntax::not_utf8",
        span,
        format!(
            "not UTF-8 text: byte 0x{byte:02x} at byte offset {at} (line {line}, column {column})"
        ),
    )
    .label("not UTF-8")
    .help("runbooks are UTF-8 text; re-encode the file (e.g. `iconv -t UTF-8`)");
    Loaded { sources, root, diags: vec![diag], ..Loaded::default() }
}

/// The alias an import would have: `as NAME`, else the module name or file stem.
fn alias_of(imp: &ast::Import) -> Option<String> {
    if let Some(a) = &imp.alias {
        return Some(a.name.to_string());
    }
    let ast::ValueKind::Str(s) = &imp.path.kind else { return None };
    let target = s.as_literal()?;
    match target.strip_prefix("std/") {
        Some(name) => Some(name.to_string()),
        None => Path::new(&target).file_stem().map(|s| s.to_string_lossy().into_owned()),
    }
}

/// How an imported file is named in messages: relative to the importing file's name, so that
/// `runbooks/x.drbook` importing `./common.drbook` shows `runbooks/common.drbook`.
fn display_name(importer: &str, target: &str) -> String {
    let mut out = PathBuf::new();
    if !importer.starts_with("std/") {
        if let Some(dir) = Path::new(importer).parent() {
            out.push(dir);
        }
    }
    for c in Path::new(target).components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some_and(|n| n != "..") => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.display().to_string()
}

/// `path` with `.` and `..` resolved by its words alone (no file system access).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl Loader {
    fn load_file(&mut self, id: FileId) {
        let text = self.sources.get(id).text.clone();
        let (parsed, diags) = match self.preparsed.take() {
            Some(done) if id.0 == 0 => done,
            _ => syntax::parse(&text, id),
        };
        self.diags.extend(diags);
        self.stack.push(id);
        let mut aliases = HashMap::new();
        let mut failed = Vec::new();
        if let Some(p) = &parsed {
            for item in &p.file.items {
                if let ast::Item::Import(imp) = item {
                    let result = self.import(id, imp);
                    if result.is_none() {
                        failed.extend(alias_of(imp));
                    }
                    if let Some((alias, target)) = result {
                        if aliases.insert(alias.clone(), target).is_some() {
                            self.diags.push(
                                Diagnostic::error(
                                    "drbook::load::duplicate_alias",
                                    imp.span,
                                    format!("two imports are named `{alias}`"),
                                )
                                .label("second import with this alias")
                                .help("give one of them another name with `as`"),
                            );
                        }
                    }
                }
            }
        }
        self.stack.pop();
        self.modules.insert(id, Module { file: parsed.map(|p| p.file), aliases, failed });
    }

    /// Resolves and loads one import; returns its alias and file.
    fn import(&mut self, from: FileId, imp: &ast::Import) -> Option<(String, FileId)> {
        let span = imp.path.span;
        let ast::ValueKind::Str(s) = &imp.path.kind else {
            self.diags.push(
                Diagnostic::error(
                    "drbook::load::bad_import",
                    span,
                    "an import path must be a string",
                )
                .label("expected a string")
                .help("write `import \"std/http\"` or `import \"./common.drbook\"`"),
            );
            return None;
        };
        let Some(target) = s.as_literal() else {
            self.diags.push(
                Diagnostic::error(
                    "drbook::load::bad_import",
                    span,
                    "an import path cannot use `${...}`",
                )
                .label("interpolation is not allowed here")
                .help("write the path literally"),
            );
            return None;
        };
        let (id, stem) = if let Some(name) = target.strip_prefix("std/") {
            let Some(text) = stdlib::get(name) else {
                let help = did_you_mean(name, stdlib::names()).map_or_else(
                    || {
                        format!(
                            "bundled modules: {}",
                            stdlib::names()
                                .map(|n| format!("std/{n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    |s| format!("did you mean `std/{s}`?"),
                );
                self.diags.push(
                    Diagnostic::error(
                        "drbook::load::import_not_found",
                        span,
                        format!("no bundled module `{target}`"),
                    )
                    .label("not in the standard library")
                    .help(help),
                );
                return None;
            };
            let id = match self.sources.find_name(&target) {
                Some(id) => id,
                None => self.sources.add(target.clone(), None, text.into()),
            };
            (id, name.to_string())
        } else {
            let base = self
                .sources
                .get(from)
                .path
                .as_ref()
                .and_then(|p| p.parent().map(Path::to_path_buf));
            let path = base.unwrap_or_else(|| self.root.clone()).join(&target);
            let stem =
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            // Checked before anything is read: by the words of the path, then (symlinks) by
            // where it really is.
            if !normalize(&path).starts_with(&self.root) {
                return self.outside_root(span, &target);
            }
            let abs = std::fs::canonicalize(&path).ok();
            if abs.as_ref().is_some_and(|a| !a.starts_with(&self.root)) {
                return self.outside_root(span, &target);
            }
            let found = abs.as_ref().and_then(|a| self.sources.find(a));
            let id = match (found, abs) {
                (Some(id), _) => id,
                (None, Some(abs)) => match std::fs::read_to_string(&abs) {
                    Ok(text) => {
                        let shown = display_name(&self.sources.get(from).name, &target);
                        self.sources.add(shown, Some(abs), text.into())
                    }
                    Err(e) => return self.not_found(span, &target, &e.to_string()),
                },
                (None, None) => return self.not_found(span, &target, "no such file"),
            };
            (id, stem)
        };
        let alias = imp.alias.as_ref().map_or(stem, |a| a.name.to_string());
        if let Some(pos) = self.stack.iter().position(|&f| f == id) {
            let mut names: Vec<String> =
                self.stack[pos..].iter().map(|&f| self.sources.get(f).name.clone()).collect();
            names.push(self.sources.get(id).name.clone());
            self.diags.push(
                Diagnostic::error(
                    "drbook::load::import_cycle",
                    imp.span,
                    format!("import cycle: `{}`", names.join(" -> ")),
                )
                .label("this import closes the cycle")
                .help("move the shared templates into a module that imports neither file"),
            );
            return None;
        }
        if !self.modules.contains_key(&id) {
            self.load_file(id);
            self.require_module(id, span);
        }
        Some((alias, id))
    }

    fn outside_root<T>(&mut self, span: Span, target: &str) -> Option<T> {
        self.diags.push(
            Diagnostic::error(
                "drbook::load::import_outside_root",
                span,
                format!("`{target}` is outside the project root"),
            )
            .label("this import leaves the project")
            .help(format!(
                "imports stay inside `{}` (the root runbook's directory); \
                 pass `--root DIR` to widen the project",
                self.root.display()
            )),
        );
        None
    }

    fn not_found<T>(&mut self, span: Span, target: &str, why: &str) -> Option<T> {
        self.diags.push(
            Diagnostic::error(
                "drbook::load::import_not_found",
                span,
                format!("cannot import `{target}`: {why}"),
            )
            .label("not found")
            .help("paths are relative to the importing file; bundled modules are `std/NAME`"),
        );
        None
    }

    /// An imported file must be a module: templates, no runbook.
    fn require_module(&mut self, id: FileId, span: Span) {
        let Some(Some(file)) = self.modules.get(&id).map(|m| m.file.as_ref()) else { return };
        if let Some(rb) = file.items.iter().find_map(|i| match i {
            ast::Item::Runbook(r) => Some(r),
            _ => None,
        }) {
            self.diags.push(
                Diagnostic::error(
                    "drbook::load::import_runbook",
                    span,
                    "an imported file must be a module, not a runbook",
                )
                .label("this file defines a runbook")
                .related(rb.span, "runbook defined here")
                .help("move the templates you need into a module file with no `runbook`"),
            );
        }
    }

    fn root_items(&mut self, root: FileId) -> (Option<ast::Runbook>, Vec<ast::Template>) {
        // The root file is taken, not copied: nothing imports it, and splicing needs only the
        // aliases it resolved, which stay in the map.
        let Some(file) = self.modules.get_mut(&root).and_then(|m| m.file.take()) else {
            return (None, Vec::new());
        };
        let mut runbooks: Vec<ast::Runbook> = Vec::new();
        let mut templates: Vec<ast::Template> = Vec::new();
        for item in file.items {
            match item {
                ast::Item::Runbook(r) => runbooks.push(r),
                ast::Item::Template(t) => templates.push(t),
                ast::Item::Import(_) => {}
            }
        }
        let whole = Span::new(root, 0, 0);
        if runbooks.is_empty() && templates.is_empty() {
            let has_errors = self.diags.iter().any(|d| d.is_error() && d.span.file == root);
            if !has_errors {
                self.diags.push(
                    Diagnostic::error(
                        "drbook::load::empty",
                        whole,
                        "this file has neither a runbook nor a template",
                    )
                    .label("expected `runbook \"name\" { ... }` or `template NAME(...) { ... }`")
                    .help("a runbook file holds one `runbook`; a module file holds `template`s"),
                );
            }
        }
        for extra in runbooks.iter().skip(1) {
            self.diags.push(
                Diagnostic::error(
                    "drbook::load::two_runbooks",
                    extra.span,
                    "a file may hold only one runbook",
                )
                .label("second runbook")
                .related(runbooks[0].span, "first runbook here")
                .help("put each runbook in its own file"),
            );
        }
        if !runbooks.is_empty() {
            for t in &templates {
                self.diags.push(
                    Diagnostic::error(
                        "drbook::load::template_in_runbook",
                        t.name.span,
                        "a runbook file cannot define templates",
                    )
                    .label("template defined beside a runbook")
                    .help("move it to a module file and `import` that file"),
                );
            }
        }
        let module_templates = if runbooks.is_empty() { templates } else { Vec::new() };
        let runbook = runbooks.into_iter().next().map(|rb| splice::splice_runbook(self, root, rb));
        (runbook, module_templates)
    }
}
