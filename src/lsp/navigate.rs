//! Go to definition, find references and the document's outline. A template used from an
//! imported module is found in that module's file (for `std/` modules, a read-only copy).

use super::analysis::Analysis;
use super::index::Sym;
use crate::diag::FileId;
use lsp_types::{DocumentSymbol, Location, SymbolKind};

/// Where the name at `offset` is declared.
pub fn definition(a: &Analysis, offset: usize) -> Option<Location> {
    let occ = a.index.at(offset)?;
    let (file, sym) = target(a, &occ.sym)?;
    let ix = a.index_of(file)?;
    let def = ix.occurrences(&sym).find(|o| o.def)?;
    Some(Location::new(a.file_uri(file)?, a.range_in(file, (def.start, def.end))))
}

/// The file holding the declaration of `sym` as written in the document, and the symbol as
/// that file names it.
fn target(a: &Analysis, sym: &Sym) -> Option<(FileId, Sym)> {
    match sym {
        Sym::Use(alias, name) => Some((a.module(alias)?, Sym::Template(name.clone()))),
        Sym::Duration(_) => None,
        other => Some((FileId(0), other.clone())),
    }
}

/// Every occurrence of the name at `offset` in the document (and the declaration, wherever
/// it is, when `with_decl`).
pub fn references(a: &Analysis, offset: usize, with_decl: bool) -> Vec<Location> {
    let Some(occ) = a.index.at(offset) else { return Vec::new() };
    let Some((file, sym)) = target(a, &occ.sym) else { return Vec::new() };
    let mut out = Vec::new();
    if file.0 != 0 {
        if with_decl {
            out.extend(definition(a, offset));
        }
        // Uses in the document spell it `alias.NAME`.
        for o in a.index.occs.iter() {
            if let Sym::Use(alias, name) = &o.sym {
                if Sym::Template(name.clone()) == sym && a.module(alias) == Some(file) {
                    out.push(Location::new(a.uri.clone(), a.range_in(FileId(0), (o.start, o.end))));
                }
            }
        }
        return out;
    }
    for o in a.index.occurrences(&sym) {
        if o.def && !with_decl {
            continue;
        }
        out.push(Location::new(a.uri.clone(), a.range_in(FileId(0), (o.start, o.end))));
    }
    out
}

/// The outline: the runbook with its params, secrets, roles and steps; or a module's
/// templates.
#[allow(deprecated)] // `DocumentSymbol::deprecated` has no replacement field to leave out.
pub fn symbols(a: &Analysis) -> Vec<DocumentSymbol> {
    let ix = &a.index;
    let sym =
        |name: String, detail: Option<String>, kind, whole: (usize, usize), sel: (usize, usize)| {
            DocumentSymbol {
                name,
                detail,
                kind,
                tags: None,
                deprecated: None,
                range: a.range_in(FileId(0), whole),
                selection_range: a.range_in(FileId(0), sel),
                children: None,
            }
        };
    let mut children = Vec::new();
    for n in &ix.names {
        let kind = if n.kind == "secret" { SymbolKind::KEY } else { SymbolKind::VARIABLE };
        children.push(sym(n.name.clone(), Some(n.kind.to_string()), kind, n.span, n.span));
    }
    for r in &ix.roles {
        children.push(sym(
            r.name.clone(),
            Some("role".into()),
            SymbolKind::CONSTANT,
            r.span,
            r.span,
        ));
    }
    for s in &ix.steps {
        let kind = if s.finally { SymbolKind::EVENT } else { SymbolKind::FUNCTION };
        children.push(sym(s.id.clone(), s.title.clone(), kind, s.span, s.id_span));
    }
    let mut out = Vec::new();
    if let Some((name, span)) = &ix.runbook {
        let header = ix.header.unwrap_or(*span);
        let mut rb = sym(
            name.trim_matches('"').to_string(),
            Some("runbook".into()),
            SymbolKind::MODULE,
            *span,
            header,
        );
        rb.children = Some(children);
        out.push(rb);
    }
    for t in &ix.templates {
        let params: Vec<&str> = t.params.iter().map(|(p, _)| p.as_str()).collect();
        let detail = Some(format!("template({})", params.join(", ")));
        out.push(sym(t.name.clone(), detail, SymbolKind::FUNCTION, t.span, t.name_span));
    }
    out
}
