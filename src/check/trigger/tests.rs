//! Table tests of the `trigger { }` block: its model (defaults included) and every error it
//! can cause, as (code, the source text the span covers).

use crate::check::tests::checked;
use crate::model::trigger::{Requires, DEFAULT_COOLDOWN, DEFAULT_FAILURES, DEFAULT_PROBE_TIMEOUT};
use crate::model::{Action, Part, Ref, TriggerField};

fn found(src: &str) -> Vec<(&'static str, String)> {
    checked(src)
        .diags
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| (d.code, src[d.span.start as usize..d.span.end as usize].to_string()))
        .collect()
}

fn warnings(src: &str) -> Vec<&'static str> {
    checked(src).diags.into_iter().filter(|d| !d.is_error()).map(|d| d.code).collect()
}

/// A runbook with `header` lines, a trigger block holding `trigger`, and a safe step `lag`
/// capturing `lag_seconds`.
fn runbook(header: &str, trigger: &str) -> String {
    format!(
        "runbook \"t\" {{\n  owner \"o\"\n  rto 1h\n  rpo 15m\n  param primary = \"us-east-1\"\n  param ticket: string\n  param tries = 3\n  secret hook = env(\"HOOK\")\n{header}\n  trigger {{\n{trigger}\n  }}\n  step lag {{\n    duration 1m\n    safe\n    run \"lag ${{primary}} ${{tries}}\"\n    capture lag_seconds from stdout\n  }}\n  step go {{\n    needs lag\n    duration 1m\n    run \"go ${{ticket}}\"\n    idempotent\n  }}\n}}\n"
    )
}

const PROBES: &str = "    probe primary http GET \"https://api.${primary}.example.com/health\"\n    probe db timeout 5s run \"pg_isready\"";

#[test]
fn a_full_trigger_reaches_the_model() {
    let src = runbook(
        "  roles {\n    lead = [\"alice\"]\n  }",
        &format!("{PROBES}\n    every 1m\n    failures 4\n    quorum 1 of 2\n    cooldown 1h\n    rpo_gate lag\n    requires approval {{ by lead; timeout 15m }}\n    params {{ ticket = \"AUTO-${{trigger.fired_at}}\" }}\n    notify hook"),
    );
    let c = checked(&src);
    assert_eq!(c.errors(), 0, "{:#?}", c.diags);
    let t = c.runbook.expect("a runbook").trigger.expect("a trigger");
    assert_eq!(t.probes.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["primary", "db"]);
    assert!(matches!(&t.probes[0].action, Action::Http { method, .. } if method == "GET"));
    assert_eq!((t.probes[0].timeout, t.probes[1].timeout), (DEFAULT_PROBE_TIMEOUT, 5_000));
    assert_eq!((t.every, t.failures, t.quorum, t.cooldown), (60_000, 4, 1, 3_600_000));
    let gate = t.rpo_gate.expect("a gate");
    assert_eq!((gate.step, gate.capture.as_str()), (0, "lag_seconds"));
    match t.requires {
        Requires::Approval(a) => {
            assert_eq!((a.roles, a.timeout), (vec!["lead".into()], Some(900_000)))
        }
        Requires::Auto => panic!("approval expected"),
    }
    assert_eq!(t.params.len(), 1);
    assert_eq!(t.params[0].0, "ticket");
    assert_eq!(
        t.params[0].1.parts,
        vec![Part::Lit("AUTO-".into()), Part::Ref(Ref::Trigger(TriggerField::FiredAt))]
    );
    assert_eq!(t.notify.expect("notify").parts, vec![Part::Ref(Ref::Secret("hook".into()))]);
}

#[test]
fn defaults_fill_what_the_block_leaves_out() {
    let src = runbook("", &format!("{PROBES}\n    rpo_gate lag\n    requires approval"));
    let c = checked(&src);
    assert_eq!(c.errors(), 0, "{:#?}", c.diags);
    let t = c.runbook.expect("a runbook").trigger.expect("a trigger");
    assert_eq!(
        (t.every, t.failures, t.quorum, t.cooldown),
        (30_000, DEFAULT_FAILURES, 2, DEFAULT_COOLDOWN)
    );
    assert!(matches!(t.requires, Requires::Approval(a) if a.roles.is_empty()));
    assert!(t.params.is_empty() && t.notify.is_none());
}

