//! `drbook lsp` spoken to over its standard input and output, as an editor does: the
//! handshake, diagnostics pushed on open and after a burst of edits (only the newest text
//! counts), answers to requests, errors for what it does not serve, garbage survived, and
//! the exit codes of a clean and an abrupt end.

use crate::{crate_root, head};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// How long one answer may take (a debug build on a loaded machine).
const WAIT: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    /// Notifications that arrived while waiting for a response.
    pending: std::collections::VecDeque<Value>,
    next_id: i64,
    _dir: tempfile::TempDir,
    uri: String,
}

fn read_frame(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    /// Starts the server in a temporary project holding `runbook` and shakes hands.
    fn start(runbook: &str) -> Client {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = std::fs::canonicalize(dir.path()).expect("canon").join("r.drbook");
        std::fs::write(&path, runbook).expect("write");
        let mut child = Command::new(env!("CARGO_BIN_EXE_drbook"))
            .arg("lsp")
            .env("HOME", dir.path())
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start drbook lsp");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, inbox) = channel();
        std::thread::spawn(move || {
            while let Some(v) = read_frame(&mut stdout) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let uri = format!("file://{}", path.display());
        let mut c =
            Client { child, stdin, inbox, pending: Default::default(), next_id: 0, _dir: dir, uri };
        let init = c.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {} }),
        );
        let caps = &init["result"]["capabilities"];
        for cap in [
            "hoverProvider",
            "definitionProvider",
            "referencesProvider",
            "completionProvider",
            "codeActionProvider",
            "documentSymbolProvider",
            "documentFormattingProvider",
            "inlayHintProvider",
        ] {
            assert!(!caps[cap].is_null(), "{cap} not announced: {init}");
        }
        assert_eq!(init["result"]["serverInfo"]["name"], "drbook");
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len())
            .expect("write to the server");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn next(&mut self) -> Value {
        match self.inbox.recv_timeout(WAIT) {
            Ok(v) => v,
            Err(_) => {
                let _ = self.child.kill();
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("no message from drbook lsp within {WAIT:?}; stderr:\n{}", head(&err, 4000));
            }
        }
    }

    /// Sends a request and returns its response; notifications on the way are kept.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.next();
            if m["id"] == json!(id) {
                return m;
            }
            self.pending.push_back(m);
        }
    }

    /// The next diagnostics published for the document.
    fn diagnostics(&mut self) -> Vec<Value> {
        loop {
            let m = match self.pending.pop_front() {
                Some(m) => m,
                None => self.next(),
            };
            if m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == json!(self.uri)
            {
                return m["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            }
        }
    }

    fn open(&mut self, text: &str) {
        let uri = self.uri.clone();
        self.notify("textDocument/didOpen", json!({ "textDocument": { "uri": uri, "languageId": "drbook", "version": 1, "text": text } }));
    }

    fn change(&mut self, version: i64, text: &str) {
        let uri = self.uri.clone();
        self.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }));
    }

    /// `shutdown` then `exit`; the exit status.
    fn finish(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        self.wait()
    }

    fn wait(&mut self) -> i32 {
        for _ in 0..600 {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("drbook lsp did not exit");
    }
}

fn quickstart() -> String {
    std::fs::read_to_string(crate_root().join("runbooks/quickstart.drbook")).expect("quickstart")
}

fn position(text: &str, needle: &str, plus: usize) -> Value {
    let at = text.find(needle).expect("needle") + plus;
    let line = text[..at].matches('\n').count();
    let col = text[..at].rsplit('\n').next().map_or(0, |l| l.encode_utf16().count());
    json!({ "line": line, "character": col })
}

#[test]
fn an_editor_session_from_handshake_to_exit() {
    let text = quickstart();
    let mut c = Client::start(&text);
    c.open(&text);
    assert_eq!(c.diagnostics(), Vec::<Value>::new(), "the quickstart checks clean");
    let uri = c.uri.clone();
    let hover = c.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": position(&text, "needs    take_backup", 10) }));
    let md = hover["result"]["contents"]["value"].as_str().unwrap_or_else(|| panic!("{hover}"));
    assert!(
        md.contains("step `take_backup`") && md.contains("Back up the primary's data disk"),
        "{md}"
    );
    // A burst of edits: the diagnostics that follow are those of the last text.
    for v in 2..20 {
        c.change(
            v,
            &text.replace(
                "needs    restore, break_primary",
                &format!("needs    restore, break_primary{}", " ".repeat(v as usize)),
            ),
        );
    }
    let typo = text.replace("needs    restore, break_primary", "needs    restor, break_primary");
    c.change(20, &typo);
    let def = c.request("textDocument/definition", json!({ "textDocument": { "uri": uri }, "position": position(&typo, "needs    take_backup", 10) }));
    assert_eq!(def["result"]["range"]["start"], position(&typo, "step take_backup", 5), "{def}");
    let mut last = Vec::new();
    // Every publication up to the last must come; the last one has the typo.
    while last.iter().all(|d: &Value| d["code"] != "drbook::check::unknown_step") {
        last = c.diagnostics();
    }
    let d = last.iter().find(|d| d["code"] == "drbook::check::unknown_step").expect("typo");
    assert_eq!(d["range"]["start"], position(&typo, "restor, break", 0));
    let unknown = c.request(
        "textDocument/prepareRename",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let symbols =
        c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    assert_eq!(symbols["result"][0]["name"], "quickstart", "the server still answers: {symbols}");
    assert_eq!(c.finish(), 0);
}

#[test]
fn garbage_and_half_typed_text_never_bring_it_down() {
    let mut c = Client::start("");
    let uri = c.uri.clone();
    let text = quickstart();
    let cut = &text[..text.len() / 2];
    let docs = [
        String::from_utf8_lossy(&(0..=255u8).cycle().take(5000).collect::<Vec<u8>>()).into_owned(),
        "runbook \"r\" { step a { needs ${ \"\"\" }".to_string(),
        "{".repeat(100_000),
        cut.to_string(),
    ];
    for (v, doc) in docs.iter().enumerate() {
        if v == 0 {
            c.open(doc);
        } else {
            c.change(v as i64 + 1, doc);
        }
        let diags = c.diagnostics();
        assert!(diags.iter().any(|d| d["severity"] == 1), "no error for document {v}: {diags:?}");
        for (line, character) in [(0, 0), (0, 5), (3, 2), (99, 0)] {
            let at = json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });
            let mut refs = at.clone();
            refs["context"] = json!({ "includeDeclaration": true });
            for (method, params) in [
                ("textDocument/hover", &at),
                ("textDocument/completion", &at),
                ("textDocument/definition", &at),
                ("textDocument/references", &refs),
            ] {
                let r = c.request(method, params.clone());
                assert!(r.get("error").is_none(), "{method} on document {v}: {r}");
            }
        }
    }
    assert_eq!(c.finish(), 0);
}

#[test]
fn exit_without_shutdown_is_an_error_exit() {
    let mut c = Client::start("");
    c.notify("exit", Value::Null);
    assert_eq!(c.wait(), 1);
}
