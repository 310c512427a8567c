//! `drbook advise`: the DR planning guide's two examples (the payment system and the internal
//! reporting dashboard) through the real binary, as text and JSON; bad amounts and levels exit 2
//! naming the flag; `--help` lists the levels; the lines it prints paste into a runbook.

use crate::{json, Test, TODAY};

/// The guide's e-commerce payment system.
const PAYMENT: &[&str] = &[
    "advise",
    "--hourly-revenue",
    "50000",
    "--transactions-per-hour",
    "5000",
    "--regulatory",
    "strict",
    "--customer-impact",
    "critical",
    "--data-recreation-cost",
    "500000",
];

/// The guide's internal reporting dashboard.
const REPORTING: &[&str] = &[
    "advise",
    "--hourly-revenue",
    "100",
    "--transactions-per-hour",
    "50",
    "--regulatory",
    "none",
    "--customer-impact",
    "low",
    "--data-recreation-cost",
    "1000",
];

fn with(base: &[&str], extra: &[&str]) -> Vec<String> {
    base.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn run(args: &[String]) -> crate::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Test::new().args(&args).run()
}

/// `base` with the value of `flag` replaced by `value`.
fn replaced(base: &[&str], flag: &str, value: &str) -> Vec<String> {
    let mut args = with(base, &[]);
    let at = args.iter().position(|a| a == flag).expect("the flag is in the base arguments");
    args[at + 1] = value.to_string();
    args
}

#[test]
fn advise_payment_system_text() {
    let out = run(&with(PAYMENT, &[]));
    out.expect_status(0);
    let expected = "\
recommended RTO  0.25 h (15m)
recommended RPO  0.12 h (7m12s)
strategy         hot standby (sync replication)
annual cost      very high (2x or more of the primary infrastructure)

in a runbook:
  rto 15m
  rpo 7m12s
  tier critical
  impact {
    hourly_revenue        50000
    transactions_per_hour 5000
    regulatory            strict
    customer_impact       critical
    data_recreation_cost  500000
  }
";
    assert_eq!(out.stdout, expected, "stderr: {}", out.stderr);
}

#[test]
fn advise_payment_system_json_has_the_guides_keys_and_values() {
    let out = run(&with(PAYMENT, &["--format", "json"]));
    out.expect_status(0);
    let v = json(&out);
    // The guide prints: Payment System: RPO=0.12h, RTO=0.25h, Strategy=hot_standby_sync_replication
    assert_eq!(v["rpo_hours"], 0.12);
    assert_eq!(v["rto_hours"], 0.25);
    assert_eq!(v["recommended_strategy"], "hot_standby_sync_replication");
    assert_eq!(v["estimated_annual_cost"], "very_high");
    assert_eq!(v["rto"], "15m");
    assert_eq!(v["rpo"], "7m12s");
    assert_eq!(v["tier"], "critical");
    // The guide's dict's keys come first, in its order.
    let keys: Vec<&str> =
        ["rpo_hours", "rto_hours", "recommended_strategy", "estimated_annual_cost"]
            .into_iter()
            .collect();
    let at = |k: &str| out.stdout.find(&format!("\"{k}\"")).expect("the key is in the output");
    assert!(keys.windows(2).all(|w| at(w[0]) < at(w[1])), "{}", out.stdout);
    assert!(at("estimated_annual_cost") < at("rto"), "{}", out.stdout);
}

#[test]
fn advise_internal_reporting_text() {
    let out = run(&with(REPORTING, &[]));
    out.expect_status(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "recommended RTO  23.76 h (23h45m36s)", "{}", out.stdout);
    assert_eq!(lines[1], "recommended RPO  24.0 h (1d)", "{}", out.stdout);
    assert_eq!(lines[2], "strategy         cold standby", "{}", out.stdout);
    assert_eq!(lines[3], "annual cost      low (minimal standby costs)", "{}", out.stdout);
    assert!(out.stdout.contains("\n  tier standard\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\n    regulatory            none\n"), "{}", out.stdout);
}

