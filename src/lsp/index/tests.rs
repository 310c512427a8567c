use super::*;
use crate::diag::FileId;

fn index(text: &str) -> Index {
    let (parsed, diags) = crate::syntax::parse(text, FileId(0));
    assert!(diags.is_empty(), "{diags:?}");
    Index::build(text, &parsed.expect("parses").file)
}

fn sym_at(ix: &Index, text: &str, needle: &str, plus: usize) -> Option<Sym> {
    let at = text.find(needle).expect("needle") + plus;
    ix.at(at).map(|o| o.sym.clone())
}

const RB: &str = r#"import "std/http"
runbook "r" {
  owner "o"
  rto 10m
  param region = "eu"
  secret token = env("TOKEN")
  roles { lead = ["ann"] }
  step a "First" {
    owner "x"
    duration 2m
    run "echo ${region} ${token}"
    capture out from stdout
    check out == "ok"
  }
  step b {
    needs a
    duration 1m
    approval { by lead }
    run "echo ${steps.a.out}"
    use http.healthy(url = "https://x")
  }
}
"#;

#[test]
fn every_kind_of_name_is_found_where_it_is_written() {
    let ix = index(RB);
    assert_eq!(sym_at(&ix, RB, "needs a", 6), Some(Sym::Step("a".into())));
    assert_eq!(sym_at(&ix, RB, "${region}", 2), Some(Sym::Name("region".into())));
    assert_eq!(sym_at(&ix, RB, "${token}", 4), Some(Sym::Name("token".into())));
    assert_eq!(sym_at(&ix, RB, "check out", 6), Some(Sym::Capture("a".into(), "out".into())));
    assert_eq!(sym_at(&ix, RB, "steps.a.out", 6), Some(Sym::Step("a".into())));
    assert_eq!(sym_at(&ix, RB, "steps.a.out", 9), Some(Sym::Capture("a".into(), "out".into())));
    assert_eq!(sym_at(&ix, RB, "by lead", 4), Some(Sym::Role("lead".into())));
    assert_eq!(sym_at(&ix, RB, "http.healthy", 7), Some(Sym::Use("http".into(), "healthy".into())));
    assert_eq!(sym_at(&ix, RB, "duration 2m", 10), Some(Sym::Duration(120_000)));
    assert_eq!(ix.imports[0].alias, "http");
    assert_eq!(ix.steps.len(), 2);
    assert_eq!(ix.steps[0].title.as_deref(), Some("First"));
    assert_eq!(ix.steps[0].owner.as_deref(), Some("x"));
    assert_eq!(ix.steps[0].duration_ms, Some(120_000));
    let secret = ix.name("token").expect("secret");
    assert_eq!((secret.kind, secret.ty.as_deref()), ("secret", Some("env")));
}

#[test]
fn declarations_and_uses_are_told_apart() {
    let ix = index(RB);
    let a = Sym::Step("a".into());
    let all: Vec<&Occ> = ix.occurrences(&a).collect();
    assert!(all[0].def, "the declaration comes first");
    assert_eq!(&RB[all[0].start..all[0].end], "a");
    assert_eq!(all.iter().filter(|o| !o.def).count(), 2, "needs a, ${{steps.a.out}}");
}

#[test]
fn a_template_has_its_parameters_and_doc_comment() {
    let text = "# Restarts one thing.\n# Safe to repeat.\ntemplate restart(name, wait = 30s) {\n  run \"systemctl restart ${name}\"\n}\n";
    let ix = index(text);
    let t = &ix.templates[0];
    assert_eq!(t.name, "restart");
    assert_eq!(t.params, vec![("name".into(), None), ("wait".into(), Some("30s".into()))]);
    assert_eq!(t.doc, "Restarts one thing.\nSafe to repeat.");
    assert_eq!(
        sym_at(&ix, text, "${name}", 3),
        Some(Sym::TemplateParam("restart".into(), "name".into()))
    );
}

#[test]
fn a_bundled_module_documents_its_templates_in_its_header() {
    let text = crate::load::stdlib::get("http").expect("std/http");
    let ix = index(text);
    let healthy = ix.templates.iter().find(|t| t.name == "healthy").expect("healthy");
    assert!(healthy.doc.starts_with("healthy(url, attempts = 30, every = 10s)"), "{}", healthy.doc);
    assert!(healthy.doc.contains("until it answers 2xx"), "{}", healthy.doc);
}
