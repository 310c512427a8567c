//! Where every name of one file is declared and used, read from its syntax tree as written
//! (before templates are spliced): the table behind hover, go to definition, references,
//! completion and document symbols.
//!
//! Which declaration a use means is decided where it is written (`walk`): `${x}` is a capture
//! of the step it is in when that step captures `x`, a parameter of the template it is in,
//! else a param or secret. `alias.NAME` stays as written; the analysis resolves the alias to
//! the imported module when asked.

use crate::syntax::ast;

/// A name a span stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Sym {
    Step(Box<str>),
    /// A param or a secret (they share one namespace).
    Name(Box<str>),
    /// A capture: (step id, capture name).
    Capture(Box<str>, Box<str>),
    Role(Box<str>),
    /// A template of this file (a module).
    Template(Box<str>),
    /// A template of an imported module: (alias, template).
    Use(Box<str>, Box<str>),
    /// A template's parameter: (template, parameter).
    TemplateParam(Box<str>, Box<str>),
    /// A duration literal, in milliseconds: hovered, never defined.
    Duration(u64),
}

/// One occurrence of a name: a byte range of the file.
#[derive(Clone, Debug)]
pub struct Occ {
    pub start: usize,
    pub end: usize,
    pub sym: Sym,
    /// The declaration, not a use.
    pub def: bool,
}

#[derive(Clone, Debug, Default)]
pub struct StepDecl {
    pub id: String,
    pub id_span: (usize, usize),
    /// The whole `step ... { }`.
    pub span: (usize, usize),
    pub title: Option<String>,
    pub owner: Option<String>,
    pub duration_ms: Option<u64>,
    pub captures: Vec<String>,
    pub finally: bool,
}

#[derive(Clone, Debug)]
pub struct NameDecl {
    pub name: String,
    pub span: (usize, usize),
    /// `param` or `secret`.
    pub kind: &'static str,
    /// The param's type, or the secret's source (`env`, `file`, `ssm`).
    pub ty: Option<String>,
    /// The param's default, or the secret's source argument (the variable, file or parameter
    /// name: where the value is, never the value), as written.
    pub detail: Option<String>,
}

#[derive(Clone, Debug)]
pub struct RoleDecl {
    pub name: String,
    pub span: (usize, usize),
    pub members: String,
}

#[derive(Clone, Debug)]
pub struct ImportDecl {
    pub alias: String,
    /// The path as written: `std/http`, `./common.drbook`.
    pub target: String,
    pub span: (usize, usize),
}

#[derive(Clone, Debug)]
pub struct TemplateDecl {
    pub name: String,
    pub name_span: (usize, usize),
    pub span: (usize, usize),
    /// (name, default as written).
    pub params: Vec<(String, Option<String>)>,
    /// The `#` comment lines just above it, without the `#`.
    pub doc: String,
}

/// A `use alias.NAME(...)`.
#[derive(Clone, Debug)]
pub struct UseSite {
    pub alias: String,
    pub template: String,
    /// From the alias to the closing parenthesis's line: where completion of arguments
    /// applies.
    pub span: (usize, usize),
    pub args: Vec<String>,
}

/// Everything named in one file.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Sorted by start.
    pub occs: Vec<Occ>,
    pub runbook: Option<(String, (usize, usize))>,
    /// The runbook's header line: from `runbook` to its `{`.
    pub header: Option<(usize, usize)>,
    pub steps: Vec<StepDecl>,
    pub names: Vec<NameDecl>,
    pub roles: Vec<RoleDecl>,
    pub imports: Vec<ImportDecl>,
    pub templates: Vec<TemplateDecl>,
    pub uses: Vec<UseSite>,
}

impl Index {
    pub fn build(text: &str, file: &ast::File) -> Index {
        let mut w = walk::Walker::new(text);
        for item in &file.items {
            match item {
                ast::Item::Import(imp) => w.import(imp),
                ast::Item::Runbook(rb) => w.runbook(rb),
                ast::Item::Template(t) => w.template(t),
            }
        }
        w.ix.occs.sort_by_key(|o| (o.start, o.end));
        w.ix
    }

    /// The innermost occurrence at byte `offset` (touching its end counts: the cursor just
    /// after a name).
    pub fn at(&self, offset: usize) -> Option<&Occ> {
        self.occs
            .iter()
            .filter(|o| o.start <= offset && offset <= o.end)
            .min_by_key(|o| o.end - o.start)
    }

    pub fn step(&self, id: &str) -> Option<&StepDecl> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The step whose braces hold `offset`.
    pub fn step_at(&self, offset: usize) -> Option<&StepDecl> {
        self.steps.iter().find(|s| s.span.0 <= offset && offset < s.span.1)
    }

    pub fn template_at(&self, offset: usize) -> Option<&TemplateDecl> {
        self.templates.iter().find(|t| t.span.0 <= offset && offset < t.span.1)
    }

    pub fn name(&self, name: &str) -> Option<&NameDecl> {
        self.names.iter().find(|n| n.name == name)
    }

    /// Every occurrence of `sym` in this file, its declaration first.
    pub fn occurrences<'a>(&'a self, sym: &'a Sym) -> impl Iterator<Item = &'a Occ> + 'a {
        let defs = self.occs.iter().filter(move |o| o.def && &o.sym == sym);
        defs.chain(self.occs.iter().filter(move |o| !o.def && &o.sym == sym))
    }
}

mod walk;

/// A span's byte range as a pair.
pub fn span(s: crate::diag::Span) -> (usize, usize) {
    let r = s.range();
    (r.start, r.end)
}

#[cfg(test)]
mod tests;
