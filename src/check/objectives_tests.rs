//! Table tests of objectives, impact and restores: what reaches the model, every error
//! (code and span) and every warning against the steps and against the impact's advice.

use super::{check, Checked, Options};
use crate::advise::{CustomerImpact, Regulatory};
use crate::check::tests::checked;
use crate::load::load_text;
use crate::model::Date;

/// The diagnostics as (code, the source text the span covers), errors or warnings.
fn found(src: &str, errors: bool) -> Vec<(&'static str, String)> {
    checked(src)
        .diags
        .into_iter()
        .filter(|d| d.is_error() == errors)
        .map(|d| (d.code, src[d.span.start as usize..d.span.end as usize].to_string()))
        .collect()
}

const SERVICES: &str = "  objectives {\n    service \"api\" { rto 15m; rpo 0s; tier critical }\n    service \"db\" { rto 30m; rpo 5m }\n  }";
const IMPACT: &str = "  impact {\n    hourly_revenue 5000\n    transactions_per_hour 5000\n    regulatory moderate\n    customer_impact critical\n    data_recreation_cost 500000\n  }";

/// A runbook with `header`, and steps `db` (10m, restores db) and `api` (needs db, 3m,
/// restores api) whose bodies get `db_extra` and `api_extra`.
fn runbook(header: &str, db_extra: &str, api_extra: &str) -> String {
    format!(
        "runbook \"t\" {{\n  owner \"o\"\n  rto 30m\n  rpo 15m\n  tier critical\n{header}\n  step db {{\n    duration 10m\n    idempotent\n    run \"true\"\n    {db_extra}\n  }}\n  step api {{\n    needs db\n    duration 3m\n    idempotent\n    run \"true\"\n    {api_extra}\n  }}\n}}\n"
    )
}

fn fine(header: &str) -> String {
    runbook(header, "restores \"db\"", "restores \"api\"")
}

#[test]
fn objectives_impact_and_restores_reach_the_model() {
    let src = fine(&format!("{SERVICES}\n{IMPACT}"));
    let c = checked(&src);
    assert!(c.diags.is_empty(), "{:#?}", c.diags);
    let rb = c.runbook.expect("a runbook");
    let names: Vec<&str> = rb.objectives.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["api", "db"]);
    assert_eq!(rb.objectives[0].rto, Some(15 * 60_000));
    assert_eq!(rb.objectives[0].rpo, Some(0));
    assert_eq!(rb.objectives[0].tier.as_deref(), Some("critical"));
    assert_eq!((rb.objectives[1].tier.as_deref(), rb.objectives[1].rpo), (None, Some(300_000)));
    assert_eq!(
        &src[rb.objectives[1].span.start as usize..rb.objectives[1].span.end as usize],
        "\"db\""
    );
    let impact = rb.impact.expect("an impact");
    assert_eq!(impact.hourly_revenue, 5000.0);
    assert_eq!(impact.data_recreation_cost, 500000.0);
    assert_eq!(impact.regulatory, Regulatory::Moderate);
    assert_eq!(impact.customer_impact, CustomerImpact::Critical);
    assert_eq!(rb.steps[0].restores, ["db"]);
    assert_eq!(rb.steps[1].restores, ["api"]);
}

#[test]
fn restores_repeat_and_merge_without_duplicates() {
    let src = runbook(SERVICES, "restores \"db\", \"api\"\n    restores \"db\"", "");
    let c = checked(&src);
    assert!(c.diags.is_empty(), "{:#?}", c.diags);
    assert_eq!(c.runbook.expect("a runbook").steps[0].restores, ["db", "api"]);
}

#[test]
fn a_decimal_amount_is_read() {
    let src =
        fine(&format!("{SERVICES}\n{}", IMPACT.replace("5000\n    trans", "5000.5\n    trans")));
    let c = checked(&src);
    assert_eq!(c.errors(), 0, "{:#?}", c.diags);
    assert_eq!(c.runbook.expect("a runbook").impact.expect("impact").hourly_revenue, 5000.5);
}

