//! Table tests of the drill language: `safe`, `drills { }` and `notify_drills`, their model
//! and every error they can cause (code and span).

use super::{check, Options};
use crate::check::tests::checked;
use crate::load::load_text;
use crate::model::{Date, DrillCadence, DrillKind, Part, Ref};

/// The errors as (code, the source text the span covers).
fn found(src: &str) -> Vec<(&'static str, String)> {
    checked(src)
        .diags
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| (d.code, src[d.span.start as usize..d.span.end as usize].to_string()))
        .collect()
}

/// A runbook whose header holds `header` and whose one step `a` has `body`.
fn runbook(header: &str, body: &str) -> String {
    format!(
        "runbook \"t\" {{\n  owner \"o\"\n  rto 1h\n  secret hook = env(\"HOOK\")\n  param env_name = \"prod\"\n{header}\n  step a {{\n    duration 1m\n    {body}\n  }}\n}}\n"
    )
}

#[test]
fn safe_and_drills_reach_the_model() {
    let src = runbook(
        "  drills {\n    component every 7d\n    tabletop every 30d\n  }\n  notify_drills hook",
        "safe\n    run \"pg_isready\"",
    );
    let c = checked(&src);
    assert_eq!(c.errors(), 0, "{:#?}", c.diags);
    let rb = c.runbook.expect("a runbook");
    assert!(rb.steps[0].safe && rb.steps[0].drill_safe());
    let day = 86_400_000;
    assert_eq!(
        rb.drills,
        vec![
            DrillCadence { kind: DrillKind::Component, every: 7 * day },
            DrillCadence { kind: DrillKind::Tabletop, every: 30 * day },
        ]
    );
    assert_eq!(
        rb.notify_drills.expect("a target").parts,
        vec![Part::Ref(Ref::Secret("hook".into()))]
    );
}

#[test]
fn notify_drills_may_be_a_string_with_params_and_secrets() {
    let src = runbook(
        "  notify_drills \"https://hooks.example.com/${env_name}/${hook}\"",
        "run \"true\"\n    idempotent",
    );
    let c = checked(&src);
    assert!(c.diags.is_empty(), "{:#?}", c.diags);
    let parts = c.runbook.expect("a runbook").notify_drills.expect("a target").parts;
    assert_eq!(
        parts,
        vec![
            Part::Lit("https://hooks.example.com/".into()),
            Part::Ref(Ref::Param("env_name".into())),
            Part::Lit("/".into()),
            Part::Ref(Ref::Secret("hook".into())),
        ]
    );
}

#[test]
fn a_step_without_safe_is_not_safe() {
    let c = checked(&runbook("", "run \"true\"\n    idempotent"));
    let rb = c.runbook.expect("a runbook");
    assert!(!rb.steps[0].safe);
    assert!(rb.drills.is_empty() && rb.notify_drills.is_none());
}

