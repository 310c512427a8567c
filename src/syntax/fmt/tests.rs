//! Formatter tests: the contract example, exact output for a messy input, and the round-trip
//! properties (same tree, idempotent, every comment kept) over inputs that use every construct.

use super::format;
use crate::diag::FileId;
use crate::syntax::ast::*;
use crate::syntax::{parse, Parsed};

fn parse_ok(src: &str) -> Parsed {
    let (parsed, diags) = parse(src, FileId(0));
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}\n--- source ---\n{src}");
    parsed.expect("parsed")
}

fn fmt(src: &str) -> String {
    format(src, &parse_ok(src))
}

/// Formats `src` and checks the contract: the output parses to the same tree, keeps every
/// comment, formats to itself, and has no trailing spaces outside strings.
fn round_trip(src: &str) -> String {
    let before = parse_ok(src);
    let out = format(src, &before);
    let after = parse_ok(&out);
    assert_eq!(without_layout(&after.file), without_layout(&before.file), "tree changed:\n{out}");
    assert_eq!(after.comments.len(), before.comments.len(), "comments lost; output:\n{out}");
    assert_eq!(format(&out, &after), out, "not idempotent; first output:\n{out}");
    assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "must end with one newline:\n{out}");
    assert!(!out.contains("\n\n\n"), "two blank lines in a row:\n{out}");
    // None of the inputs has trailing blanks inside a string, the only place they may stay.
    assert!(!out.lines().any(|l| l.ends_with([' ', '\t'])), "trailing blanks:\n{out}");
    out
}

/// The tree with every `Block::one_line` cleared: the formatter may break a one-line block
/// that no longer fits, and closes an empty one on its line.
fn without_layout(f: &File) -> File {
    fn action(a: &mut Action) {
        match &mut a.kind {
            ActionKind::Http { options: Some(b), .. } => b.one_line = false,
            ActionKind::SsmCommand { options: Some(b), .. }
            | ActionKind::SsmAutomation { options: Some(b), .. } => {
                b.one_line = false;
                for item in &mut b.items {
                    match item {
                        SsmItem::Targets(t) => t.one_line = false,
                        SsmItem::Parameters(p) => p.one_line = false,
                        SsmItem::Attr(..) => {}
                    }
                }
            }
            _ => {}
        }
    }
    fn steps(items: &mut [StepItem]) {
        for item in items {
            match &mut item.kind {
                StepKind::Approval(b) => b.one_line = false,
                StepKind::Env(b) => b.one_line = false,
                StepKind::Action(a) | StepKind::Verify(a) => action(a),
                StepKind::Rollback(Rollback::Action(a)) => action(a),
                StepKind::Rollback(Rollback::Block(b)) => {
                    b.one_line = false;
                    b.items.iter_mut().for_each(|r| {
                        if let RollbackItem::Action(a) = r {
                            action(a)
                        }
                    });
                }
                _ => {}
            }
        }
    }
    let mut f = f.clone();
    for item in &mut f.items {
        match item {
            Item::Runbook(r) => {
                for h in &mut r.items {
                    match &mut h.kind {
                        HeaderKind::Roles(b) | HeaderKind::Env(b) => b.one_line = false,
                        HeaderKind::Drills(b) => b.one_line = false,
                        HeaderKind::Impact(b) => b.one_line = false,
                        HeaderKind::Objectives(b) => {
                            b.one_line = false;
                            b.items.iter_mut().for_each(|x| x.settings.one_line = false);
                        }
                        HeaderKind::Step(s) => steps(&mut s.items),
                        _ => {}
                    }
                }
            }
            Item::Template(t) => steps(&mut t.items),
            Item::Import(_) => {}
        }
    }
    f
}

const EXAMPLE: &str = include_str!("../../../tests/fixtures/ok/language-example.drbook");

#[test]
fn contract_example_round_trips_and_changes_little() {
    let out = round_trip(EXAMPLE);
    assert_eq!(parse_ok(&out).file, parse_ok(EXAMPLE).file, "every block keeps its layout");
    // Only trailing-comment spacing and the padding of `retry` differ from the hand layout.
    let squeeze = |s: &str| -> Vec<String> {
        s.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
    };
    assert_eq!(squeeze(&out), squeeze(EXAMPLE));
    let changed: Vec<&str> =
        out.lines().zip(EXAMPLE.lines()).filter(|(a, b)| a != b).map(|p| p.0).collect();
    assert!(
        changed.iter().all(|l| l.contains("  # ") || l.trim_start().starts_with("retry")),
        "{changed:#?}"
    );
    assert!(out.contains("    retry    3 every 30s\n"));
    assert!(
        out.contains("import \"std/http\"  # bundled library module, used as http.<template>\n")
    );
    assert!(out.contains("      by      oncall_lead, eng_manager  # two distinct people"));
    assert!(out.contains("      targets    { tag \"Role\" = \"api\" }\n"));
    assert!(out.contains("    run \"\"\"\n      terraform init -input=false\n"));
}

