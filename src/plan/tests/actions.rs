//! Action and expression rendering details: ssm parameters, secrets in every field,
//! expression precedence and duration formatting.

use std::collections::HashMap;

use serde_json::Value;

use super::super::human;
use super::{diamond, json_of, lit, plan_of, pref, sref, t, MIN};
use crate::model::{Action, Expr, Ref, SsmTargets};
use crate::syntax::ast::BinOp;

#[test]
fn ssm_commands_are_shell_quoted_and_other_parameters_are_not() {
    let mut rb = diamond(None);
    rb.steps[0].action = Some(Action::SsmCommand {
        document: t(&[lit("AWS-RunShellScript")]),
        targets: SsmTargets::Tags(vec![(t(&[lit("Role")]), t(&[lit("api")]))]),
        parameters: vec![
            ("commands".to_string(), vec![t(&[lit("deploy "), pref("target")])]),
            ("workingDirectory".to_string(), vec![t(&[pref("target")])]),
        ],
        max_concurrency: Some(t(&[lit("50%")])),
        max_errors: None,
        comment: None,
    });
    rb.steps[1].action = Some(Action::SsmPut {
        name: t(&[lit("/dr/url")]),
        value: t(&[sref("hook")]),
        secure: true,
    });
    let j = json_of(&plan_of(&rb));
    let ssm = &j["steps"][0]["action"];
    assert_eq!(ssm["kind"], "ssm_command");
    assert_eq!(ssm["targets"], serde_json::json!({"tags": {"Role": "api"}}));
    assert_eq!(ssm["parameters"]["commands"], serde_json::json!(["deploy 'x; rm -rf /'"]));
    assert_eq!(ssm["parameters"]["workingDirectory"], serde_json::json!(["x; rm -rf /"]));
    assert_eq!(ssm["max_concurrency"], "50%");
    assert_eq!(ssm["max_errors"], Value::Null);
    assert_eq!(
        j["steps"][1]["action"],
        serde_json::json!({"kind": "ssm_put", "name": "/dr/url", "value": "<secret:hook>", "secure": true})
    );
}

#[test]
fn expressions_render_like_source() {
    let rb = diamond(None);
    let values = HashMap::new();
    let ctx = super::super::resolve::Ctx::new(&rb, &values);
    let name = |n: &str| Box::new(Expr::Ref(Ref::Param(n.to_string())));
    let bin = |op, l, r| Box::new(Expr::Binary(op, l, r));
    let or = bin(
        BinOp::Or,
        name("a"),
        bin(BinOp::Eq, name("b"), Box::new(Expr::Str("x\"y".to_string()))),
    );
    let e = Expr::Binary(
        BinOp::And,
        or,
        Box::new(Expr::Not(bin(BinOp::Gt, name("lag"), Box::new(Expr::Duration(5 * MIN))))),
    );
    assert_eq!(ctx.expr(&e), "(a || b == \"x\\\"y\") && !(lag > 5m)");
    let right = Expr::Binary(BinOp::Or, name("a"), bin(BinOp::Or, name("b"), name("c")));
    assert_eq!(ctx.expr(&right), "a || (b || c)");
    assert_eq!(ctx.expr(&Expr::Duration(1500)), "1s500ms");
}

#[test]
fn durations_are_human_readable() {
    assert_eq!(human(0), "0s");
    assert_eq!(human(45), "45s");
    assert_eq!(human(5400), "1h30m");
    assert_eq!(human(3605), "1h5s");
    assert_eq!(human(2 * 86_400 + 60), "2d1m");
}
