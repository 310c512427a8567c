//! `drbook lsp`: a Language Server Protocol server over standard input and output, for
//! editors. The protocol's framing and message loop come from `lsp-server`; everything it
//! knows about runbooks comes from drbook's own front end (syntax, load, check, plan), so the
//! editor shows exactly what `drbook check` and `drbook plan` say.
//!
//! Documents are synchronised whole. Changes that arrive together are analysed once, after
//! the last of them; requests are answered from the newest analysis. While a document's
//! structure is broken (an unclosed string or brace, mid-typing), answers that need names
//! come from the last analysis that parsed, and plan facts from the last that checked clean.
//! A failure inside a handler is caught and answered as an error: the server keeps running.

mod analysis;
mod complete;
mod diagnostics;
mod edits;
mod hints;
mod hover;
mod index;
mod navigate;
mod stdcopy;
#[cfg(test)]
mod tests;
mod text;

pub use analysis::{analyse, Analysis, Facts};

use crate::diag::SourceText;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CompletionOptions, HoverProviderCapability, InitializeResult, OneOf, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The capabilities announced at `initialize`.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["{".into(), ".".into(), " ".into(), ",".into()]),
            ..CompletionOptions::default()
        }),
        code_action_provider: Some(lsp_types::CodeActionProviderCapability::Simple(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves one client on standard input and output until it says `exit`.
pub fn serve() -> Result<(), String> {
    let (connection, threads) = Connection::stdio();
    let init = InitializeResult {
        capabilities: capabilities(),
        server_info: Some(ServerInfo {
            name: "drbook".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let init = serde_json::to_value(init).map_err(|e| e.to_string())?;
    let (id, _params) = connection.initialize_start().map_err(|e| e.to_string())?;
    connection.initialize_finish(id, init).map_err(|e| e.to_string())?;
    Server::default().run(&connection)?;
    drop(connection);
    threads.join().map_err(|e| e.to_string())
}

/// One open document.
struct Doc {
    uri: Uri,
    text: SourceText,
    /// The newest analysis (`None` until the first one after a change).
    now: Option<Analysis>,
    /// The last analysis whose structure was intact, when `now`'s is not.
    parsed: Option<Analysis>,
    /// The last analysis that checked clean, when `now` does not.
    clean: Option<Analysis>,
}

#[derive(Default)]
pub struct Server {
    /// By URI text (the `Uri` type is not a stable map key).
    docs: HashMap<String, Doc>,
    /// Documents changed since they were last analysed.
    dirty: HashSet<String>,
    /// Files other than open documents that were sent diagnostics (imported files).
    published: HashMap<String, Vec<Uri>>,
}

impl Server {
    fn run(&mut self, c: &Connection) -> Result<(), String> {
        loop {
            let msg = if self.dirty.is_empty() {
                match c.receiver.recv() {
                    Ok(m) => m,
                    Err(_) => return Ok(()),
                }
            } else {
                match c.receiver.try_recv() {
                    Ok(m) => m,
                    Err(e) if e.is_empty() => {
                        self.refresh_all(c);
                        continue;
                    }
                    Err(_) => return Ok(()),
                }
            };
            match msg {
                Message::Request(r) => {
                    if c.handle_shutdown(&r).map_err(|e| e.to_string())? {
                        return Ok(());
                    }
                    let response = self.request(c, r);
                    c.sender.send(Message::Response(response)).map_err(|e| e.to_string())?;
                }
                Message::Notification(n) if n.method == notif::Exit::METHOD => {
                    return Err("the client said `exit` before `shutdown`".into())
                }
                Message::Notification(n) => self.notification(n),
                Message::Response(_) => {}
            }
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            notif::DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                {
                    self.set_text(p.text_document.uri, p.text_document.text);
                }
            }
            notif::DidChangeTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                {
                    // Full sync: the last change holds the whole text.
                    if let Some(last) = p.content_changes.into_iter().last() {
                        self.set_text(p.text_document.uri, last.text);
                    }
                }
            }
            notif::DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                {
                    self.docs.remove(p.text_document.uri.as_str());
                    self.dirty.remove(p.text_document.uri.as_str());
                }
            }
            _ => {}
        }
    }

    fn set_text(&mut self, uri: Uri, text: String) {
        let text: SourceText = text.into();
        let key = uri.as_str().to_string();
        match self.docs.get_mut(&key) {
            Some(d) => d.text = text,
            None => {
                self.docs
                    .insert(key.clone(), Doc { uri, text, now: None, parsed: None, clean: None });
            }
        }
        self.dirty.insert(key);
    }

    /// Analyses every changed document and publishes its diagnostics.
    fn refresh_all(&mut self, c: &Connection) {
        let dirty: Vec<Uri> =
            self.dirty.drain().filter_map(|k| self.docs.get(&k).map(|d| d.uri.clone())).collect();
        for uri in dirty {
            let messages = self.refresh(&uri);
            for m in messages {
                let _ = c.sender.send(Message::Notification(m));
            }
        }
    }

    /// Analyses one document (if open) and returns its diagnostics notifications.
    pub fn refresh(&mut self, uri: &Uri) -> Vec<Notification> {
        self.dirty.remove(uri.as_str());
        let Some(doc) = self.docs.get_mut(uri.as_str()) else { return Vec::new() };
        let text = doc.text.clone();
        let today = crate::model::Date::today();
        let result = catch_unwind(AssertUnwindSafe(|| analyse(uri, text, today)));
        let fresh = match result {
            Ok(a) => a,
            Err(_) => {
                let d = lsp_types::Diagnostic {
                    severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                    source: Some("drbook".into()),
                    code: Some(lsp_types::NumberOrString::String("drbook::lsp::internal".into())),
                    message: "drbook lsp could not analyse this text (an internal error); \
                              `drbook check` on the saved file tells more"
                        .into(),
                    ..lsp_types::Diagnostic::default()
                };
                return vec![publish(uri.clone(), vec![d])];
            }
        };
        let lists = diagnostics::by_file(&fresh);
        if let Some(old) = doc.now.take() {
            // `parsed`, when kept, is always newer than `clean`.
            if old.facts.is_some() {
                doc.parsed = None;
                doc.clean = Some(old);
            } else if old.parsed {
                doc.parsed = Some(old);
            }
        }
        if fresh.facts.is_some() {
            doc.clean = None;
        }
        if fresh.parsed {
            doc.parsed = None;
        }
        doc.now = Some(fresh);
        let mut out = Vec::new();
        let before = self.published.remove(uri.as_str()).unwrap_or_default();
        let mut now: Vec<Uri> = Vec::new();
        for (u, list) in lists {
            if u != *uri {
                now.push(u.clone());
            }
            out.push(publish(u, list));
        }
        for gone in before.iter().filter(|b| !now.contains(b)) {
            out.push(publish(gone.clone(), Vec::new()));
        }
        self.published.insert(uri.as_str().to_string(), now);
        out
    }

    fn request(&mut self, c: &Connection, r: Request) -> Response {
        let id = r.id.clone();
        let result = catch_unwind(AssertUnwindSafe(|| self.answer(c, r)));
        match result {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(_) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                "drbook lsp failed to answer (an internal error)".into(),
            ),
        }
    }

    /// The answer to a request, as JSON.
    pub fn answer(
        &mut self,
        c: &Connection,
        r: Request,
    ) -> Result<serde_json::Value, (ErrorCode, String)> {
        let uri = document_of(&r.params);
        if let Some(u) = &uri {
            if self.dirty.contains(u.as_str()) {
                for m in self.refresh(u) {
                    let _ = c.sender.send(Message::Notification(m));
                }
            }
        }
        self.respond(r)
    }

    /// Answers a request from the current analyses (no notifications).
    pub fn respond(&mut self, r: Request) -> Result<serde_json::Value, (ErrorCode, String)> {
        let bad = |e: serde_json::Error| (ErrorCode::InvalidParams, e.to_string());
        let json = |v: serde_json::Result<serde_json::Value>| {
            v.map_err(|e| (ErrorCode::InternalError, e.to_string()))
        };
        let method = r.method.clone();
        let Some(uri) = document_of(&r.params) else {
            return Err((ErrorCode::MethodNotFound, format!("unsupported request `{method}`")));
        };
        let Some(doc) = self.docs.get(uri.as_str()) else {
            return Ok(serde_json::Value::Null);
        };
        let Some(now) = doc.now.as_ref() else { return Ok(serde_json::Value::Null) };
        // Names from an analysis that parsed; facts from one that checked clean.
        let named = if now.parsed {
            now
        } else {
            doc.parsed.as_ref().or(doc.clean.as_ref()).unwrap_or(now)
        };
        let facts = now.facts.as_ref().or(doc.clean.as_ref().and_then(|a| a.facts.as_ref()));
        let at = |p: lsp_types::Position| named.lines.offset(&named.text, p);
        match method.as_str() {
            req::HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = serde_json::from_value(r.params).map_err(bad)?;
                let found =
                    hover::hover(named, facts, at(p.text_document_position_params.position));
                json(serde_json::to_value(found.map(|(md, span)| lsp_types::Hover {
                    contents: lsp_types::HoverContents::Markup(lsp_types::MarkupContent {
                        kind: lsp_types::MarkupKind::Markdown,
                        value: md,
                    }),
                    range: Some(named.lines.range(&named.text, span.0, span.1)),
                })))
            }
            req::GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams =
                    serde_json::from_value(r.params).map_err(bad)?;
                let found =
                    navigate::definition(named, at(p.text_document_position_params.position));
                json(serde_json::to_value(found.map(lsp_types::GotoDefinitionResponse::Scalar)))
            }
            req::References::METHOD => {
                let p: lsp_types::ReferenceParams =
                    serde_json::from_value(r.params).map_err(bad)?;
                let offset = at(p.text_document_position.position);
                json(serde_json::to_value(navigate::references(
                    named,
                    offset,
                    p.context.include_declaration,
                )))
            }
            req::Completion::METHOD => {
                let p: lsp_types::CompletionParams =
                    serde_json::from_value(r.params).map_err(bad)?;
                // The cursor is in the text as it is now, names from `named`.
                let offset = now.lines.offset(&doc.text, p.text_document_position.position);
                let items = complete::complete(named, &doc.text, offset);
                json(serde_json::to_value(lsp_types::CompletionResponse::Array(items)))
            }
            req::CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams =
                    serde_json::from_value(r.params).map_err(bad)?;
                let start = now.lines.offset(&now.text, p.range.start);
                let end = now.lines.offset(&now.text, p.range.end);
                json(serde_json::to_value(edits::code_actions(now, start, end)))
            }
            req::DocumentSymbolRequest::METHOD => json(serde_json::to_value(
                lsp_types::DocumentSymbolResponse::Nested(navigate::symbols(named)),
            )),
            req::Formatting::METHOD => json(serde_json::to_value(edits::format(&doc.text))),
            req::InlayHintRequest::METHOD => {
                let p: lsp_types::InlayHintParams =
                    serde_json::from_value(r.params).map_err(bad)?;
                let hints = match (now.facts.as_ref(), now.parsed) {
                    (Some(f), true) => {
                        let start = now.lines.offset(&now.text, p.range.start);
                        let end = now.lines.offset(&now.text, p.range.end);
                        hints::inlay(now, f, start, end)
                    }
                    _ => Vec::new(),
                };
                json(serde_json::to_value(hints))
            }
            _ => Err((ErrorCode::MethodNotFound, format!("unsupported request `{method}`"))),
        }
    }

    /// Opens (or replaces) a document, for tests and benchmarks: analysed at the next
    /// [`Server::refresh`].
    pub fn open(&mut self, uri: Uri, text: String) {
        self.set_text(uri, text);
    }
}

fn publish(uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>) -> Notification {
    let params = lsp_types::PublishDiagnosticsParams { uri, diagnostics, version: None };
    Notification::new(notif::PublishDiagnostics::METHOD.into(), params)
}

/// The `textDocument.uri` of a request's parameters.
fn document_of(params: &serde_json::Value) -> Option<Uri> {
    let uri = params.get("textDocument")?.get("uri")?.as_str()?;
    uri.parse().ok()
}
