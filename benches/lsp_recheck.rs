//! How long `drbook lsp` takes to re-check a big runbook after an edit (BENCHMARKS.md,
//! "Language server").
//!
//!     lsp_recheck FILE DRBOOK [EDITS]
//!
//! Two figures, each over EDITS edits (default 200) that alternate between two texts (one
//! character of a `title` changed, so every edit is a real change and the runbook stays
//! valid):
//!
//! - **in process**: `drbook::lsp::analyse` (parse, load, check, graph, plan facts, index),
//!   the work the server does per change;
//! - **over the protocol**: `DRBOOK lsp` started as an editor starts it; each edit is a
//!   `didChange` and the time is until its `publishDiagnostics` arrives (framing, JSON, the
//!   analysis and the diagnostics conversion included).
//!
//! Prints the median, p90 and max of each, in milliseconds.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The allocator of the `drbook` binary, so the in-process figure is the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn stats(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name}: n={} median={:.2} ms p90={:.2} ms max={:.2} ms",
        ms.len(),
        at(0.5),
        at(0.9),
        ms[ms.len() - 1]
    );
}

fn frame(r: &mut impl BufRead) -> serde_json::Value {
    let mut len = 0;
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).expect("read") > 0, "the server closed its output");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse().expect("length");
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).expect("body");
    serde_json::from_slice(&body).expect("json")
}

fn send(w: &mut impl Write, v: serde_json::Value) {
    let body = v.to_string();
    write!(w, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
    w.flush().expect("flush");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (file, drbook) = match args.as_slice() {
        [_, f, d, ..] => (f.clone(), d.clone()),
        _ => {
            eprintln!("usage: lsp_recheck FILE DRBOOK [EDITS]");
            std::process::exit(2);
        }
    };
    let edits: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(200);
    let path = std::fs::canonicalize(&file).expect("runbook");
    let text = std::fs::read_to_string(&path).expect("read");
    let at = text.find("title ").or_else(|| text.find("step ")).expect("a title or a step");
    let other = format!("{}{}", &text[..at], &text[at..].replacen('"', "\"~", 1));
    let texts = [text.clone(), other];
    let uri: lsp_types::Uri = format!("file://{}", path.display()).parse().expect("uri");

    let today = drbook::model::Date::from_days(20_600);
    let mut inproc = Vec::new();
    for k in 0..edits {
        let t0 = Instant::now();
        let a = drbook::lsp::analyse(&uri, texts[k % 2].as_str().into(), today);
        inproc.push(t0.elapsed().as_secs_f64() * 1e3);
        assert!(a.facts.is_some(), "the runbook must check clean: {:?}", a.diags.first());
    }

    let mut child = Command::new(&drbook)
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start drbook lsp");
    let mut w = child.stdin.take().expect("stdin");
    let mut r = BufReader::new(child.stdout.take().expect("stdout"));
    send(
        &mut w,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    frame(&mut r);
    send(&mut w, serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let open = serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri.as_str(), "languageId": "drbook", "version": 1, "text": text}}});
    send(&mut w, open);
    let wait_publish = |r: &mut BufReader<_>| loop {
        let m = frame(r);
        if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri.as_str() {
            let errors = m["params"]["diagnostics"]
                .as_array()
                .map_or(0, |d| d.iter().filter(|d| d["severity"] == 1).count());
            assert_eq!(errors, 0, "the runbook must check clean");
            return;
        }
    };
    wait_publish(&mut r);
    let mut wire = Vec::new();
    for k in 0..edits {
        let change = serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri.as_str(), "version": k + 2},
            "contentChanges": [{"text": texts[(k + 1) % 2]}]}});
        let t0 = Instant::now();
        send(&mut w, change);
        wait_publish(&mut r);
        wire.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    send(
        &mut w,
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}),
    );
    frame(&mut r);
    send(&mut w, serde_json::json!({"jsonrpc": "2.0", "method": "exit", "params": null}));
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let steps = text.matches("\n  step ").count();
    println!("{file}: {steps} steps, {} bytes", text.len());
    stats("in process (analyse)", inproc);
    stats("over the protocol (didChange -> publishDiagnostics)", wire);
}
