//! The objectives advisor: business impact in, recommended RPO, RTO, standby strategy and cost
//! tier out.
//!
//! It is the DR planning guide's `calculate_recovery_objectives` with the same factors, floors,
//! caps and tiers: the RTO starts at 24 hours and is scaled by the customer impact, the regulatory
//! regime and the revenue (capped at 10,000 an hour), never below 15 minutes; the RPO follows the
//! data recreation cost and the transaction volume; the strategy and the cost tier are read off
//! the unrounded objectives, and the reported hours are rounded to two decimals the way the guide
//! rounds them. `drbook advise` prints it and `check` compares a runbook's `impact { }` with it.

use serde::Serialize;

#[cfg(test)]
mod tests;

/// How strictly regulation binds the service (`--regulatory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regulatory {
    None,
    Moderate,
    Strict,
}

/// How badly an outage hurts customers (`--customer-impact`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerImpact {
    Low,
    Medium,
    High,
    Critical,
}

/// The standby strategy the objectives call for, from the tightest to the loosest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    HotStandbySyncReplication,
    HotStandbyAsyncReplication,
    WarmStandby,
    ColdStandby,
}

/// The rough yearly cost of the standby, relative to the primary's infrastructure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostTier {
    /// 2x or more of the primary infrastructure.
    VeryHigh,
    /// 1.5x.
    High,
    /// 0.5x.
    Medium,
    /// Minimal standby costs.
    Low,
}

/// What the advisor is told about a service.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impact {
    /// Revenue the service brings in per hour.
    pub hourly_revenue: f64,
    /// Transactions per hour.
    pub transactions_per_hour: f64,
    pub regulatory: Regulatory,
    pub customer_impact: CustomerImpact,
    /// What recreating lost data by hand would cost.
    pub data_recreation_cost: f64,
}

/// The advice: objectives in hours, rounded to two decimals as the guide prints them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Advice {
    pub rpo_hours: f64,
    pub rto_hours: f64,
    pub recommended_strategy: Strategy,
    pub estimated_annual_cost: CostTier,
}

impl Advice {
    /// The advised RTO in milliseconds (from the rounded hours).
    pub fn rto_ms(&self) -> u64 {
        hours_ms(self.rto_hours)
    }

    /// The advised RPO in milliseconds (from the rounded hours).
    pub fn rpo_ms(&self) -> u64 {
        hours_ms(self.rpo_hours)
    }
}

/// Why the advisor refused its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be a finite number of at least 0 (got {value})")]
pub struct BadInput {
    pub field: &'static str,
    pub value: String,
}

/// Advise objectives for `impact`. Negative, infinite or NaN amounts are refused: the guide's
/// formula is only meaningful for amounts of zero and more.
pub fn advise(impact: &Impact) -> Result<Advice, BadInput> {
    for (field, value) in [
        ("hourly_revenue", impact.hourly_revenue),
        ("transactions_per_hour", impact.transactions_per_hour),
        ("data_recreation_cost", impact.data_recreation_cost),
    ] {
        if !value.is_finite() || value < 0.0 {
            return Err(BadInput { field, value: value.to_string() });
        }
    }
    let revenue_factor = (impact.hourly_revenue / 10000.0).min(1.0);
    let impact_factor = match impact.customer_impact {
        CustomerImpact::Low => 1.0,
        CustomerImpact::Medium => 0.5,
        CustomerImpact::High => 0.25,
        CustomerImpact::Critical => 0.1,
    };
    let reg_factor = match impact.regulatory {
        Regulatory::None => 1.0,
        Regulatory::Moderate => 0.5,
        Regulatory::Strict => 0.1,
    };
    let base_rto = 24.0;
    let rto = (base_rto * impact_factor * reg_factor * (1.0 - revenue_factor)).max(0.25);
    let (cost, volume) = (impact.data_recreation_cost, impact.transactions_per_hour);
    let rpo = if cost > 100000.0 || volume > 10000.0 {
        (rto / 2.0).min(1.0)
    } else if cost > 10000.0 || volume > 1000.0 {
        rto.min(4.0)
    } else {
        (rto * 2.0).min(24.0)
    };
    Ok(Advice {
        rpo_hours: round2(rpo),
        rto_hours: round2(rto),
        recommended_strategy: strategy(rto, rpo),
        estimated_annual_cost: cost_tier(rto),
    })
}

fn strategy(rto: f64, rpo: f64) -> Strategy {
    if rto <= 0.25 && rpo <= 0.25 {
        Strategy::HotStandbySyncReplication
    } else if rto <= 1.0 && rpo <= 1.0 {
        Strategy::HotStandbyAsyncReplication
    } else if rto <= 4.0 {
        Strategy::WarmStandby
    } else {
        Strategy::ColdStandby
    }
}

fn cost_tier(rto: f64) -> CostTier {
    if rto <= 0.25 {
        CostTier::VeryHigh
    } else if rto <= 1.0 {
        CostTier::High
    } else if rto <= 4.0 {
        CostTier::Medium
    } else {
        CostTier::Low
    }
}

/// Two decimals, rounded as Python's `round(x, 2)` rounds: to the nearest of the two-decimal
/// numbers by the float's exact value, ties to even. Rust's `{:.2}` formats by the same rule.
fn round2(x: f64) -> f64 {
    format!("{x:.2}").parse().unwrap_or(x)
}

fn hours_ms(h: f64) -> u64 {
    (h * 3_600_000.0).round() as u64
}

impl Strategy {
    /// The guide's name for the strategy (`warm_standby`).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::HotStandbySyncReplication => "hot_standby_sync_replication",
            Strategy::HotStandbyAsyncReplication => "hot_standby_async_replication",
            Strategy::WarmStandby => "warm_standby",
            Strategy::ColdStandby => "cold_standby",
        }
    }

    /// The strategy in words: `hot standby (sync replication)`.
    pub fn words(self) -> &'static str {
        match self {
            Strategy::HotStandbySyncReplication => "hot standby (sync replication)",
            Strategy::HotStandbyAsyncReplication => "hot standby (async replication)",
            Strategy::WarmStandby => "warm standby",
            Strategy::ColdStandby => "cold standby",
        }
    }
}

impl CostTier {
    /// The guide's name for the tier (`very_high`).
    pub fn name(self) -> &'static str {
        match self {
            CostTier::VeryHigh => "very_high",
            CostTier::High => "high",
            CostTier::Medium => "medium",
            CostTier::Low => "low",
        }
    }
}

impl Regulatory {
    /// The word for it in `impact { }` and on the command line.
    pub fn parse(s: &str) -> Option<Regulatory> {
        Some(match s {
            "none" => Regulatory::None,
            "moderate" => Regulatory::Moderate,
            "strict" => Regulatory::Strict,
            _ => return None,
        })
    }
}

impl CustomerImpact {
    /// The word for it in `impact { }` and on the command line.
    pub fn parse(s: &str) -> Option<CustomerImpact> {
        Some(match s {
            "low" => CustomerImpact::Low,
            "medium" => CustomerImpact::Medium,
            "high" => CustomerImpact::High,
            "critical" => CustomerImpact::Critical,
            _ => return None,
        })
    }
}
