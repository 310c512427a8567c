//! Comparisons that demand numbers and the messages about a check that failed
//! (`Values::eval`, `Values::check_failed`): the expression as written, each value masked.

use crate::exec::secrets::Secrets;
use crate::exec::values::{Val, Values};
use crate::model::{BinOp, Expr, ParamValue, Ref};
use std::collections::{BTreeMap, HashMap};

fn values<'a>(params: &'a HashMap<String, ParamValue>, secrets: &'a Secrets) -> Values<'a> {
    Values {
        params,
        secrets,
        capture: &|_, n| Err(format!("no `{n}`")),
        run_id: "r1",
        runbook: "rb",
        own: None,
        steps: &[],
        ended: None,
    }
}

#[test]
fn a_number_literal_or_number_param_demands_a_number_on_the_other_side() {
    let params = HashMap::from([
        ("max".to_string(), ParamValue::Number(300.0)),
        ("name".to_string(), ParamValue::Str("db".into())),
        ("other".to_string(), ParamValue::Str("dc".into())),
    ]);
    let secrets = Secrets::from_pairs(vec![("pw".into(), "hunter2".into())]);
    let own = BTreeMap::from([
        ("lag".to_string(), String::new()),
        ("word".to_string(), "a \"b\" ${c}".to_string()),
        ("pw_copy".to_string(), "hunter2".to_string()),
    ]);
    let v = Values { own: Some(&own), ..values(&params, &secrets) };
    let r = |n: &str| Box::new(Expr::Ref(Ref::OwnCapture(n.into())));
    let p = |n: &str| Box::new(Expr::Ref(Ref::Param(n.into())));
    let cases = [
        (
            Expr::Binary(BinOp::Lt, r("lag"), Box::new(Expr::Number(300.0))),
            r#"lag is "" (not a number)"#,
        ),
        (
            Expr::Binary(BinOp::Ge, Box::new(Expr::Duration(5000)), r("word")),
            r#"word is "a \"b\" ${c}" (not a number)"#,
        ),
        (Expr::Binary(BinOp::Eq, r("lag"), p("max")), r#"lag is "" (not a number)"#),
        (Expr::Binary(BinOp::Eq, p("max"), r("pw_copy")), "pw_copy is <secret:pw> (not a number)"),
        (
            Expr::Binary(
                BinOp::Lt,
                Box::new(Expr::Ref(Ref::Secret("pw".into()))),
                Box::new(Expr::Number(1.0)),
            ),
            "pw is <secret:pw> (not a number)",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(v.eval(&e), Err(want.to_string()));
    }
    // Two names, or a string literal: numbers when both parse, else strings.
    assert_eq!(v.eval(&Expr::Binary(BinOp::Lt, p("name"), p("other"))), Ok(Val::Bool(true)));
    let lit = Box::new(Expr::Str("300".into()));
    assert_eq!(v.eval(&Expr::Binary(BinOp::Lt, r("lag"), lit)), Ok(Val::Bool(true)));
}

#[test]
fn a_false_check_names_its_expression_and_each_value_masked() {
    let params = HashMap::from([("max".to_string(), ParamValue::Number(300.0))]);
    let secrets = Secrets::from_pairs(vec![("pw".into(), "hunter2".into())]);
    let long = "x".repeat(500);
    let own = BTreeMap::from([
        ("lag".to_string(), "1200".to_string()),
        ("dump".to_string(), format!("{long}hunter2")),
    ]);
    let v = Values { own: Some(&own), ..values(&params, &secrets) };
    let r = |n: &str| Box::new(Expr::Ref(Ref::OwnCapture(n.into())));
    let e = Expr::Binary(
        BinOp::And,
        Box::new(Expr::Binary(BinOp::Lt, r("lag"), Box::new(Expr::Ref(Ref::Param("max".into()))))),
        Box::new(Expr::Binary(BinOp::Eq, Box::new(Expr::Ref(Ref::Secret("pw".into()))), r("lag"))),
    );
    assert_eq!(
        v.check_failed(&e),
        "check failed: lag < max && pw == lag (lag = 1200, max = 300, pw = <secret:pw>)"
    );
    let dump = Expr::Binary(BinOp::Eq, r("dump"), Box::new(Expr::Str("y".into())));
    let said = v.check_failed(&dump);
    assert!(!said.contains("hunter") && said.contains("…") && said.len() < 200, "{said}");
}