#[test]
fn messy_input_formats_exactly() {
    let src = r#"# header comment


import "./common.drbook" as common
import "std/http"
runbook "messy" {

      title "Messy"   # the title
  owner "team"; rto 1h
  description """
        line one
          indented

        line three
  """



  param b = 1
      param longer_name = "x"
  param hosts = [
    "a",   # first host
    "b",
  ]
  param t:duration=5m

  param c = true
  secret s = env("S")
  secret other_secret = file(
    "f"
  )
  roles { lead = ["a", "b"]; mgr = ["c"] }
  step a {
  run "echo a"
  }
  step b "B" {
    needs a,b2
    duration 1m; timeout 2m  # limits
    approval { by lead, mgr; timeout 15m }
    env {
      "X-KEY" = "1"


      Y = "2"   # why
    }
    check (x<3)&&! y
    when  !(p == "x" || q != 1)
    rollback {run "undo"; timeout 5m}
    run "true"
    # comment before close

  }  # after step b
  # comment at end of runbook
}
# trailing file comment
"#;
    let expected = r#"# header comment

import "./common.drbook" as common
import "std/http"

runbook "messy" {
  title       "Messy"  # the title
  owner       "team"
  rto         1h
  description """
    line one
      indented

    line three
  """

  param b           = 1
  param longer_name = "x"
  # first host
  param hosts       = ["a", "b"]
  param t: duration = 5m

  param c = true
  secret s            = env("S")
  secret other_secret = file("f")
  roles { lead = ["a", "b"]; mgr = ["c"] }

  step a {
    run "echo a"
  }

  step b "B" {
    needs    a, b2
    duration 1m
    timeout  2m  # limits
    approval { by lead, mgr; timeout 15m }
    env {
      "X-KEY" = "1"

      Y = "2"  # why
    }
    check    (x < 3) && !y
    when     !(p == "x" || q != 1)
    rollback { run "undo"; timeout 5m }
    run      "true"
    # comment before close
  }  # after step b
  # comment at end of runbook
}
# trailing file comment
"#;
    assert_eq!(fmt(src), expected);
    round_trip(src);
}

const MODULE: &str = r#"
import "std/http"
import "./lib.drbook" as lib
# A reusable probe.
template healthy(url, attempts = 3, every = 10s) {
  http GET "${url}" { status [200, 204]; body_contains "ok" }
  retry ${attempts} every ${every} backoff exponential
  idempotent
}
template long_params(first_parameter_name = "some default value", second_parameter = "another default value") {
  wait 1m
}
template empty() {}
"#;

const ACTIONS: &str = r#"runbook "all-actions" {
  title "Every construct"
  owner "ops"
  param region: string
  param count: number = 3
  param ids: list = ["i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2", "i-0123456789abcdef3"]
  secret token = env("TOKEN")
  roles {
    lead = ["alice"]
  }
  step probe "Probe" {
    http POST "https://x.example.com/${region}" {
      header "Authorization" = "Bearer ${token}"
      body """
        {"a": 1}
      """
      status 200..299
      body_contains "ok"
    }
    capture version from json "a.b[0].c"
    capture code from regex "v(\d+)"
    check version == "1" && (code >= 2 || !ready)
    when !skip
    on_failure continue
  }
  step cmd {
    needs probe
    ssm command "AWS-RunShellScript" {
      targets {
        tag "Role" = "api"   # only the API fleet
        tag "Env" = "prod"
      }
      parameters { commands = ["a", "b"] }
      instances ["i-1", "i-2"]
      max_concurrency "50%"
      max_errors "0"
      comment "restart"
    }
    rollback {
      ssm automation "AWS-RestartEC2Instance" { parameters { InstanceId = "i-1" } }
      timeout 5m
    }
  }
  step put {
    needs cmd
    ssm put "/app/active" = "${region}" secure
    rollback ssm put "/app/active" = "us-east-1"
  }
  step pause {
    wait 30s
  }
  step gate {
    approval {
      by lead
    }
    manual "Check the dashboard"
  }
  step tell {
    notify "https://hooks.example.com/x" "done in ${region}"
    env { A = "1" }
    workdir "."
    run "echo ${steps.probe.version}"
    capture out from stdout
    measure rpo from out
  }
  step reuse {
    use lib.very_long_template_name(first_argument = "a fairly long string value", second_argument = ["x", "y"], third = 10s)
    use http.healthy(url = "https://api.example.com/health")
    retry 2
  }
}
"#;