#[test]
fn objectives_errors() {
    let table: &[(&str, &str, &str)] = &[
        (
            "  objectives {\n    service \"api\" { rto 15m }\n    service \"db\" { rto 1h }\n    service \"api\" { rto 1m }\n  }",
            "drbook::check::duplicate_service",
            "\"api\"",
        ),
        (
            "  objectives {\n    service \"api\" { rto 15m; rop 0s }\n    service \"db\" {}\n  }",
            "drbook::check::unknown_setting",
            "rop",
        ),
        (
            "  objectives {\n    service \"api\" { rto 15m; rto 20m }\n    service \"db\" {}\n  }",
            "drbook::check::duplicate_attribute",
            "rto 20m",
        ),
        (
            "  objectives {\n    service \"api\" { rto soon }\n    service \"db\" {}\n  }",
            "drbook::check::bad_value",
            "soon",
        ),
        (
            "  objectives {\n    service \"api\" { rpo \"5m\" }\n    service \"db\" {}\n  }",
            "drbook::check::bad_value",
            "\"5m\"",
        ),
        (
            "  objectives {\n    service \"api\" {}\n    service db {}\n  }",
            "drbook::check::bare_word",
            "db",
        ),
        (
            &format!("{SERVICES}\n  objectives {{ service \"x\" {{}} }}"),
            "drbook::check::duplicate_attribute",
            "objectives",
        ),
    ];
    for (header, code, at) in table {
        let src = fine(header);
        assert_eq!(found(&src, true), vec![(*code, at.to_string())], "{header}");
    }
}

#[test]
fn impact_errors() {
    let table: &[(&str, &str, &str, &str)] = &[
        (
            "hourly_revenue 5000",
            "hourly_revenu 5000",
            "drbook::check::unknown_setting",
            "hourly_revenu",
        ),
        ("hourly_revenue 5000", "hourly_revenue -1", "drbook::check::bad_value", "-1"),
        ("hourly_revenue 5000", "hourly_revenue -0.5", "drbook::check::bad_value", "-0.5"),
        ("hourly_revenue 5000", "hourly_revenue \"lots\"", "drbook::check::bad_value", "\"lots\""),
        ("hourly_revenue 5000", "hourly_revenue 5m", "drbook::check::bad_value", "5m"),
        ("regulatory moderate", "regulatory severe", "drbook::check::bad_value", "severe"),
        (
            "customer_impact critical",
            "customer_impact \"high\"",
            "drbook::check::bad_value",
            "\"high\"",
        ),
        (
            "regulatory moderate",
            "regulatory moderate\n    regulatory strict",
            "drbook::check::duplicate_attribute",
            "regulatory strict",
        ),
        ("    regulatory moderate\n", "", "drbook::check::missing_impact_setting", "impact"),
        (
            "hourly_revenue 5000",
            &format!("hourly_revenue 1{}.0", "0".repeat(400)),
            "drbook::check::bad_impact",
            "impact",
        ),
    ];
    for (from, to, code, at) in table {
        let header = format!("{SERVICES}\n{}", IMPACT.replacen(from, to, 1));
        let src = fine(&header);
        assert_eq!(found(&src, true), vec![(*code, at.to_string())], "{to}");
    }
    let both = fine(&format!("{SERVICES}\n{IMPACT}\n  impact {{}}"));
    assert_eq!(found(&both, true), vec![("drbook::check::duplicate_attribute", "impact".into())]);
}

#[test]
fn impact_messages_name_what_is_missing_and_the_choices() {
    let header =
        format!("{SERVICES}\n  impact {{\n    hourly_revenue 1\n    regulatory strictt\n  }}");
    let c = checked(&fine(&header));
    let msgs: Vec<(String, String, String)> = c
        .diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let label = d.label.clone();
            (d.message.clone(), label, d.help.clone().unwrap_or_default())
        })
        .collect();
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    assert_eq!(
        msgs[0].0,
        "`impact` lacks `transactions_per_hour`, `customer_impact`, `data_recreation_cost`"
    );
    assert_eq!(msgs[1].0, "`strictt` is not a valid `regulatory`");
    assert_eq!(msgs[1].1, "expected one of none, moderate, strict");
    assert!(msgs[1].2.contains("`strict`"), "{msgs:#?}");
}

#[test]
fn restores_errors() {
    let unknown = runbook(SERVICES, "restores \"dbb\"", "restores \"api\"");
    assert_eq!(found(&unknown, true), vec![("drbook::check::unknown_service", "\"dbb\"".into())]);
    let help = checked(&unknown).diags.into_iter().find(|d| d.is_error()).and_then(|d| d.help);
    assert_eq!(help.as_deref(), Some("did you mean `db`?"));
    let none = runbook("", "restores \"db\"", "");
    assert_eq!(
        found(&none, true),
        vec![("drbook::check::restores_without_objectives", "restores \"db\"".into())]
    );
    let bare = runbook(SERVICES, "restores db", "restores \"api\"");
    assert_eq!(found(&bare, true), vec![("drbook::check::bare_word", "db".into())]);
}

