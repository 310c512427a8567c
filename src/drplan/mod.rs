//! The DR plan document: the DR planning guide's `disaster-recovery-plan.yaml` template as Rust
//! types, shared by `drbook export --format dr-plan` (a runbook rendered into it, `plan::drplan`)
//! and `drbook import` (a document turned into a runbook, `import`).
//!
//! Keys and layout are the guide's, so a consumer of the template keeps working; every field is
//! optional on input (real documents leave sections out) and omitted on output when empty.
//! What only drbook knows (step ids, dependencies, approvals, the content hash) lives under
//! `x-drbook` keys, which a consumer of the template ignores.

pub mod prose;
pub mod read;

use serde::{Deserialize, Serialize};

/// The whole document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrPlan {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executive_summary: Option<ExecutiveSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_objectives: Option<RecoveryObjectives>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedures: Option<Procedures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub testing: Option<Testing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Contacts>,
    #[serde(rename = "x-drbook", skip_serializing_if = "Option::is_none")]
    pub x_drbook: Option<XDrbook>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_frequency: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecutiveSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_metrics: Option<KeyMetrics>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo_target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dr_strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_annual_cost: Option<String>,
    /// drbook: the critical path's length (`"43 minutes"`).
    #[serde(rename = "x-drbook-estimated-rto", skip_serializing_if = "Option::is_none")]
    pub x_estimated_rto: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Scope {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_scope: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub out_of_scope: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecoveryObjectives {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_service: Vec<ServiceEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceEntry {
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// drbook: the longest chain of steps that ends in this service's last step.
    #[serde(rename = "x-drbook-estimated-rto", skip_serializing_if = "Option::is_none")]
    pub x_estimated_rto: Option<String>,
}

/// Free-form in the guide (regions, replication kinds): kept as it is read.
pub type Architecture = serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Procedures {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover: Option<Procedure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failback: Option<Procedure>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Procedure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automated_trigger: Option<AutomatedTrigger>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_trigger: Option<ManualTrigger>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<ProcedureStep>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutomatedTrigger {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManualTrigger {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_required: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcedureStep {
    /// The step's number, from 1, in the order the steps are taken.
    pub step: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Prose as the guide writes it: `"5 minutes"`, `"1 hour"`, `"24 hours before"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(rename = "x-drbook", skip_serializing_if = "Option::is_none")]
    pub x_drbook: Option<XStep>,
}

/// What drbook knows about a step beyond the template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct XStep {
    /// The step's id in the runbook.
    pub id: String,
    /// Ids of the steps it needs (the template only knows the order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// The roles whose approval the step's gate requires (`["lead", "manager"]`); `["any"]`
    /// for a bare `approval`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approval: Vec<String>,
    /// The action's kind: `run`, `http`, `ssm`, `wait`, `manual`, `notify`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub safe: bool,
    /// The services (from `objectives`) the step restores.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restores: Vec<String>,
    /// The step is on the critical path.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub critical: bool,
    /// A `manual` action's instructions, when the step's title is its `action` text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Testing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub success_criteria: Vec<String>,
}

/// How often each drill type is due: the guide's words (`"monthly"`, `"quarterly"`), or a
/// duration where no word fits (`"every 45 days"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tabletop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_failover: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_failover: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_oncall: Option<PrimaryOncall>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stakeholders: Vec<Stakeholder>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrimaryOncall {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stakeholder {
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// drbook: the role's members (`roles { lead = [alice, bob] }`).
    #[serde(rename = "x-drbook-members", skip_serializing_if = "Vec::is_empty")]
    pub x_members: Vec<String>,
}

/// Document-wide drbook facts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct XDrbook {
    /// The runbook's name (`runbook NAME`).
    pub runbook: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The runbook's content hash (also `metadata.document_version`).
    pub content_hash: String,
    /// The header's `rto`/`rpo` in drbook's spelling (`1h`, `15m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Step ids on the critical path, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub critical_path: Vec<String>,
    /// `within` | `over` | `no_budget`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_template_reads_into_the_types() {
        let text = include_str!("../../tests/fixtures/dr-plan/guide-template.yaml");
        let doc: DrPlan = serde_saphyr::from_str(text).expect("test");
        let failover = doc.procedures.as_ref().expect("test").failover.as_ref().expect("test");
        assert_eq!(failover.steps.len(), 7);
        assert_eq!(
            failover.steps[2].command.as_deref(),
            Some("kubectl cnpg promote production-db-dr")
        );
        let by = &doc.recovery_objectives.as_ref().expect("test").by_service;
        assert_eq!(by[0].service, "api-gateway");
        assert_eq!(by[2].rto.as_deref(), Some("4 hours"));
        assert_eq!(doc.architecture.as_ref().expect("test")["dr_region"], "us-west-2");
        let back: DrPlan =
            serde_saphyr::from_str(&serde_saphyr::to_string(&doc).expect("test")).expect("test");
        assert_eq!(back, doc);
    }
}