#[test]
fn every_construct_round_trips() {
    let out = round_trip(MODULE);
    assert!(out.starts_with("import \"std/http\"\nimport \"./lib.drbook\" as lib\n\n# A reusable probe.\ntemplate healthy"));
    assert!(out.contains("  http GET \"${url}\" { status [200, 204]; body_contains \"ok\" }\n"));
    assert!(out.contains("  retry ${attempts} every ${every} backoff exponential\n"));
    assert!(out.contains(
        "template long_params(\n  first_parameter_name = \"some default value\",\n  second_parameter = \"another default value\",\n) {\n"
    ));
    assert!(out.ends_with("\ntemplate empty() {}\n"));

    let out = round_trip(ACTIONS);
    assert!(out.contains("  param ids: list = [\n    \"i-0123456789abcdef0\",\n"), "{out}");
    assert!(
        out.contains("      body          \"\"\"\n        {\"a\": 1}\n      \"\"\"\n"),
        "{out}"
    );
    assert!(out.contains("      tag \"Role\" = \"api\"  # only the API fleet\n"), "{out}");
    assert!(out.contains("      parameters { commands = [\"a\", \"b\"] }\n"), "{out}");
    assert!(out.contains("      max_concurrency \"50%\"\n"), "{out}");
    assert!(out.contains("    check      version == \"1\" && (code >= 2 || !ready)\n"), "{out}");
    assert!(out.contains("    approval {\n      by lead\n    }\n"), "{out}");
    assert!(out.contains(
        "    use   lib.very_long_template_name(\n      first_argument = \"a fairly long string value\",\n      second_argument = [\"x\", \"y\"],\n      third = 10s,\n    )\n"
    ), "{out}");
    assert!(
        out.contains("    use   http.healthy(url = \"https://api.example.com/health\")\n"),
        "{out}"
    );
    assert!(!out.lines().any(|l| l.ends_with(' ')), "{out}");
}

#[test]
fn one_line_blocks_break_when_too_long_and_empty_blocks_close_at_once() {
    let src = "runbook \"r\" {\n  step s {\n    approval { by first_role_with_a_rather_long_name, second_role_with_a_rather_long_name; timeout 15m }\n    env {\n    }\n  }\n}\n";
    let out = round_trip(src);
    assert_eq!(
        out,
        "runbook \"r\" {\n  step s {\n    approval {\n      by      first_role_with_a_rather_long_name, second_role_with_a_rather_long_name\n      timeout 15m\n    }\n    env {}\n  }\n}\n"
    );
}

#[test]
fn comments_are_kept_wherever_they_stand() {
    let src = "# a\nimport \"std/http\" # b\n# c\n\n# d\nrunbook \"r\" { # e\n  # f\n  step s { # g\n    use http.healthy(\n      url = \"u\", # h\n    ) # i\n    # j\n  } # k\n  # l\n} # m\n# n\n";
    let out = round_trip(src);
    assert_eq!(
        out,
        "# a\nimport \"std/http\"  # b\n# c\n\n# d\nrunbook \"r\" {  # e\n  # f\n  step s {  # g\n    # h\n    use http.healthy(url = \"u\")  # i\n    # j\n  }  # k\n  # l\n}  # m\n# n\n"
    );
}

#[test]
fn triple_strings_keep_their_content() {
    let src = "runbook \"r\" {\n  step s {\n    run \"\"\"echo a\n          echo b\n\t\"\"\"\n    manual \"\"\"\n\n        first\n\n          second\n    \"\"\"\n  }\n}\n";
    let out = round_trip(src);
    // The first line has no indentation, so the second keeps all of its own.
    assert!(
        out.contains("    run \"\"\"\n      echo a\n                echo b\n    \"\"\"\n"),
        "{out}"
    );
    assert!(
        out.contains("    manual \"\"\"\n\n      first\n\n        second\n    \"\"\"\n"),
        "{out}"
    );
}

