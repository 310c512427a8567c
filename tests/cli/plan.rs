//! `drbook plan`: golden output in every format, the JSON document's fields, params.

use crate::{crate_root, golden, json, report, stem, Output, Test, TODAY};
use serde_json::Value;

/// Runbooks with golden plans, and the params each needs.
const PLANS: &[&str] = &[
    "tests/fixtures/ok/language-example.drbook",
    "tests/fixtures/ok/actions.drbook",
    "tests/fixtures/ok/params-secrets.drbook",
    "tests/fixtures/ok/imports.drbook",
    "tests/fixtures/warn/over-budget.drbook",
    "tests/fixtures/ok/drills.drbook",
    "tests/fixtures/ok/trigger.drbook",
];

/// The `--param`s `plan` needs for `path` (relative to the crate root): chosen values for the
/// golden fixtures, and for every other required param a value of its declared type.
pub fn plan_params(path: &str) -> Vec<String> {
    let chosen: &[&str] = match stem(path).as_str() {
        "language-example" | "trigger" => &["change_ticket=CHG-1234"],
        "params-secrets" => {
            &["ticket=INC-7; rm -rf /", "window=20m", "force=true", "batch=5", "zones=a,b"]
        }
        _ => &[],
    };
    let mut params: Vec<String> = chosen.iter().map(|p| p.to_string()).collect();
    let text = std::fs::read_to_string(crate_root().join(path)).expect("read a runbook");
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or_default().trim();
        let Some(decl) = code.strip_prefix("param ") else { continue };
        let Some((name, ty)) = decl.split_once(':') else { continue };
        let name = name.trim();
        // `param url = "https://..."`: the `:` is the default's, not a type's.
        if name.contains('=')
            || ty.contains('=')
            || params.iter().any(|p| p.starts_with(&format!("{name}=")))
        {
            continue;
        }
        let value = match ty.trim() {
            "number" => "1",
            "bool" => "true",
            "duration" => "1m",
            "list" => "a,b",
            _ => "CHG-0",
        };
        params.push(format!("{name}={value}"));
    }
    params.into_iter().flat_map(|p| ["--param".to_string(), p]).collect()
}

fn plan(path: &str, format: &str, extra: &[&str]) -> Output {
    let params = plan_params(path);
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    Test::new()
        .in_crate_root()
        .args(&["plan", path, "--today", TODAY, "--format", format])
        .args(&params)
        .args(extra)
        .run()
}

fn plan_json(path: &str, extra: &[&str]) -> Value {
    let out = plan(path, "json", extra);
    out.expect_status(0);
    json(&out)
}

fn step<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["steps"]
        .as_array()
        .expect("a steps array")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step `{id}` in the plan"))
}

#[test]
fn plan_output_matches_golden_files_in_every_format() {
    let mut failures = Vec::new();
    for path in PLANS {
        for (format, ext) in
            [("text", "txt"), ("json", "json"), ("markdown", "md"), ("mermaid", "mmd")]
        {
            let out = plan(path, format, &[]);
            out.expect_no_crash();
            if out.status != 0 {
                failures
                    .push(format!("{path} --format {format}: exit {}\n{}", out.status, out.stderr));
                continue;
            }
            if let Err(e) = golden(&format!("tests/golden/plan/{}.{ext}", stem(path)), &out.stdout)
            {
                failures.push(e);
            }
        }
    }
    report(failures);
}

#[test]
fn plan_json_describes_the_language_example() {
    let doc = plan_json("tests/fixtures/ok/language-example.drbook", &[]);
    assert_eq!(doc["runbook"], "regional-failover");
    assert_eq!(doc["rto_seconds"], 3600);
    assert_eq!(doc["rpo_seconds"], 900);
    // 5m + 1m + 10m + 5m + 5m + 10m + 2m along the longest chain.
    assert_eq!(doc["estimated_rto_seconds"], 2280);
    assert_eq!(doc["budget"], "within");
    let path: Vec<&str> = doc["critical_path"]
        .as_array()
        .expect("a critical path")
        .iter()
        .map(|s| s.as_str().expect("a step id"))
        .collect();
    assert_eq!(
        path,
        [
            "confirm_outage",
            "replica_lag",
            "promote_db",
            "scale_up",
            "move_dns",
            "verify",
            "status_page"
        ]
    );
    let waves = doc["waves"].as_array().expect("waves");
    assert_eq!(waves.len(), 7);
    assert_eq!(waves[0], serde_json::json!(["confirm_outage"]));
    assert_eq!(waves[1], serde_json::json!(["announce", "replica_lag"]));
    for (id, kind) in [
        ("confirm_outage", "http"),
        ("announce", "notify"),
        ("replica_lag", "run"),
        ("promote_db", "run"),
        ("scale_up", "ssm_command"),
        ("move_dns", "run"),
        ("verify", "http"),
        ("status_page", "manual"),
    ] {
        assert_eq!(step(&doc, id)["action"]["kind"], kind, "action of `{id}`");
    }
    let promote = step(&doc, "promote_db");
    assert_eq!(promote["approval"]["by"], serde_json::json!(["oncall_lead", "eng_manager"]));
    assert_eq!(promote["approval"]["timeout_seconds"], 900);
    assert_eq!(promote["rollback_action"]["kind"], "run");
    assert_eq!(step(&doc, "announce")["approval"], Value::Null);
    // The template's body was spliced into `verify`.
    let verify = step(&doc, "verify");
    assert_eq!(verify["action"]["url"], "https://api.example.com/health");
    assert_eq!(verify["retry"]["attempts"], 30);
    assert_eq!(verify["retry"]["every_seconds"], 10);
    assert_eq!(verify["idempotent"], true);
}

