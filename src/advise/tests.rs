//! The guide's two examples, the boundaries of every branch, and a table computed by the guide's
//! own function (`gen_table.py` writes `table.csv`).

use super::*;

fn imp(rev: f64, tx: f64, reg: Regulatory, ci: CustomerImpact, cost: f64) -> Impact {
    Impact {
        hourly_revenue: rev,
        transactions_per_hour: tx,
        regulatory: reg,
        customer_impact: ci,
        data_recreation_cost: cost,
    }
}

#[test]
fn the_guides_payment_system() {
    let a = advise(&imp(50000.0, 5000.0, Regulatory::Strict, CustomerImpact::Critical, 500000.0))
        .expect("test");
    assert_eq!(a.rto_hours, 0.25);
    assert_eq!(a.rpo_hours, 0.12);
    assert_eq!(a.recommended_strategy, Strategy::HotStandbySyncReplication);
    assert_eq!(a.estimated_annual_cost, CostTier::VeryHigh);
    assert_eq!(a.rto_ms(), 15 * 60_000);
}

#[test]
fn the_guides_internal_reporting() {
    let a = advise(&imp(100.0, 50.0, Regulatory::None, CustomerImpact::Low, 1000.0)).expect("test");
    assert_eq!(a.rto_hours, 23.76);
    assert_eq!(a.rpo_hours, 24.0);
    assert_eq!(a.recommended_strategy, Strategy::ColdStandby);
    assert_eq!(a.estimated_annual_cost, CostTier::Low);
}

#[test]
fn strategy_boundaries() {
    use Strategy::*;
    for (rto, rpo, want) in [
        (0.25, 0.25, HotStandbySyncReplication),
        (0.25, 0.2500001, HotStandbyAsyncReplication),
        (0.2500001, 0.1, HotStandbyAsyncReplication),
        (1.0, 1.0, HotStandbyAsyncReplication),
        (1.0, 1.0000001, WarmStandby),
        (1.0000001, 0.5, WarmStandby),
        (4.0, 24.0, WarmStandby),
        (4.0000001, 0.1, ColdStandby),
    ] {
        assert_eq!(strategy(rto, rpo), want, "rto {rto} rpo {rpo}");
    }
}

#[test]
fn cost_boundaries() {
    use CostTier::*;
    for (rto, want) in [
        (0.25, VeryHigh),
        (0.2500001, High),
        (1.0, High),
        (1.0000001, Medium),
        (4.0, Medium),
        (4.0000001, Low),
    ] {
        assert_eq!(cost_tier(rto), want, "rto {rto}");
    }
}

#[test]
fn rto_floor_and_rpo_caps() {
    // Revenue at the cap: the formula gives 0, the floor makes it 15 minutes.
    let a = advise(&imp(10000.0, 0.0, Regulatory::None, CustomerImpact::Low, 0.0)).expect("test");
    assert_eq!(a.rto_hours, 0.25);
    // Revenue over the cap counts as the cap.
    let b = advise(&imp(1e9, 0.0, Regulatory::None, CustomerImpact::Low, 0.0)).expect("test");
    assert_eq!(a, b);
    // RPO caps: 24 hours (cheap data), 4 hours (costly), 1 hour (very costly or busy).
    let low = |cost, tx| {
        advise(&imp(0.0, tx, Regulatory::None, CustomerImpact::Low, cost)).expect("test")
    };
    assert_eq!(low(0.0, 0.0).rpo_hours, 24.0);
    assert_eq!(low(10000.0, 1000.0).rpo_hours, 24.0);
    assert_eq!(low(10000.01, 0.0).rpo_hours, 4.0);
    assert_eq!(low(0.0, 1001.0).rpo_hours, 4.0);
    assert_eq!(low(100000.0, 10000.0).rpo_hours, 4.0);
    assert_eq!(low(100001.0, 0.0).rpo_hours, 1.0);
    assert_eq!(low(0.0, 10001.0).rpo_hours, 1.0);
}

#[test]
fn bad_amounts_are_refused() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let e = advise(&imp(bad, 0.0, Regulatory::None, CustomerImpact::Low, 0.0))
            .expect_err("refused");
        assert_eq!(e.field, "hourly_revenue");
        let e = advise(&imp(0.0, 0.0, Regulatory::None, CustomerImpact::Low, bad))
            .expect_err("refused");
        assert_eq!(e.field, "data_recreation_cost");
    }
}

#[test]
fn agrees_with_the_guides_function_on_every_row_of_the_table() {
    let table = include_str!("table.csv");
    let mut rows = 0;
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let n = |i: usize| f[i].parse::<f64>().expect("test");
        let a = advise(&imp(
            n(0),
            n(1),
            Regulatory::parse(f[2]).expect("test"),
            CustomerImpact::parse(f[3]).expect("test"),
            n(4),
        ))
        .expect("test");
        assert_eq!((a.rpo_hours, a.rto_hours), (n(5), n(6)), "{line}");
        assert_eq!(a.recommended_strategy.name(), f[7], "{line}");
        assert_eq!(a.estimated_annual_cost.name(), f[8], "{line}");
        rows += 1;
    }
    assert_eq!(rows, 1800);
}