#[test]
fn odd_layouts_round_trip() {
    let cases = [
        "template t(\n  a, # about a\n  b = [1,\n  2], # about b\n) { # open\n  wait ${a}\n}\n",
        "runbook \"r\" {\n  step a { owner \"x\"  # on the open line\n run \"y\" }\n  # between\n\n\n  # second group\n\n  step b { needs [a,\n a] ; run \"z\" ; idempotent # trailing\n }\n}\n",
        "runbook \"r\" {\n  # first\n\n  title \"t\"\n}\r\n",
        "runbook \"r\" {\r\n  param x = [[1, 2], [3]]  # nested\r\n  title \"t\"\r\n}\r\n",
        "runbook \"r\" {\n  secret s = env( # why\n \"X\"\n )\n  step a {\n    when (\n a && b # c1\n) || !(c)\n    rollback { http GET \"u\" { status 200 }; timeout 1m }\n  }\n}\n",
        "# only\n# comments\n",
        "runbook \"r\" {\n}\n",
        "runbook \"r\" {\n  step a \"t\" {\n  }\n  step b {}\n}\n",
    ];
    for c in cases {
        round_trip(c);
    }
    assert_eq!(
        round_trip(cases[0]),
        "# about a\n# about b\ntemplate t(a, b = [1, 2]) {  # open\n  wait ${a}\n}\n"
    );
    assert_eq!(
        round_trip(cases[1]),
        "runbook \"r\" {\n  step a {\n    owner \"x\"  # on the open line\n    run   \"y\"\n  }\n  # between\n\n  # second group\n\n  step b {\n    needs a, a\n    run   \"z\"\n    idempotent  # trailing\n  }\n}\n"
    );
    assert_eq!(round_trip(cases[7]), "runbook \"r\" {\n  step a \"t\" {}\n\n  step b {}\n}\n");
}

/// Every `.drbook` file of the repository that parses cleanly.
fn bundled_files() -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["runbooks", "stdlib", "tests/fixtures/ok"] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else { continue };
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_some_and(|e| e == "drbook") {
                let src = std::fs::read_to_string(&path).expect("readable fixture");
                if parse(&src, FileId(0)).1.is_empty() {
                    files.push(src);
                }
            }
        }
    }
    files
}

#[test]
fn bundled_and_example_runbooks_round_trip() {
    for src in bundled_files() {
        round_trip(&src);
    }
}