#[test]
fn safe_in_a_template_body_marks_the_step() {
    let module = "template probe(url) {\n  safe\n  run \"curl -fsS ${url}\"\n}\n";
    let dir = std::env::temp_dir().join(format!("drbook-safe-tpl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("probes.drbook"), module).expect("module");
    let src = "import \"./probes.drbook\"\nrunbook \"t\" {\n  owner \"o\"\n  rto 1h\n  step a {\n    duration 1m\n    use probes.probe(url = \"https://x\")\n  }\n}\n";
    let path = dir.join("t.drbook");
    let mut loaded = load_text(path.to_str().expect("utf-8 path"), Some(path.clone()), src.into());
    let opts = Options {
        today: Date { year: 2026, month: 11, day: 23 },
        params: Vec::new(),
        require_params: false,
        strict: false,
    };
    let c = check(&mut loaded, &opts);
    std::fs::remove_dir_all(&dir).ok();
    assert!(c.diags.is_empty(), "{:#?}", c.diags);
    assert!(c.runbook.expect("a runbook").steps[0].safe);
}

#[test]
fn a_safe_step_with_side_effects_by_construction_is_an_error() {
    let code = "drbook::check::unsafe_safe_step";
    let table: &[(&str, Option<&str>)] = &[
        ("notify \"${hook}\" \"hi\"", Some("notify \"${hook}\" \"hi\"")),
        ("ssm put \"/dr/active\" = \"west\"", Some("ssm put \"/dr/active\" = \"west\"")),
        ("http POST \"https://x/failover\"", Some("http POST \"https://x/failover\"")),
        ("http delete \"https://x/cache\"", Some("http delete \"https://x/cache\"")),
        ("http GET \"https://x/health\"", None),
        ("http head \"https://x/health\"", None),
        ("run \"pg_isready\"", None),
        ("manual \"look at the dashboard\"", None),
    ];
    for (action, bad) in table {
        let src = runbook("", &format!("safe\n    {action}"));
        let hits: Vec<String> =
            found(&src).into_iter().filter(|(c, _)| *c == code).map(|(_, t)| t).collect();
        assert_eq!(hits, bad.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{action}");
    }
    // Without `safe` the same actions are fine (the no-way-back lint aside).
    let plain = runbook("", "notify \"${hook}\" \"hi\"\n    idempotent");
    assert!(found(&plain).is_empty(), "{:?}", found(&plain));
}

#[test]
fn a_safe_step_with_a_rollback_is_an_error() {
    let src = runbook("", "safe\n    run \"true\"\n    rollback run \"false\"");
    assert_eq!(
        found(&src),
        vec![("drbook::check::safe_rollback", "rollback run \"false\"".into())]
    );
}

#[test]
fn a_safe_step_is_not_asked_for_a_way_back() {
    let src = runbook("", "safe\n    run \"pg_isready\"");
    assert!(found(&src).is_empty(), "{:?}", found(&src));
}

#[test]
fn drills_block_errors() {
    let table: &[(&str, &str, &str)] = &[
        (
            "drills {\n    tabletopp every 30d\n  }",
            "drbook::check::unknown_drill_type",
            "tabletopp",
        ),
        (
            "drills {\n    full every 365d\n    full every 30d\n  }",
            "drbook::check::duplicate_drill",
            "full every 30d",
        ),
        ("drills {\n    full every 0s\n  }", "drbook::check::zero_drill_interval", "0s"),
        ("drills {\n    full every 0\n  }", "drbook::check::zero_drill_interval", "0"),
        ("drills {\n    full every yearly\n  }", "drbook::check::bad_value", "yearly"),
        ("drills {\n    full every \"1y\"\n  }", "drbook::check::bad_value", "\"1y\""),
        (
            "drills {\n    full every 365d\n  }\n  drills { tabletop every 30d }",
            "drbook::check::duplicate_attribute",
            "drills { tabletop every 30d }",
        ),
    ];
    for (header, code, at) in table {
        let src = runbook(&format!("  {header}"), "run \"true\"\n    idempotent");
        assert_eq!(found(&src), vec![(*code, at.to_string())], "{header}");
    }
}

#[test]
fn an_unknown_drill_type_suggests_the_nearest() {
    let src = runbook("  drills { componnet every 7d }", "run \"true\"\n    idempotent");
    let d: Vec<_> = checked(&src).diags.into_iter().filter(|d| d.is_error()).collect();
    assert_eq!(d.len(), 1);
    assert!(d[0].help.as_deref().unwrap_or("").contains("component"), "{:?}", d[0].help);
}

#[test]
fn notify_drills_errors() {
    let table: &[(&str, &str, &str)] = &[
        ("notify_drills hok", "drbook::check::unknown_secret", "hok"),
        ("notify_drills 42", "drbook::check::bad_value", "42"),
        ("notify_drills \"https://x/${nope}\"", "drbook::check::unknown_name", "nope"),
        (
            "notify_drills \"https://x/${steps.a.out}\"",
            "drbook::check::header_capture",
            "steps.a.out",
        ),
        (
            "notify_drills hook\n  notify_drills hook",
            "drbook::check::duplicate_attribute",
            "notify_drills hook",
        ),
    ];
    for (header, code, at) in table {
        let src = runbook(&format!("  {header}"), "run \"true\"\n    idempotent");
        let f = found(&src);
        assert_eq!(f.len(), 1, "{header}: {f:?}");
        assert_eq!(f[0].0, *code, "{header}");
        assert!(f[0].1.contains(at), "{header}: {:?}", f[0].1);
    }
    let d: Vec<_> = checked(&runbook("  notify_drills hok", "run \"true\"\n    idempotent"))
        .diags
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(d[0].help.as_deref().unwrap_or("").contains("hook"), "{:?}", d[0].help);
    let d: Vec<_> = checked(&runbook("  notify_drills env_name", "run \"true\"\n    idempotent"))
        .diags
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    assert_eq!(
        d[0].help.as_deref(),
        Some("`env_name` is a param: write `notify_drills \"${env_name}\"`")
    );
}
