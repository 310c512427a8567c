//! The guide's template through [`convert`] and [`finish`].

use super::*;

fn template() -> DrPlan {
    let text = include_bytes!("../../tests/fixtures/dr-plan/guide-template.yaml");
    crate::drplan::read::read_bytes("t.yaml", text).result.expect("reads")
}

fn opts() -> Options {
    Options {
        today: crate::model::Date { year: 2026, month: 2, day: 1 },
        params: Vec::new(),
        require_params: false,
        strict: false,
    }
}

#[test]
fn the_template_imports_and_checks() {
    let out = convert(&template(), "guide");
    let main = finish("guide.drbook", &out.runbook, &opts())
        .map_err(|r| format!("{:?}", r.diags))
        .expect("checks");
    let flat = main.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    for want in [
        "rto 1h",
        "rpo 15m",
        "review_every 90d",
        "reviewed 2026-01-30",
        "service \"api-gateway\" { rto 15m; rpo 0s; tier critical }",
        "tabletop every 30d",
        "partial every 90d",
        "approval { by on_call_lead, engineering_manager }",
        "needs verify_primary_region",
        "run \"kubectl cnpg promote production-db-dr\"",
        "manual \"Update status page\"",
    ] {
        assert!(flat.contains(want), "{want} in\n{main}");
    }
    assert_eq!(main.matches("approval").count(), 1, "{main}");
    let fb = out.failback.expect("failback");
    let fb =
        finish("fb.drbook", &fb, &opts()).map_err(|r| format!("{:?}", r.diags)).expect("checks");
    assert!(fb.contains("# duration: varies based on data volume"), "{fb}");
    assert!(
        out.warnings[0].contains("failback step 1 (`24 hours before`), failback step 2"),
        "{:?}",
        out.warnings
    );
}

#[test]
fn an_empty_document_is_still_a_runbook() {
    let out = convert(&DrPlan::default(), "x");
    assert!(out.failback.is_none());
    assert!(finish("x.drbook", &out.runbook, &opts()).is_ok());
}