/// Re-indents lines, adds blank lines, own-line and trailing comments, and joins statements
/// with `;`, outside `"""` strings, following a fixed pseudo-random sequence.
fn perturb(src: &str, seed: u64) -> String {
    let mut out = String::new();
    let mut in_triple = false;
    let mut rng = seed;
    for line in src.lines() {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let was_in_triple = in_triple;
        in_triple ^= line.matches("\"\"\"").count() % 2 == 1;
        if was_in_triple || in_triple {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let body = match (rng >> 33) % 8 {
            1 => line.trim_start().to_string(),
            2 => format!("      {}", line.trim_start()),
            3 if !line.contains('#') && !line.trim().is_empty() => format!("{line}   # added"),
            4 => format!("{line}\n\n"),
            5 => format!("{line}\n    # own line"),
            6 if !line.contains(['#', '{', '}']) && !line.trim().is_empty() => format!("{line}; "),
            _ => line.to_string(),
        };
        out.push_str(&body);
        if !body.ends_with("; ") {
            out.push('\n');
        }
    }
    out
}

#[test]
fn perturbed_runbooks_round_trip() {
    let (mut tried, mut parsed) = (0, 0);
    for src in bundled_files() {
        for seed in 0..8 {
            let messy = perturb(&src, seed);
            tried += 1;
            if parse(&messy, FileId(0)).1.is_empty() {
                parsed += 1;
                round_trip(&messy);
            }
        }
    }
    assert!(parsed * 2 > tried, "most perturbations must stay valid: {parsed} of {tried}");
}

#[test]
fn verify_aligns_like_an_attribute_and_its_action_is_laid_out_as_one() {
    let src = r#"runbook "v" {
  step promote {
    run "pg_ctl promote -D /srv/pg/replica -w"
    verify run "psql -Atc 'select not pg_is_in_recovery()' | grep -qx t"
    rollback run "pg_ctl stop"
  }
  step route {
    verify http GET "https://lb/x" {status 200; body_contains "replica"}
  }
}
"#;
    let out = round_trip(src);
    assert!(
        out.contains(concat!(
            "    run    \"pg_ctl promote -D /srv/pg/replica -w\"\n",
            "    verify run \"psql -Atc 'select not pg_is_in_recovery()' | grep -qx t\"\n",
            "    rollback run \"pg_ctl stop\"\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(
            "    verify http GET \"https://lb/x\" { status 200; body_contains \"replica\" }\n"
        ),
        "{out}"
    );
}

#[test]
fn retry_in_a_rollback_block_aligns_with_its_neighbours() {
    let src = "runbook \"r\" {\n  step s {\n    run \"x\"\n    rollback {\n      run \"y\"\n      retry 3 every 10s backoff exponential\n      timeout 2m\n    }\n  }\n}\n";
    let out = round_trip(src);
    assert!(
        out.contains(concat!(
            "    rollback {\n",
            "      run     \"y\"\n",
            "      retry   3 every 10s backoff exponential\n",
            "      timeout 2m\n",
            "    }\n"
        )),
        "{out}"
    );
}

#[test]
fn drill_language_formats_canonically() {
    let src = "runbook \"d\" {\n  owner \"ops\"\n  notify_drills   hook\n  drills {\n  tabletop every 30d\n      component   every 7d # weekly\n    full every 365d\n  }\n  step a {\n    safe\n    run \"pg_isready\"\n  }\n}\n";
    let expected = "runbook \"d\" {\n  owner         \"ops\"\n  notify_drills hook\n  drills {\n    tabletop  every 30d\n    component every 7d  # weekly\n    full      every 365d\n  }\n\n  step a {\n    safe\n    run \"pg_isready\"\n  }\n}\n";
    assert_eq!(fmt(src), expected);
    round_trip(src);
    let one_line = "runbook \"d\" {\n  drills { component every 7d; full every 365d }\n}\n";
    assert_eq!(fmt(one_line), one_line);
    round_trip(one_line);
    let url =
        "runbook \"d\" {\n  notify_drills \"https://hooks.example.com/${env}/x\"\n  drills {}\n}\n";
    assert_eq!(fmt(url), url);
    round_trip(url);
}

#[test]
fn trigger_block_formats_canonically() {
    let src = "runbook \"t\" {\n  trigger {\n  probe primary http GET \"https://x/health\"   # the API\n      probe db timeout 5s run \"pg_isready\"\n  every 30s\n    failures   3\n  quorum 2   of 2\n  rpo_gate lag\n  requires approval { by lead; timeout 15m }\n  params {\n  ticket = \"AUTO-${trigger.fired_at}\"\n  }\n  notify hook\n  }\n}\n";
    let expected = "runbook \"t\" {\n  trigger {\n    probe primary http GET \"https://x/health\"  # the API\n    probe db      timeout 5s run \"pg_isready\"\n    every    30s\n    failures 3\n    quorum   2 of 2\n    rpo_gate lag\n    requires approval { by lead; timeout 15m }\n    params {\n      ticket = \"AUTO-${trigger.fired_at}\"\n    }\n    notify   hook\n  }\n}\n";
    assert_eq!(fmt(src), expected);
    round_trip(src);
    let one_line = "runbook \"t\" {\n  trigger { probe a run \"true\"; requires auto }\n}\n";
    assert_eq!(fmt(one_line), one_line);
    round_trip(one_line);
    round_trip(include_str!("../../../tests/fixtures/ok/trigger.drbook"));
}

#[test]
fn objectives_impact_and_restores_format_canonically() {
    let src = "runbook \"o\" {\n  rto 1h\n  objectives {\n  service \"api-gateway\" {\n    rto 15m\n  rpo 0s\n      tier critical\n  }\n    service   \"user-service\" { rto 30m; rpo 5m }  # the users\n  }\n  impact { hourly_revenue 50000; transactions_per_hour 5000\n  regulatory strict # the law\n  customer_impact critical\n    data_recreation_cost 500000.5 }\n  step a {\n    run \"true\"\n  restores   \"api-gateway\",\"user-service\"\n  }\n}\n";
    let expected = "runbook \"o\" {\n  rto 1h\n  objectives {\n    service \"api-gateway\" { rto 15m; rpo 0s; tier critical }\n    service \"user-service\" { rto 30m; rpo 5m }  # the users\n  }\n  impact {\n    hourly_revenue        50000\n    transactions_per_hour 5000\n    regulatory            strict  # the law\n    customer_impact       critical\n    data_recreation_cost  500000.5\n  }\n\n  step a {\n    run      \"true\"\n    restores \"api-gateway\", \"user-service\"\n  }\n}\n";
    assert_eq!(round_trip(src), expected);
    // A comment inside a service keeps it on several lines; an empty block closes at once.
    let commented = "runbook \"o\" {\n  objectives {\n    service \"api\" {\n      rto 15m  # tight\n      rpo 0s\n    }\n  }\n  impact {}\n}\n";
    assert_eq!(round_trip(commented), commented);
    round_trip(include_str!("../../../tests/fixtures/ok/objectives.drbook"));
}
