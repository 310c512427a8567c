//! One open document, analysed: the same load and check as `drbook check` (imports read from
//! disk, confined to the file's directory), the index of its names, and, when it checks
//! clean, the plan facts hover and inlay hints show (critical path, earliest starts, slack).

use super::index::Index;
use super::text::{self, Lines};
use crate::check::{self, Options};
use crate::diag::{Diagnostic, FileId, SourceText, Sources};
use crate::graph::Dag;
use crate::load;
use crate::model;
use crate::plan::{self, Plan};
use crate::syntax;
use lsp_types::Uri;
use std::collections::HashMap;
use std::path::PathBuf;

/// A document's analysis.
pub struct Analysis {
    pub uri: Uri,
    pub text: SourceText,
    pub lines: Lines,
    /// The document (always `FileId(0)`) and every file it imports.
    pub sources: Sources,
    /// Load and check diagnostics, every file's.
    pub diags: Vec<Diagnostic>,
    /// The document's names; empty when its structure is broken (see `parsed`).
    pub index: Index,
    /// The document's structure is intact (strings closed, brackets balanced).
    pub parsed: bool,
    /// The imported modules' names, by file.
    pub modules: HashMap<FileId, Index>,
    /// Present when the document is a runbook that checks clean.
    pub facts: Option<Facts>,
}

/// What the checked runbook says about time.
pub struct Facts {
    pub plan: Plan,
    /// Step id to its node of the DAG (its declaration order).
    pub ids: HashMap<String, usize>,
    /// Per step: when it can start at the earliest, after its needs (milliseconds from the
    /// start of the run).
    pub earliest_ms: Vec<u64>,
    /// Per step: how much later it could finish without lengthening the run.
    pub slack_ms: Vec<u64>,
    pub total_ms: u64,
}

impl Facts {
    pub fn step(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }
}

/// Analyses `text` as the document `uri`. Never panics on any text (the caller also guards).
pub fn analyse(uri: &Uri, text: SourceText, today: model::Date) -> Analysis {
    let path = text::uri_path(uri);
    let name = match &path {
        Some(p) => p.display().to_string(),
        None => uri.as_str().to_string(),
    };
    let abs = path.as_ref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
    let root = match abs.as_ref().and_then(|p| p.parent()) {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
    };
    let parse = syntax::parse(&text, FileId(0));
    let index = parse.0.as_ref().map(|p| Index::build(&text, &p.file)).unwrap_or_default();
    let mut loaded = load::load_parsed_in(&name, abs, text.clone(), root, parse);
    let opts = Options { today, params: Vec::new(), require_params: false, strict: false };
    let checked = check::check(&mut loaded, &opts);
    let modules = loaded
        .modules
        .iter()
        .map(|(id, file)| (*id, Index::build(&loaded.sources.get(*id).text, file)))
        .collect();
    let facts = match (&checked.runbook, &checked.dag) {
        (Some(rb), Some(dag)) => Some(facts(rb, dag, &checked.values)),
        _ => None,
    };
    let lines = Lines::new(&text);
    Analysis {
        uri: uri.clone(),
        text,
        lines,
        sources: std::mem::take(&mut loaded.sources),
        diags: checked.diags,
        index,
        parsed: loaded.parsed,
        modules,
        facts,
    }
}

fn facts(rb: &model::Runbook, dag: &Dag, values: &HashMap<String, model::ParamValue>) -> Facts {
    let plan = plan::build(rb, dag, values, Vec::new());
    let n = dag.len();
    let mut earliest = vec![0u64; n];
    for &v in &dag.topo_order() {
        earliest[v] = dag
            .needs(v)
            .iter()
            .map(|&p| earliest[p].saturating_add(dag.duration(p)))
            .max()
            .unwrap_or(0);
    }
    let tails = dag.tails();
    let (total_ms, _) = dag.critical_path();
    let slack =
        (0..n).map(|i| total_ms.saturating_sub(earliest[i].saturating_add(tails[i]))).collect();
    Facts {
        plan,
        ids: rb.steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect(),
        earliest_ms: earliest,
        slack_ms: slack,
        total_ms,
    }
}

impl Analysis {
    /// The index of file `id`: the document's or an imported module's.
    pub fn index_of(&self, id: FileId) -> Option<&Index> {
        if id.0 == 0 {
            Some(&self.index)
        } else {
            self.modules.get(&id)
        }
    }

    /// The module the document imports as `alias`.
    pub fn module(&self, alias: &str) -> Option<FileId> {
        let imp = self.index.imports.iter().find(|i| i.alias == alias)?;
        if imp.target.starts_with("std/") {
            return self.sources.find_name(&imp.target);
        }
        let base = self.sources.get(FileId(0)).path.as_ref()?.parent()?.join(&imp.target);
        let abs = std::fs::canonicalize(base).ok()?;
        self.sources.find(&abs)
    }

    /// A file's URI: its path on disk, or for a bundled `std/` module a read-only copy.
    pub fn file_uri(&self, id: FileId) -> Option<Uri> {
        if id.0 == 0 {
            return Some(self.uri.clone());
        }
        let f = self.sources.get(id);
        match &f.path {
            Some(p) => text::path_uri(p),
            None => super::stdcopy::uri(&f.name, &f.text),
        }
    }

    /// `text` positions in file `id` as a protocol range.
    pub fn range_in(&self, id: FileId, (start, end): (usize, usize)) -> lsp_types::Range {
        if id.0 == 0 {
            return self.lines.range(&self.text, start, end);
        }
        let t = &self.sources.get(id).text;
        Lines::new(t).range(t, start, end)
    }
}