#[test]
fn a_probe_timeout_defaults_to_at_most_the_interval() {
    let src = runbook(
        "",
        "    probe a run \"true\"\n    every 4s\n    rpo_gate lag\n    requires approval",
    );
    let t = checked(&src).runbook.expect("a runbook").trigger.expect("a trigger");
    assert_eq!(t.probes[0].timeout, 4_000);
}

#[test]
fn a_runbook_without_trigger_has_none() {
    let src = "runbook \"t\" {\n  owner \"o\"\n  rto 1h\n  step a {\n    duration 1m\n    run \"x\"\n    idempotent\n  }\n}\n";
    assert!(checked(src).runbook.expect("a runbook").trigger.is_none());
}

/// (header lines, trigger settings, the expected errors as (code, spanned text)).
type Case = (String, String, Vec<(&'static str, &'static str)>);

#[test]
fn every_trigger_error_has_its_code_and_span() {
    let ok = "    rpo_gate lag\n    requires approval";
    let cases: Vec<Case> = vec![
        ("".into(), ok.into(), vec![("drbook::check::no_probe", "trigger")]),
        (
            "".into(),
            format!("    probe a run \"x\"\n    probe a run \"y\"\n{ok}"),
            vec![("drbook::check::duplicate_probe", "a")],
        ),
        (
            "".into(),
            format!("    probe a http POST \"https://x\"\n{ok}"),
            vec![("drbook::check::probe_not_read_only", "http POST \"https://x\"")],
        ),
        (
            "".into(),
            format!("    probe a http GET \"https://x\" {{ body \"b\" }}\n{ok}"),
            vec![("drbook::check::probe_not_read_only", "http GET \"https://x\" { body \"b\" }")],
        ),
        (
            "".into(),
            format!("    probe a ssm put \"/x\" = \"y\"\n{ok}"),
            vec![("drbook::check::probe_not_read_only", "ssm put \"/x\" = \"y\"")],
        ),
        (
            "".into(),
            format!("    probe a notify \"https://x\" \"m\"\n{ok}"),
            vec![("drbook::check::probe_not_read_only", "notify \"https://x\" \"m\"")],
        ),
        (
            "".into(),
            format!("    probe a wait 5s\n{ok}"),
            vec![("drbook::check::probe_not_read_only", "wait 5s")],
        ),
        (
            "".into(),
            format!("    probe a manual \"look\"\n{ok}"),
            vec![("drbook::check::probe_not_read_only", "manual \"look\"")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    quorum 3 of 2\n{ok}"),
            vec![("drbook::check::bad_quorum", "quorum 3 of 2")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    quorum 2 of 3\n{ok}"),
            vec![("drbook::check::bad_quorum", "quorum 2 of 3")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    quorum 0 of 2\n{ok}"),
            vec![("drbook::check::bad_quorum", "quorum 0 of 2")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    failures 0\n{ok}"),
            vec![("drbook::check::bad_value", "0")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    every 0s\n{ok}"),
            vec![("drbook::check::zero_interval", "0s")],
        ),
        (
            "".into(),
            format!("    probe a timeout 1m run \"x\"\n{ok}"),
            vec![("drbook::check::probe_timeout_over_interval", "1m")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    every 30s\n    every 1m\n{ok}"),
            vec![("drbook::check::duplicate_attribute", "every 1m")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    rpo_gate lga\n    requires approval"),
            vec![("drbook::check::unknown_step", "lga")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    rpo_gate go\n    requires approval"),
            vec![("drbook::check::rpo_gate_not_safe", "go")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    requires approval\n    requires auto\n    rpo_gate lag"),
            vec![("drbook::check::duplicate_attribute", "requires auto")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    rpo_gate lag"),
            vec![("drbook::check::missing_requires", "trigger")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    rpo_gate lag\n    requires approvl"),
            vec![("drbook::check::unknown_requires", "approvl")],
        ),
        (
            "".into(),
            format!("{PROBES}\n    rpo_gate lag\n    requires auto"),
            vec![("drbook::check::auto_without_drills", "auto")],
        ),
        (
            "  drills {\n    component every 7d\n  }".into(),
            format!("{PROBES}\n    rpo_gate lag\n    requires auto"),
            vec![("drbook::check::auto_without_drills", "auto")],
        ),
        (
            "  roles {\n    lead = [\"a\"]\n  }".into(),
            format!("{PROBES}\n    rpo_gate lag\n    requires approval"),
            vec![("drbook::check::trigger_approval_roles", "approval")],
        ),
        (
            "  roles {\n    lead = [\"a\"]\n  }".into(),
            format!("{PROBES}\n    rpo_gate lag\n    requires approval {{ by leed }}"),
            vec![("drbook::check::unknown_role", "leed")],
        ),
        (
            "".into(),
            format!("{PROBES}\n{ok}\n    params {{ tickt = \"x\" }}"),
            vec![("drbook::check::unknown_param", "tickt")],
        ),
        (
            "".into(),
            format!("{PROBES}\n{ok}\n    params {{ tries = \"many\" }}"),
            vec![("drbook::check::bad_value", "\"many\"")],
        ),
        (
            "".into(),
            format!("{PROBES}\n{ok}\n    params {{ tries = \"${{trigger.fired_at}}\" }}"),
            vec![("drbook::check::bad_value", "\"${trigger.fired_at}\"")],
        ),
        (
            "".into(),
            format!("{PROBES}\n{ok}\n    params {{ ticket = \"${{trigger.fired}}\" }}"),
            vec![("drbook::check::unknown_trigger_field", "${trigger.fired}")],
        ),
        (
            "".into(),
            format!("    probe a run \"x ${{trigger.fired_at}}\"\n{ok}"),
            vec![("drbook::check::trigger_params_only", "${trigger.fired_at}")],
        ),
        (
            "".into(),
            format!("    probe a run \"x ${{steps.lag.lag_seconds}} ${{run.id}}\"\n{ok}"),
            vec![
                ("drbook::check::trigger_run_ref", "${steps.lag.lag_seconds}"),
                ("drbook::check::trigger_run_ref", "${run.id}"),
            ],
        ),
        (
            "".into(),
            format!("    probe a run \"x ${{nope}}\"\n{ok}"),
            vec![("drbook::check::unknown_name", "${nope}")],
        ),
        (
            "".into(),
            format!("{PROBES}\n{ok}\n    notify hok"),
            vec![("drbook::check::unknown_secret", "hok")],
        ),
        (
            "".into(),
            format!("{PROBES}\n{ok}\n    notify 3"),
            vec![("drbook::check::bad_value", "3")],
        ),
    ];
    for (header, trigger, want) in cases {
        let src = runbook(&header, &trigger);
        let got = found(&src);
        let want: Vec<(&str, String)> = want.into_iter().map(|(c, s)| (c, s.to_string())).collect();
        assert_eq!(got, want, "trigger:\n{trigger}");
    }
}

#[test]
fn trigger_fields_elsewhere_say_where_they_are_allowed() {
    let src = "runbook \"t\" {\n  owner \"o\"\n  rto 1h\n  step a {\n    duration 1m\n    run \"echo ${trigger.detected_at}\"\n    idempotent\n  }\n}\n";
    assert_eq!(
        found(src),
        [("drbook::check::trigger_params_only", "${trigger.detected_at}".to_string())]
    );
}

#[test]
fn the_rpo_gate_needs_rpo_a_capture_and_one_lag() {
    let base = |rpo: &str, step: &str| {
        format!("runbook \"t\" {{\n  owner \"o\"\n  rto 1h\n{rpo}  trigger {{\n    probe a run \"x\"\n    rpo_gate g\n    requires approval\n  }}\n  step g {{\n    duration 1m\n    safe\n{step}  }}\n}}\n")
    };
    let cap2 = "    run \"x\"\n    capture a from stdout\n    capture b from regex \"(\\\\d+)\"\n";
    assert_eq!(
        found(&base("", "    run \"x\"\n    capture a from stdout\n")),
        [("drbook::check::rpo_gate_without_rpo", "g".to_string())]
    );
    assert_eq!(
        found(&base("  rpo 15m\n", "    run \"x\"\n")),
        [("drbook::check::rpo_gate_no_capture", "g".to_string())]
    );
    assert_eq!(
        found(&base("  rpo 15m\n", cap2)),
        [("drbook::check::rpo_gate_ambiguous", "g".to_string())]
    );
    let reads = "  step first {\n    duration 1m\n    run \"x\"\n    capture host from stdout\n    idempotent\n  }\n";
    let gate_reads = base("  rpo 15m\n", "    needs first\n    run \"lag\"\n    capture a from stdout\n    check steps.first.host != \"\"\n")
        .replace("  step g {", &format!("{reads}  step g {{"));
    assert_eq!(found(&gate_reads), [("drbook::check::rpo_gate_uses_capture", "g".to_string())]);
    let measured = format!("{cap2}    measure rpo from b\n");
    let c = checked(&base("  rpo 15m\n", &measured));
    assert_eq!(c.errors(), 0, "{:#?}", c.diags);
    let gate = c.runbook.expect("rb").trigger.expect("t").rpo_gate.expect("gate");
    assert_eq!(gate.capture, "b");
}

#[test]
fn auto_with_a_recovering_drill_cadence_is_accepted() {
    let src = runbook(
        "  drills {\n    partial every 30d\n  }",
        &format!("{PROBES}\n    rpo_gate lag\n    requires auto"),
    );
    let c = checked(&src);
    assert_eq!(c.errors(), 0, "{:#?}", c.diags);
    assert!(matches!(c.runbook.expect("rb").trigger.expect("t").requires, Requires::Auto));
}

#[test]
fn typed_trigger_params_are_accepted_as_their_text() {
    let src = runbook(
        "",
        &format!(
            "{PROBES}\n{}\n    params {{ tries = 5; ticket = \"T-1\" }}",
            "    rpo_gate lag\n    requires approval"
        ),
    );
    let c = checked(&src);
    assert_eq!(c.errors(), 0, "{:#?}", c.diags);
    let t = c.runbook.expect("rb").trigger.expect("t");
    let texts: Vec<(String, String)> =
        t.params.iter().map(|(k, v)| (k.clone(), v.render(|_| String::new()))).collect();
    assert_eq!(texts, [("tries".into(), "5".into()), ("ticket".into(), "T-1".into())]);
}

#[test]
fn a_trigger_without_rpo_gate_in_a_runbook_with_rpo_is_linted() {
    let src = runbook("", &format!("{PROBES}\n    requires approval"));
    assert_eq!(found(&src), []);
    assert!(warnings(&src).contains(&"drbook::lint::trigger_without_rpo_gate"));
    let gated = runbook("", &format!("{PROBES}\n    rpo_gate lag\n    requires approval"));
    assert!(!warnings(&gated).contains(&"drbook::lint::trigger_without_rpo_gate"));
}

#[test]
fn unknown_and_malformed_settings_are_syntax_errors_with_suggestions() {
    let src = runbook(
        "",
        &format!(
            "{PROBES}\n    requirez approval\n    quorum 2\n{}",
            "    rpo_gate lag\n    requires approval"
        ),
    );
    let c = checked(&src);
    let codes: Vec<(&str, Option<String>)> =
        c.diags.iter().filter(|d| d.is_error()).map(|d| (d.code, d.help.clone())).collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert_eq!(codes[0].0, "drbook::syntax::unknown_attribute");
    assert_eq!(codes[0].1.as_deref(), Some("did you mean `requires`?"));
    assert_eq!(codes[1].0, "drbook::syntax::malformed");
    assert!(codes[1].1.as_deref().is_some_and(|h| h.contains("quorum 2 of 3")));
}