#[test]
fn plan_json_shows_secrets_as_placeholders() {
    let doc = plan_json("tests/fixtures/ok/language-example.drbook", &[]);
    assert_eq!(step(&doc, "announce")["action"]["url"], "<secret:webhook>");
    let script = step(&doc, "replica_lag")["action"]["script"].as_str().expect("a script");
    assert!(script.starts_with("psql <secret:db_url> -Atc"), "{script}");
}

#[test]
fn plan_json_names_every_action_kind() {
    let doc = plan_json("tests/fixtures/ok/actions.drbook", &[]);
    for (id, kind) in [
        ("shell", "run"),
        ("probe", "http"),
        ("post", "http"),
        ("fleet_by_tag", "ssm_command"),
        ("fleet_by_id", "ssm_command"),
        ("automation", "ssm_automation"),
        ("put_plain", "ssm_put"),
        ("put_secure", "ssm_put"),
        ("settle", "wait"),
        ("eyeball", "manual"),
        ("tell", "notify"),
    ] {
        assert_eq!(step(&doc, id)["action"]["kind"], kind, "action of `{id}`");
    }
    assert_eq!(step(&doc, "probe")["action"]["status"], serde_json::json!(["200", "204"]));
    assert_eq!(step(&doc, "post")["action"]["status"], serde_json::json!(["200..299"]));
    assert_eq!(step(&doc, "single_status")["rollback_action"]["method"], "DELETE");
    let by_id = &step(&doc, "fleet_by_id")["action"];
    assert_eq!(by_id["max_concurrency"], "1");
    assert_eq!(by_id["comment"], "dr drill in eu-west-1");
}