#[test]
fn advise_internal_reporting_json() {
    let out = run(&with(REPORTING, &["--format", "json"]));
    out.expect_status(0);
    let v = json(&out);
    // The guide prints: Reporting: RPO=24.0h, RTO=23.76h, Strategy=cold_standby
    assert_eq!(v["rpo_hours"], 24.0);
    assert_eq!(v["rto_hours"], 23.76);
    assert_eq!(v["recommended_strategy"], "cold_standby");
    assert_eq!(v["estimated_annual_cost"], "low");
    assert_eq!(v["rto"], "23h45m36s");
    assert_eq!(v["rpo"], "1d");
    assert_eq!(v["tier"], "standard");
}

#[test]
fn advise_middle_tiers_and_decimal_amounts() {
    let args = [
        "advise",
        "--hourly-revenue",
        "2500.5",
        "--transactions-per-hour",
        "5000",
        "--regulatory",
        "moderate",
        "--customer-impact",
        "high",
        "--data-recreation-cost",
        "5e3",
        "--format",
        "json",
    ];
    let out = Test::new().args(&args).run();
    out.expect_status(0);
    let v = json(&out);
    assert_eq!(v["rto_hours"], 2.25);
    assert_eq!(v["rpo_hours"], 2.25);
    assert_eq!(v["recommended_strategy"], "warm_standby");
    assert_eq!(v["estimated_annual_cost"], "medium");
    assert_eq!(v["tier"], "important");
}

#[test]
fn advise_refuses_bad_amounts_naming_the_flag() {
    for flag in ["--hourly-revenue", "--transactions-per-hour", "--data-recreation-cost"] {
        for bad in ["-5", "-0.01", "abc", "", "NaN", "inf", "-infinity", "1e400"] {
            let out = run(&replaced(PAYMENT, flag, bad));
            out.expect_no_crash().expect_status(2).expect_stderr(flag);
            assert!(out.stdout.is_empty(), "{flag} {bad:?}: {}", out.stdout);
            assert!(
                out.stderr.contains("at least 0") || out.stderr.contains("not a number"),
                "{flag} {bad:?}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn advise_refuses_unknown_levels_listing_the_values() {
    let out = run(&replaced(PAYMENT, "--regulatory", "extreme"));
    out.expect_status(2).expect_stderr("--regulatory").expect_stderr("none, moderate, strict");
    let out = run(&replaced(PAYMENT, "--customer-impact", "severe"));
    out.expect_status(2)
        .expect_stderr("--customer-impact")
        .expect_stderr("low, medium, high, critical");
    let out = Test::new().args(&PAYMENT[..5]).run();
    out.expect_status(2).expect_stderr("--regulatory").expect_stderr("--data-recreation-cost");
}

#[test]
fn advise_help_lists_the_values() {
    let out = Test::new().args(&["advise", "--help"]).run();
    out.expect_status(0);
    for word in [
        "--hourly-revenue",
        "--transactions-per-hour",
        "--data-recreation-cost",
        "none",
        "moderate",
        "strict",
        "low",
        "medium",
        "high",
        "critical",
        "json",
    ] {
        assert!(out.stdout.contains(word), "`advise --help` lacks {word}\n{}", out.stdout);
    }
}

/// What `advise` prints under "in a runbook:", put in a runbook's header: `check` accepts it
/// without a warning and `fmt` leaves the `impact { }` block as it is.
#[test]
fn advise_snippet_pastes_into_a_runbook() {
    let out = run(&with(PAYMENT, &[]));
    out.expect_status(0);
    let snippet = out.stdout.split("in a runbook:\n").nth(1).expect("the runbook lines");
    let book = format!(
        "runbook \"payments\" {{\n  owner \"payments-team\"\n{snippet}  step promote \"Promote\" {{\n    owner \"dba\"\n    duration 5m\n    manual \"Promote the replica\"\n  }}\n}}\n"
    );
    let t = Test::new().file("payments.drbook", &book);
    let out = t.cmd(&["check", "--today", TODAY, "payments.drbook"]);
    out.expect_status(0);
    // The advised objectives themselves draw no warning about the advice.
    assert!(out.stderr.contains("(0 errors, 0 warnings)"), "{}", out.stderr);
    t.cmd(&["fmt", "payments.drbook"]).expect_status(0);
    let after = t.read("payments.drbook");
    let start = snippet.find("  impact {").expect("the impact block");
    let end = start + snippet[start..].find("\n  }\n").expect("its end") + 5;
    let block = &snippet[start..end];
    assert!(after.contains(block), "fmt changed the impact block\n{block}\n---\n{after}");
}