#[test]
fn services_are_weighed_against_their_steps() {
    // Nothing restores `db`.
    let src = runbook(SERVICES, "", "restores \"api\"");
    assert_eq!(found(&src, false), vec![("drbook::lint::service_not_restored", "\"db\"".into())]);
    // `api` is restored after db (10m) and api (3m): 13m is over an rto of 12m.
    let tight =
        runbook(&SERVICES.replace("rto 15m", "rto 12m"), "restores \"db\"", "restores \"api\"");
    let c = checked(&tight);
    let w: Vec<_> = c.diags.iter().filter(|d| !d.is_error()).collect();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].code, "drbook::lint::service_over_budget");
    assert_eq!(w[0].message, "service `api` is restored after 13m, over its `rto` of 12m");
    assert_eq!(w[0].label, "`db -> api`");
    // A service rto looser than the runbook's is no warning; a finally step takes no time.
    let loose =
        runbook(&SERVICES.replace("rto 30m", "rto 8h"), "restores \"db\"", "restores \"api\"");
    assert!(found(&loose, false).is_empty(), "{:?}", found(&loose, false));
    let fin = format!(
        "{}\n",
        fine(SERVICES).trim_end().trim_end_matches('}').to_string()
            + "  finally step report {\n    restores \"api\"\n    duration 2h\n    idempotent\n    run \"true\"\n  }\n}"
    );
    assert!(found(&fin, false).is_empty(), "{:?}", found(&fin, false));
}

#[test]
fn the_header_is_weighed_against_the_impact_advice() {
    // The impact advises RTO 36m, RPO 18m, hot standby (async replication).
    assert!(checked(&fine(&format!("{SERVICES}\n{IMPACT}"))).diags.is_empty());
    let table: &[(&str, &str, &str, &str)] = &[
        ("rto 30m", "rto 40m", "drbook::lint::rto_above_advice", "rto 40m"),
        ("rpo 15m", "rpo 20m", "drbook::lint::rpo_above_advice", "rpo 20m"),
        ("tier critical", "tier warm", "drbook::lint::tier_advice", "tier warm"),
        ("tier critical", "tier standard", "drbook::lint::tier_advice", "tier standard"),
        ("tier critical", "tier hot", "", ""),
        ("tier critical", "tier gold", "", ""),
    ];
    for (from, to, code, at) in table {
        let src = fine(&format!("{SERVICES}\n{IMPACT}")).replacen(from, to, 1);
        let want: Vec<(&str, String)> =
            if code.is_empty() { vec![] } else { vec![(*code, at.to_string())] };
        assert_eq!(found(&src, false), want, "{to}");
    }
    let src = fine(&format!("{SERVICES}\n{IMPACT}")).replacen("rto 30m", "rto 1h", 1);
    let d = checked(&src).diags.into_iter().next().expect("a warning");
    assert_eq!(d.message, "`rto` of 1h is looser than the 36m that `impact` advises");
    let help = d.help.expect("help");
    assert!(
        help.starts_with("`impact` advises RTO 36m, RPO 18m, hot standby (async replication)"),
        "{help}"
    );
    assert!(help.contains("customer_impact critical"), "{help}");
    // Warm advice against a critical tier.
    let warm = IMPACT.replace("customer_impact critical", "customer_impact medium");
    let src = fine(&format!("{SERVICES}\n{warm}")).replacen("rto 30m", "rto 1h", 1);
    let d: Vec<_> =
        checked(&src).diags.into_iter().filter(|d| d.code == "drbook::lint::tier_advice").collect();
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].message,
        "`tier critical` means hot standby, but `impact` advises warm standby"
    );
}

#[test]
fn restores_in_a_template_land_on_the_step_that_uses_it() {
    let module = "template bring(svc) {\n  restores \"${svc}\", \"db\"\n  idempotent\n  run \"systemctl start ${svc}\"\n}\n";
    let dir = std::env::temp_dir().join(format!("drbook-restores-tpl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("m.drbook"), module).expect("module");
    let run = |arg: &str| -> Checked {
        let src = format!(
            "import \"./m.drbook\"\nrunbook \"t\" {{\n  owner \"o\"\n  rto 1h\n{SERVICES}\n  step a {{\n    duration 1m\n    use m.bring(svc = {arg})\n  }}\n}}\n"
        );
        let path = dir.join("t.drbook");
        let mut loaded =
            load_text(path.to_str().expect("utf-8 path"), Some(path.clone()), src.into());
        let opts = Options {
            today: Date { year: 2026, month: 11, day: 23 },
            params: Vec::new(),
            require_params: false,
            strict: false,
        };
        check(&mut loaded, &opts)
    };
    let ok = run("\"api\"");
    let typo = run("\"apii\"");
    let bare = run("api");
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok.diags.is_empty(), "{:#?}", ok.diags);
    assert_eq!(ok.runbook.expect("a runbook").steps[0].restores, ["api", "db"]);
    let codes = |c: &Checked| -> Vec<&str> {
        c.diags.iter().filter(|d| d.is_error()).map(|d| d.code).collect()
    };
    assert_eq!(codes(&typo), ["drbook::check::unknown_service"]);
    assert_eq!(codes(&bare), ["drbook::check::bare_word"]);
}