#[test]
fn hostile_param_is_one_shell_word_in_run_scripts() {
    let runbook = r#"
runbook "quoting" {
  owner "ops"; rto 1h
  param change_ticket: string
  step record {
    duration 1m
    run      "echo ticket ${change_ticket} done"
    idempotent
  }
  step fleet {
    needs    record
    duration 1m
    ssm command "AWS-RunShellScript" {
      instances  ["i-1"]
      parameters { commands = ["echo ${change_ticket}"] }
    }
    idempotent
  }
  step tell {
    needs    fleet
    duration 1m
    manual   "Ticket ${change_ticket}"
  }
}
"#;
    let run = |value: &str| -> Value {
        let out = Test::new()
            .file("quoting.drbook", runbook)
            .args(&["plan", "quoting.drbook", "--format", "json", "--today", TODAY, "--param"])
            .arg(value)
            .run();
        out.expect_status(0);
        json(&out)
    };
    let doc = run("change_ticket=x; rm -rf /");
    assert_eq!(step(&doc, "record")["action"]["script"], "echo ticket 'x; rm -rf /' done");
    assert_eq!(
        step(&doc, "fleet")["action"]["parameters"]["commands"],
        serde_json::json!(["echo 'x; rm -rf /'"])
    );
    // Outside shell commands the value is text, not quoted.
    assert_eq!(step(&doc, "tell")["action"]["instructions"], "Ticket x; rm -rf /");
    let doc = run("change_ticket=it's $(reboot)");
    assert_eq!(step(&doc, "record")["action"]["script"], r#"echo ticket 'it'\''s $(reboot)' done"#);
    let doc = run("change_ticket=CHG-1234");
    assert_eq!(step(&doc, "record")["action"]["script"], "echo ticket CHG-1234 done");
}

#[test]
fn plan_text_of_a_hostile_param_is_quoted_too() {
    let out = plan("tests/fixtures/ok/params-secrets.drbook", "text", &[]);
    out.expect_status(0);
    assert!(
        out.stdout.contains("--ticket 'INC-7; rm -rf /' --password <secret:db_pass>"),
        "{}",
        out.stdout
    );
}

#[test]
fn plan_without_a_required_param_names_it() {
    Test::new()
        .in_crate_root()
        .args(&["plan", "tests/fixtures/ok/language-example.drbook", "--today", TODAY])
        .run()
        .expect_status(2)
        .expect_stderr("required param `change_ticket` has no value")
        .expect_stderr("--param change_ticket=VALUE");
}

#[test]
fn plan_with_an_unknown_param_suggests_the_right_one() {
    let out = Test::new()
        .in_crate_root()
        .args(&["plan", "tests/fixtures/ok/language-example.drbook", "--today", TODAY])
        .args(&["--param", "change_ticket=CHG-1", "--param", "change_tikcet=CHG-2"])
        .run();
    out.expect_status(2)
        .expect_stderr("`--param change_tikcet` names no param")
        .expect_stderr("did you mean `change_ticket`?");
    assert!(out.stdout.is_empty(), "no plan is printed: {}", out.stdout);
}

#[test]
fn check_with_an_unknown_param_suggests_the_right_one() {
    Test::new()
        .in_crate_root()
        .args(&["check", "tests/fixtures/ok/language-example.drbook", "--today", TODAY])
        .args(&["--param", "primray=eu-west-1"])
        .run()
        .expect_status(2)
        .expect_stderr("did you mean `primary`?");
}

#[test]
fn plan_rejects_a_param_value_of_the_wrong_type() {
    let out = Test::new()
        .in_crate_root()
        .args(&["plan", "tests/fixtures/ok/params-secrets.drbook", "--today", TODAY])
        .args(&["--param", "ticket=T", "--param", "window=20m", "--param", "batch=5"])
        .args(&["--param", "zones=a,b", "--param", "force=maybe"])
        .run();
    out.expect_status(2).expect_stderr("`--param force=maybe` is not a bool");
    let out = Test::new()
        .in_crate_root()
        .args(&["plan", "tests/fixtures/ok/params-secrets.drbook", "--today", TODAY])
        .args(&["--param", "ticket=T", "--param", "window=soon", "--param", "batch=5"])
        .args(&["--param", "zones=a,b", "--param", "force=true"])
        .run();
    out.expect_status(2).expect_stderr("window=soon");
}

#[test]
fn param_without_equals_sign_is_a_usage_error() {
    Test::new()
        .in_crate_root()
        .args(&["plan", "tests/fixtures/ok/minimal.drbook", "--param", "region"])
        .run()
        .expect_status(2)
        .expect_stderr("`--param region` must be NAME=VALUE");
}

#[test]
fn plan_of_a_template_module_is_refused() {
    Test::new()
        .in_crate_root()
        .args(&["plan", "stdlib/http.drbook", "--today", TODAY])
        .run()
        .expect_status(2)
        .expect_stderr("is a module of templates, not a runbook");
}

#[test]
fn plan_of_an_invalid_runbook_prints_no_plan() {
    let out = Test::new()
        .in_crate_root()
        .args(&["plan", "tests/fixtures/err/cycle-three.drbook", "--today", TODAY])
        .run();
    out.expect_status(2).expect_stderr("dependency cycle: `a -> b -> c -> a`");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn plan_json_reports_an_over_budget_runbook_and_its_warning() {
    let doc = plan_json("tests/fixtures/warn/over-budget.drbook", &[]);
    assert_eq!(doc["budget"], "over");
    assert_eq!(doc["estimated_rto_seconds"], 2400);
    assert_eq!(doc["critical_path"], serde_json::json!(["a", "b"]));
    assert_eq!(doc["warnings"][0]["code"], "drbook::lint::over_budget");
    // With --strict the warning is an error and there is no plan.
    let out = plan("tests/fixtures/warn/over-budget.drbook", "json", &["--strict"]);
    out.expect_status(2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn template_argument_is_one_shell_word_in_commands() {
    let module = "template echo(x) {\n  run \"echo ${x}\"\n  idempotent\n}\n";
    let runbook = r#"import "./m.drbook"
import "std/ssm"
runbook "t" {
  owner "o"; rto 1h
  step a { duration 1m; use m.echo(x = "lit; rm -rf /") }
  step b {
    duration 1m
    use ssm.shell_on_tagged(tag_key = "Role", tag_value = "api", script = "systemctl start api && systemctl is-active api")
  }
}
"#;
    let out = Test::new()
        .file("m.drbook", module)
        .file("t.drbook", runbook)
        .args(&["plan", "t.drbook", "--format", "json", "--today", TODAY])
        .run();
    out.expect_status(0);
    let doc = json(&out);
    assert_eq!(step(&doc, "a")["action"]["script"], "echo 'lit; rm -rf /'");
    // stdlib/ssm.drbook documents that `script` reaches `sh -c` as one word.
    assert_eq!(
        step(&doc, "b")["action"]["parameters"]["commands"],
        serde_json::json!(["sh -c 'systemctl start api && systemctl is-active api'"])
    );
}

#[test]
fn a_badly_typed_param_is_reported_once() {
    let out = Test::new()
        .in_crate_root()
        .args(&["plan", "tests/fixtures/ok/params-secrets.drbook", "--today", TODAY])
        .args(&["--param", "ticket=T", "--param", "window=20m", "--param", "batch=5"])
        .args(&["--param", "zones=a,b", "--param", "force=maybe"])
        .run();
    out.expect_status(2).expect_stderr("(1 error, 0 warnings)");
}

#[test]
fn plan_json_marks_safe_steps_and_shows_the_drill_cadence() {
    let doc = plan_json("tests/fixtures/ok/drills.drbook", &[]);
    for (id, safe) in [("backup_fresh", true), ("health", false), ("dns", true), ("promote", false)]
    {
        assert_eq!(step(&doc, id)["safe"], safe, "`safe` of `{id}`");
    }
    assert_eq!(
        doc["drills"],
        serde_json::json!([
            {"type": "tabletop", "every_seconds": 2_592_000},
            {"type": "component", "every_seconds": 604_800},
            {"type": "partial", "every_seconds": 7_776_000},
            {"type": "full", "every_seconds": 31_536_000},
        ])
    );
    // `health` is an `http GET` without a body: a component drill runs it too.
    assert_eq!(doc["component_drill_steps"], serde_json::json!(["backup_fresh", "health", "dns"]));
    // The secret in `notify_drills` stays a placeholder.
    assert_eq!(doc["notify_drills"], "https://hooks.example.com/drills/db/<secret:hook_token>");
    let plain = plan_json("tests/fixtures/ok/minimal.drbook", &[]);
    assert_eq!(plain["drills"], serde_json::json!([]));
    assert!(plain.get("notify_drills").is_none());
}

/// The plan names the steps a component drill runs by the executor's rule: a `safe` step that
/// reads a value of a step the drill skips is skipped too, and the plan says so.
#[test]
fn plan_lists_what_a_component_drill_really_runs() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("reads.drbook");
    std::fs::write(
        &file,
        r#"runbook "reads" {
  owner "dba"
  step promote {
    duration 1m
    run "promote-db"
    capture primary from stdout
    idempotent
  }
  step lag {
    duration 1m
    needs promote
    safe
    run "replica-lag ${steps.promote.primary}"
  }
  step fresh {
    duration 1m
    needs promote
    safe
    run "backup-age"
  }
}
"#,
    )
    .expect("runbook written");
    let doc = plan_json(file.to_str().expect("utf-8 path"), &[]);
    assert_eq!(doc["component_drill_steps"], serde_json::json!(["fresh"]));
}

#[test]
fn plan_json_shows_the_trigger_and_leaves_it_out_without_one() {
    let doc = plan_json("tests/fixtures/ok/trigger.drbook", &[]);
    let t = &doc["trigger"];
    let probes: Vec<(&str, u64)> = t["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .map(|p| (p["name"].as_str().expect("a name"), p["timeout_seconds"].as_u64().expect("s")))
        .collect();
    assert_eq!(probes, [("primary", 10), ("db", 5)]);
    // Params are filled in, like a step's action.
    assert_eq!(t["probes"][0]["action"]["url"], "https://api.us-east-1.example.com/health");
    assert_eq!(
        (&t["every_seconds"], &t["failures"], &t["quorum"], &t["cooldown_seconds"]),
        (
            &serde_json::json!(30),
            &serde_json::json!(3),
            &serde_json::json!(2),
            &serde_json::json!(1800)
        )
    );
    assert_eq!(t["rpo_gate"], serde_json::json!({"step": "replica_lag", "capture": "lag_seconds"}));
    assert_eq!(
        t["requires"],
        serde_json::json!({"kind": "approval", "by": ["oncall_lead", "eng_manager"], "timeout_seconds": 900})
    );
    assert_eq!(t["params"], serde_json::json!({"change_ticket": "AUTO-${trigger.fired_at}"}));
    // A secret named by `notify` stays a placeholder.
    assert_eq!(t["notify"], "<secret:dr_hook>");
    let plain = plan_json("tests/fixtures/ok/minimal.drbook", &[]);
    assert!(plain.get("trigger").is_none());
    let mermaid = plan("tests/fixtures/ok/minimal.drbook", "mermaid", &[]);
    assert!(!mermaid.stdout.contains("t_trigger"));
}
