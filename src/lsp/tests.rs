//! The server in process: documents opened and analysed, requests answered as JSON, and the
//! same answers on half-typed text (every prefix and mangled copy of the shipped runbooks
//! and fixtures) without a panic.

use super::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use crate::testkit::Rng;

/// A server with `files` written into a temporary project; the first is opened.
struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    uri: Uri,
    text: String,
    /// Notifications of the last refresh.
    published: Vec<Notification>,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let path = std::fs::canonicalize(dir.path()).expect("canon").join(files[0].0);
        let uri = text::path_uri(&path).expect("uri");
        let mut server = Server::default();
        server.open(uri.clone(), files[0].1.to_string());
        let published = server.refresh(&uri);
        Fixture { _dir: dir, server, uri, text: files[0].1.to_string(), published }
    }

    fn edit(&mut self, text: &str) {
        self.text = text.to_string();
        self.server.open(self.uri.clone(), text.to_string());
        self.published = self.server.refresh(&self.uri);
    }

    /// Diagnostics published for `uri`.
    fn diagnostics(&self, uri: &Uri) -> Vec<Value> {
        self.published
            .iter()
            .filter(|n| n.params["uri"] == json!(uri.as_str()))
            .flat_map(|n| n.params["diagnostics"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The protocol position of `needle` (its `nth` occurrence) plus `plus` characters.
    fn pos(&self, needle: &str, plus: usize) -> Value {
        let at =
            self.text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in the text")) + plus;
        let p = text::Lines::new(&self.text).position(&self.text, at);
        json!({ "line": p.line, "character": p.character })
    }

    fn ask(&mut self, method: &str, params: Value) -> Value {
        let mut params = params;
        params["textDocument"] = json!({ "uri": self.uri.as_str() });
        let r = Request { id: 1.into(), method: method.into(), params };
        self.server.respond(r).unwrap_or_else(|e| panic!("{method}: {e:?}"))
    }

    fn at(&mut self, method: &str, needle: &str, plus: usize) -> Value {
        let position = self.pos(needle, plus);
        self.ask(method, json!({ "position": position, "context": { "includeDeclaration": true } }))
    }
}

const RUNBOOK: &str = r#"import "./common.drbook" as common
import "std/http"

runbook "failover" {
  title "Fail over"
  owner "sre"
  rto   30m
  approvals typed
  param region = "eu-west-1"
  secret token = env("DRBOOK_LSP_TEST_TOKEN")
  roles {
    incident_commander = ["ann"]
    dba                = ["bob"]
  }

  step freeze "Freeze writes" {
    owner    "dba"
    duration 5m
    run      "freeze --region ${region} --token ${token}"
    capture  lsn from stdout
    idempotent
  }

  step promote "Promote the replica" {
    needs    freeze
    owner    "dba"
    duration 10m
    approval { by incident_commander, dba }
    run      "promote --after ${steps.freeze.lsn}"
    verify   run "is-primary"
    rollback run "demote"
  }

  step notify "Tell the users" {
    needs    freeze
    owner    "comms"
    duration 1m
    manual   "post on the status page"
  }

  step verify "Check the new primary" {
    needs    promote, notify
    owner    "sre"
    duration 2m
    use common.restart(name = "api")
    idempotent
  }
}
"#;

const COMMON: &str = r#"# Restarts a service and waits for it.
template restart(name, wait = 30s) {
  run "systemctl restart ${name}"
}
"#;

fn fixture() -> Fixture {
    Fixture::new(&[("failover.drbook", RUNBOOK), ("common.drbook", COMMON)])
}

#[test]
fn a_clean_runbook_publishes_an_empty_list() {
    let f = fixture();
    assert_eq!(f.published.len(), 1, "{:?}", f.published);
    assert_eq!(f.diagnostics(&f.uri), Vec::<Value>::new());
}

#[test]
fn diagnostics_carry_code_help_severity_and_a_fix() {
    let mut f = fixture();
    f.edit(&RUNBOOK.replace("needs    promote, notify", "needs    promot, notify"));
    let diags = f.diagnostics(&f.uri);
    let d =
        diags.iter().find(|d| d["code"] == "drbook::check::unknown_step").expect("unknown step");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "drbook");
    let msg = d["message"].as_str().expect("message");
    assert!(msg.contains("`promot`") && msg.contains("help: did you mean `promote`?"), "{msg}");
    let start = f.pos("promot, notify", 0);
    assert_eq!(d["range"]["start"], start);
    let actions = f.ask(
        "textDocument/codeAction",
        json!({ "range": { "start": start, "end": start }, "context": { "diagnostics": [] } }),
    );
    assert_eq!(actions[0]["title"], "Replace with `promote`", "{actions}");
    let edit = &actions[0]["edit"]["changes"][f.uri.as_str()][0];
    assert_eq!(edit["newText"], "promote");
    assert_eq!(edit["range"]["start"], start);
    // Fixed: the list is published again, empty.
    f.edit(RUNBOOK);
    assert_eq!(f.diagnostics(&f.uri), Vec::<Value>::new());
}

#[test]
fn a_warning_is_a_warning() {
    let mut f = fixture();
    f.edit(&RUNBOOK.replace(
        "  param region = \"eu-west-1\"\n",
        "  param region = \"eu-west-1\"\n  param unused = 1\n",
    ));
    let diags = f.diagnostics(&f.uri);
    assert!(!diags.is_empty());
    assert!(diags.iter().all(|d| d["severity"] == 2), "{diags:?}");
}

#[test]
fn a_problem_in_an_imported_module_is_shown_in_both_files() {
    let broken = COMMON.replace("run \"systemctl", "rnu \"systemctl");
    let f = Fixture::new(&[("failover.drbook", RUNBOOK), ("common.drbook", &broken)]);
    let here = f.diagnostics(&f.uri);
    assert!(!here.is_empty(), "{:?}", f.published);
    let d = &here[0];
    assert!(d["message"].as_str().expect("msg").starts_with("in `"), "{d}");
    assert_eq!(d["range"]["start"]["line"], 0, "shown at the import: {d}");
    let module = f.uri.as_str().replace("failover.drbook", "common.drbook");
    let there: Vec<Value> = f
        .published
        .iter()
        .filter(|n| n.params["uri"] == json!(module))
        .flat_map(|n| n.params["diagnostics"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(!there.is_empty(), "{:?}", f.published);
    assert_eq!(there[0]["range"]["start"]["line"], 2, "{}", there[0]);
    // Fixed in the module: its file gets an empty list.
    let mut f = f;
    std::fs::write(f._dir.path().join("common.drbook"), COMMON).expect("write");
    f.edit(RUNBOOK);
    let cleared: Vec<&Notification> =
        f.published.iter().filter(|n| n.params["uri"] == json!(module)).collect();
    assert_eq!(cleared.len(), 1, "{:?}", f.published);
    assert_eq!(cleared[0].params["diagnostics"], json!([]));
}

fn hover(f: &mut Fixture, needle: &str, plus: usize) -> String {
    let h = f.at("textDocument/hover", needle, plus);
    h["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no hover at {needle}: {h}"))
        .to_string()
}

#[test]
fn hover_tells_a_step_its_plan_facts() {
    let mut f = fixture();
    let promote = hover(&mut f, "needs    promote", 9);
    for part in [
        "step `promote`",
        "Promote the replica",
        "owner: dba",
        "10m",
        "600 s",
        "approval by incident_commander and dba",
        "on the critical path",
    ] {
        assert!(promote.contains(part), "`{part}` missing:\n{promote}");
    }
    let notify = hover(&mut f, "step notify", 5);
    assert!(notify.contains("not on the critical path"), "{notify}");
    assert!(notify.contains("slack 9m"), "promote takes 10m, notify 1m: {notify}");
}

#[test]
fn hover_on_names_durations_and_templates() {
    let mut f = fixture();
    let region = hover(&mut f, "${region}", 2);
    assert!(region.contains("param `region`") && region.contains("eu-west-1"), "{region}");
    let token = hover(&mut f, "${token}", 2);
    assert!(token.contains("secret `token`") && token.contains("DRBOOK_LSP_TEST_TOKEN"), "{token}");
    let d = hover(&mut f, "duration 10m", 10);
    assert!(d.starts_with("**600 seconds**"), "{d}");
    let t = hover(&mut f, "common.restart", 8);
    assert!(t.contains("template restart(name, wait = 30s)"), "{t}");
    assert!(t.contains("Restarts a service and waits for it."), "{t}");
    let role = hover(&mut f, "by incident_commander", 4);
    assert!(role.contains("[\"ann\"]"), "{role}");
}

#[test]
fn definition_and_references_follow_every_kind_of_name() {
    let mut f = fixture();
    let def = f.at("textDocument/definition", "needs    freeze", 9);
    assert_eq!(def["uri"], f.uri.as_str());
    assert_eq!(def["range"]["start"], f.pos("step freeze", 5));
    let def = f.at("textDocument/definition", "${steps.freeze.lsn}", 16);
    assert_eq!(def["range"]["start"], f.pos("capture  lsn", 9));
    let def = f.at("textDocument/definition", "by incident_commander", 4);
    assert_eq!(def["range"]["start"], f.pos("incident_commander =", 0));
    let def = f.at("textDocument/definition", "--token ${token}", 10);
    assert_eq!(def["range"]["start"], f.pos("token = env", 0));
    let def = f.at("textDocument/definition", "common.restart", 8);
    assert!(def["uri"].as_str().expect("uri").ends_with("/common.drbook"), "{def}");
    assert_eq!(def["range"]["start"], json!({ "line": 1, "character": 9 }));
    let refs = f.at("textDocument/references", "step freeze", 5);
    assert_eq!(
        refs.as_array().expect("list").len(),
        4,
        "declaration, 2 needs, 1 capture ref: {refs}"
    );
}

#[test]
fn definition_of_a_bundled_template_opens_a_read_only_copy() {
    let text = RUNBOOK
        .replace("use common.restart(name = \"api\")", "use http.healthy(url = \"https://x\")");
    let mut f = Fixture::new(&[("failover.drbook", &text), ("common.drbook", COMMON)]);
    let def = f.at("textDocument/definition", "http.healthy", 6);
    if def.is_null() {
        // No cache directory to write to (no HOME): said, not hidden.
        eprintln!("SKIPPED: no cache directory for the std/ copies");
        return;
    }
    let path =
        text::uri_path(&def["uri"].as_str().expect("uri").parse().expect("uri")).expect("path");
    assert!(path.ends_with("http.drbook"), "{}", path.display());
    let copy = std::fs::read_to_string(&path).expect("read the copy");
    assert_eq!(copy, crate::load::stdlib::get("http").expect("std/http"));
}

fn labels(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("completion list")
        .iter()
        .map(|i| i["label"].as_str().expect("label").to_string())
        .collect()
}

fn complete_after(f: &mut Fixture, text: &str, needle: &str) -> Vec<String> {
    f.edit(text);
    let at = f.text.find(needle).expect("needle") + needle.len();
    let p = text::Lines::new(&f.text).position(&f.text, at);
    labels(&f.ask(
        "textDocument/completion",
        json!({ "position": { "line": p.line, "character": p.character } }),
    ))
}

#[test]
fn completion_offers_what_fits_where_the_cursor_is() {
    let mut f = fixture();
    let needs = complete_after(&mut f, RUNBOOK, "needs    promote, ");
    assert!(
        needs.contains(&"freeze".to_string()) && !needs.contains(&"verify".to_string()),
        "{needs:?}"
    );
    assert!(!needs.contains(&"promote".to_string()), "already listed: {needs:?}");
    let roles = complete_after(&mut f, RUNBOOK, "approval { by ");
    assert_eq!(roles, vec!["incident_commander", "dba"]);
    let names = complete_after(&mut f, RUNBOOK, "promote --after ${");
    for n in ["region", "token", "steps", "run.id"] {
        assert!(names.contains(&n.to_string()), "{n}: {names:?}");
    }
    let steps = complete_after(&mut f, RUNBOOK, "promote --after ${steps.");
    assert_eq!(steps, vec!["freeze"], "only steps that capture");
    let caps = complete_after(&mut f, RUNBOOK, "promote --after ${steps.freeze.");
    assert_eq!(caps, vec!["lsn"]);
    let uses = complete_after(&mut f, RUNBOOK, "    use ");
    assert!(
        uses.contains(&"common.restart".to_string()) && uses.contains(&"http.healthy".to_string()),
        "{uses:?}"
    );
    let open = RUNBOOK.replace("(name = \"api\")", "(name = \"api\", ");
    let args = complete_after(&mut f, &open, "use common.restart(name = \"api\", ");
    assert_eq!(args, vec!["wait"]);
    let typed = RUNBOOK.replace("    manual   \"post", "    ret\n    manual   \"post");
    let kws = complete_after(&mut f, &typed, "    ret");
    assert!(kws.contains(&"retry".to_string()) && kws.contains(&"run".to_string()), "{kws:?}");
    assert!(!kws.contains(&"rto".to_string()), "a header keyword in a step: {kws:?}");
    let header = RUNBOOK.replace("  rto   30m\n", "  rto   30m\n  rp\n");
    let kws = complete_after(&mut f, &header, "  rp");
    assert!(kws.contains(&"rpo".to_string()) && kws.contains(&"step".to_string()), "{kws:?}");
}

#[test]
fn symbols_formatting_and_hints() {
    let mut f = fixture();
    let symbols = f.ask("textDocument/documentSymbol", json!({}));
    let children: Vec<&str> = symbols[0]["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(symbols[0]["name"], "failover");
    assert_eq!(
        children,
        ["region", "token", "incident_commander", "dba", "freeze", "promote", "notify", "verify"]
    );
    let edits = f.ask(
        "textDocument/formatting",
        json!({ "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let formatted = edits[0]["newText"].as_str().expect("formatting edit").to_string();
    f.edit(&formatted);
    let again = f.ask(
        "textDocument/formatting",
        json!({ "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(again, json!([]), "formatted text stays as it is");
    let hints = f.ask(
        "textDocument/inlayHint",
        json!({ "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 999, "character": 0 } } }),
    );
    let labels: Vec<&str> = hints
        .as_array()
        .expect("hints")
        .iter()
        .map(|h| h["label"].as_str().expect("label"))
        .collect();
    assert_eq!(labels[0], "estimated RTO 17m within budget 30m (slack 13m)", "{labels:?}");
    assert_eq!(labels[1], "starts +0s · critical path");
    assert_eq!(labels[2], "starts +5m · critical path");
    assert_eq!(labels[3], "starts +5m · slack 9m");
    assert_eq!(labels[4], "starts +15m · critical path");
}

#[test]
fn half_typed_text_is_answered_from_the_last_good_analysis() {
    let mut f = fixture();
    // An unclosed string: nothing parses; hover still knows the step.
    let broken = RUNBOOK.replace("manual   \"post on the status page\"", "manual   \"post on the");
    f.edit(&broken);
    let diags = f.diagnostics(&f.uri);
    assert!(diags.iter().any(|d| d["severity"] == 1), "{diags:?}");
    let h = hover(&mut f, "needs    promote", 9);
    assert!(h.contains("on the critical path"), "{h}");
    let needs = complete_after(&mut f, &broken, "needs    promote, ");
    assert!(needs.contains(&"freeze".to_string()), "{needs:?}");
}

#[test]
fn a_secret_value_never_reaches_an_answer() {
    // The value is in the environment of this process: no answer may contain it.
    let value = "s3cr3t-value-that-must-not-leak";
    let text = RUNBOOK.replace("env(\"DRBOOK_LSP_TEST_TOKEN\")", "env(\"PATH\")");
    let mut f = Fixture::new(&[("failover.drbook", &text), ("common.drbook", COMMON)]);
    let path_value = std::env::var("PATH").unwrap_or_default();
    let mut all = format!("{:?}", f.published);
    for (needle, plus) in [("${token}", 2), ("token = env", 0), ("step freeze", 5)] {
        all.push_str(&f.at("textDocument/hover", needle, plus).to_string());
    }
    all.push_str(&f.ask("textDocument/inlayHint", json!({ "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 999, "character": 0 } } })).to_string());
    assert!(!path_value.is_empty() && !all.contains(&path_value), "the secret's value leaked");
    assert!(!all.contains(value));
}

/// Every shipped runbook, library module and fixture.
fn corpus() -> Vec<(PathBuf, String)> {
    crate::testkit::corpus(&["runbooks", "stdlib", "tests/fixtures"])
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Every feature at a handful of offsets of `text`, called directly (no panic guard).
fn every_answer(path: &Path, text: &str, rng: &mut Rng) {
    let uri = text::path_uri(path).expect("uri");
    let a = analyse(&uri, text.into(), crate::model::Date::from_days(20_000));
    let _ = diagnostics::by_file(&a);
    let _ = navigate::symbols(&a);
    let _ = edits::format(text);
    if let Some(f) = &a.facts {
        let _ = hints::inlay(&a, f, 0, text.len());
    }
    for _ in 0..12 {
        let at = floor(text, rng.below(text.len() + 1));
        let _ = hover::hover(&a, a.facts.as_ref(), at);
        let _ = navigate::definition(&a, at);
        let _ = navigate::references(&a, at, true);
        let _ = complete::complete(&a, text, at);
        let _ = edits::code_actions(&a, at, at);
    }
}

#[test]
fn half_typed_and_mangled_files_never_crash_the_server() {
    let files = corpus();
    assert!(files.len() > 50, "the corpus shrank: {}", files.len());
    let mut rng = Rng(0x5eed_d00b);
    let mut cases = 0;
    for (path, text) in &files {
        let len = text.len();
        // Typing it out: prefixes.
        for k in 1..=6 {
            every_answer(path, &text[..floor(text, len * k / 7)], &mut rng);
            cases += 1;
        }
        // Editing it: a span deleted, a span duplicated, a brace or quote dropped in.
        for _ in 0..4 {
            let a = floor(text, rng.below(len + 1));
            let b = floor(text, (a + rng.below(40)).min(len));
            let deleted = format!("{}{}", &text[..a], &text[b..]);
            let doubled = format!("{}{}", &text[..b], &text[a..]);
            let junk =
                ["{", "}", "\"", "\"\"\"", "${", "(", ",", "\n", "needs ", "use x."][rng.below(10)];
            let inserted = format!("{}{junk}{}", &text[..a], &text[a..]);
            for t in [deleted, doubled, inserted] {
                every_answer(path, &t, &mut rng);
                cases += 1;
            }
        }
    }
    assert!(cases > 1000, "{cases}");
}

#[test]
fn every_fixture_gets_the_diagnostics_check_gives_it() {
    let today = crate::model::Date::from_days(20_000);
    let mut compared = 0;
    for (path, text) in corpus() {
        let mut loaded = crate::load::load_path(&path).expect("load");
        let opts = crate::check::Options {
            today,
            params: Vec::new(),
            require_params: false,
            strict: false,
        };
        let checked = crate::check::check(&mut loaded, &opts);
        let expected: Vec<(String, u32, u32)> = checked
            .diags
            .iter()
            .filter(|d| d.span.file.0 == 0)
            .map(|d| {
                let (line, col) = loaded.sources.get(d.span.file).line_col(index::span(d.span).0);
                (d.code.to_string(), line as u32 - 1, col as u32 - 1)
            })
            .collect();
        let uri = text::path_uri(&std::fs::canonicalize(&path).expect("canon")).expect("uri");
        let a = analyse(&uri, text.as_str().into(), today);
        let lists = diagnostics::by_file(&a);
        let got: Vec<(String, u32, u32)> = lists[0]
            .1
            .iter()
            .filter(|d| !d.message.starts_with("in `"))
            .map(|d| {
                let code = match &d.code {
                    Some(lsp_types::NumberOrString::String(c)) => c.clone(),
                    other => panic!("{other:?}"),
                };
                // Columns: characters for check, UTF-16 units for the protocol (the same here
                // but for astral characters, which the fixtures' diagnostics do not follow).
                (code, d.range.start.line, d.range.start.character)
            })
            .collect();
        assert_eq!(got, expected, "{}", path.display());
        compared += usize::from(!expected.is_empty());
    }
    assert!(compared > 40, "only {compared} files with diagnostics");
}
