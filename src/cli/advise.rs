//! `drbook advise`: business impact in (`--hourly-revenue`, `--regulatory`, ...), the DR guide's
//! recommended RPO, RTO, standby strategy and cost tier out (`crate::advise`), as text or JSON,
//! with the `rto`/`rpo`/`tier` header lines and the `impact { }` block to paste into a runbook.

use super::outcome::{CliError, Outcome};
use crate::advise::{Advice, CostTier, CustomerImpact, Impact, Regulatory, Strategy};
use crate::model::fmt_duration;
use clap::ValueEnum;
use std::io::Write;

/// The flags of `drbook advise`.
#[derive(clap::Args, Debug)]
pub struct AdviseArgs {
    /// Revenue the service brings in per hour (0 or more).
    #[arg(long, value_name = "N", value_parser = amount, allow_hyphen_values = true)]
    pub hourly_revenue: f64,
    /// Transactions per hour (0 or more).
    #[arg(long, value_name = "N", value_parser = amount, allow_hyphen_values = true)]
    pub transactions_per_hour: f64,
    /// How strictly regulation binds the service.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub regulatory: RegulatoryArg,
    /// How badly an outage hurts customers.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub customer_impact: CustomerImpactArg,
    /// What recreating lost data by hand would cost (0 or more).
    #[arg(long, value_name = "N", value_parser = amount, allow_hyphen_values = true)]
    pub data_recreation_cost: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AdviseFormat::Text)]
    pub format: AdviseFormat,
}

/// `--regulatory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RegulatoryArg {
    /// No regulatory requirement.
    None,
    /// Some regulation (halves the RTO).
    Moderate,
    /// Financial, healthcare (a tenth of the RTO).
    Strict,
}

/// `--customer-impact`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CustomerImpactArg {
    /// An inconvenience (the RTO as it is).
    Low,
    /// Half the RTO.
    Medium,
    /// A quarter of the RTO.
    High,
    /// Customers cannot work (a tenth of the RTO).
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AdviseFormat {
    Text,
    Json,
}

/// A money or volume amount: a finite number of at least 0.
fn amount(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err("must be a finite number of at least 0".into()),
        Err(_) => Err("not a number (e.g. 50000 or 2500.50)".into()),
    }
}

impl AdviseArgs {
    fn impact(&self) -> Impact {
        let regulatory = match self.regulatory {
            RegulatoryArg::None => Regulatory::None,
            RegulatoryArg::Moderate => Regulatory::Moderate,
            RegulatoryArg::Strict => Regulatory::Strict,
        };
        let customer_impact = match self.customer_impact {
            CustomerImpactArg::Low => CustomerImpact::Low,
            CustomerImpactArg::Medium => CustomerImpact::Medium,
            CustomerImpactArg::High => CustomerImpact::High,
            CustomerImpactArg::Critical => CustomerImpact::Critical,
        };
        Impact {
            hourly_revenue: self.hourly_revenue,
            transactions_per_hour: self.transactions_per_hour,
            regulatory,
            customer_impact,
            data_recreation_cost: self.data_recreation_cost,
        }
    }
}

/// The runbook `tier` word that goes with a strategy (`check` reads critical|hot,
/// important|warm, standard|cold).
pub fn tier(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::HotStandbySyncReplication | Strategy::HotStandbyAsyncReplication => "critical",
        Strategy::WarmStandby => "important",
        Strategy::ColdStandby => "standard",
    }
}

fn cost_words(c: CostTier) -> &'static str {
    match c {
        CostTier::VeryHigh => "very high (2x or more of the primary infrastructure)",
        CostTier::High => "high (1.5x of the primary infrastructure)",
        CostTier::Medium => "medium (0.5x of the primary infrastructure)",
        CostTier::Low => "low (minimal standby costs)",
    }
}

/// A number as the runbook language writes it: `50000`, `2500.5`.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Hours as the guide prints them (Python's `str` of a float: `0.25`, `24.0`).
fn hours(h: f64) -> String {
    if h.fract() == 0.0 {
        format!("{h:.1}")
    } else {
        format!("{h}")
    }
}

fn impact_block(i: &Impact) -> String {
    let regulatory = match i.regulatory {
        Regulatory::None => "none",
        Regulatory::Moderate => "moderate",
        Regulatory::Strict => "strict",
    };
    let customer = match i.customer_impact {
        CustomerImpact::Low => "low",
        CustomerImpact::Medium => "medium",
        CustomerImpact::High => "high",
        CustomerImpact::Critical => "critical",
    };
    // Aligned as `drbook fmt` aligns a block's values.
    let lines = [
        ("hourly_revenue", number(i.hourly_revenue)),
        ("transactions_per_hour", number(i.transactions_per_hour)),
        ("regulatory", regulatory.to_string()),
        ("customer_impact", customer.to_string()),
        ("data_recreation_cost", number(i.data_recreation_cost)),
    ];
    let mut out = String::from("impact {\n");
    for (key, value) in lines {
        out.push_str(&format!("  {key:<21} {value}\n"));
    }
    out.push_str("}\n");
    out
}

fn text(impact: &Impact, a: &Advice) -> String {
    let (rto, rpo) = (fmt_duration(a.rto_ms()), fmt_duration(a.rpo_ms()));
    let mut out = format!(
        "recommended RTO  {} h ({rto})\nrecommended RPO  {} h ({rpo})\nstrategy         {}\nannual cost      {}\n\nin a runbook:\n",
        hours(a.rto_hours),
        hours(a.rpo_hours),
        a.recommended_strategy.words(),
        cost_words(a.estimated_annual_cost),
    );
    out.push_str(&format!("  rto {rto}\n  rpo {rpo}\n  tier {}\n", tier(a.recommended_strategy)));
    for line in impact_block(impact).lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// The guide's keys and values (`calculate_recovery_objectives`'s dict, in its order), then
/// drbook's: the objectives as durations and the runbook `tier`.
#[derive(serde::Serialize)]
struct Json {
    rpo_hours: f64,
    rto_hours: f64,
    recommended_strategy: &'static str,
    estimated_annual_cost: &'static str,
    rto: String,
    rpo: String,
    tier: &'static str,
}

fn json(a: &Advice) -> Result<String, CliError> {
    let value = Json {
        rpo_hours: a.rpo_hours,
        rto_hours: a.rto_hours,
        recommended_strategy: a.recommended_strategy.name(),
        estimated_annual_cost: a.estimated_annual_cost.name(),
        rto: fmt_duration(a.rto_ms()),
        rpo: fmt_duration(a.rpo_ms()),
        tier: tier(a.recommended_strategy),
    };
    let text = serde_json::to_string_pretty(&value)
        .map_err(|e| CliError::Failed(format!("cannot render the advice: {e}")))?;
    Ok(text + "\n")
}

pub fn advise(args: &AdviseArgs) -> Result<Outcome, CliError> {
    let impact = args.impact();
    let advice = crate::advise::advise(&impact)
        .map_err(|e| CliError::invalid(format!("--{}: {e}", e.field.replace('_', "-"))))?;
    let out = match args.format {
        AdviseFormat::Text => text(&impact, &advice),
        AdviseFormat::Json => json(&advice)?,
    };
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => Ok(Outcome::Succeeded),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Succeeded),
        Err(e) => Err(CliError::Failed(format!("cannot write the advice: {e}"))),
    }
}
