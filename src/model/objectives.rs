//! Per-service recovery objectives (`objectives { service "api-gateway" { rto 15m; ... } }`),
//! the services a step restores (`restores "api-gateway"`), and the runbook's business impact
//! (`impact { hourly_revenue 50000; ... }`) that the objectives advisor (`crate::advise`) reads.

use crate::advise::{CustomerImpact, Regulatory};
use crate::diag::Span;

use super::Millis;

/// One `service "NAME" { rto D; rpo D; tier IDENT }` of the header's `objectives { }` block.
#[derive(Clone, Debug)]
pub struct ServiceObjective {
    pub name: String,
    pub rto: Option<Millis>,
    pub rpo: Option<Millis>,
    pub tier: Option<String>,
    pub span: Span,
}

/// The header's `impact { }` block: what an outage of the runbook's service costs.
#[derive(Clone, Debug)]
pub struct ImpactDecl {
    pub hourly_revenue: f64,
    pub transactions_per_hour: f64,
    pub regulatory: Regulatory,
    pub customer_impact: CustomerImpact,
    pub data_recreation_cost: f64,
    pub span: Span,
}

impl ImpactDecl {
    /// What the advisor reads.
    pub fn impact(&self) -> crate::advise::Impact {
        crate::advise::Impact {
            hourly_revenue: self.hourly_revenue,
            transactions_per_hour: self.transactions_per_hour,
            regulatory: self.regulatory,
            customer_impact: self.customer_impact,
            data_recreation_cost: self.data_recreation_cost,
        }
    }
}
