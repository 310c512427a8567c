//! Approval gates as the journal knows them: the gate a step waits at, the approvals it has,
//! and [`judge`], the pure rule that says whether a person may approve it now and for which
//! role. Replay uses the same rule, so the journal can never hold an approval that breaks it,
//! whichever way (prompt, `drbook approve`, `--approve`) the approval came.
//!
//! The rules (LANGUAGE.md §5, §8): one approval per listed role, each by a different person;
//! when the runbook declares `roles`, the person must be a member of the role; without a role
//! named, an approval counts for the first role of the gate that is still missing and that the
//! person may hold. Names compare as people read them (`identity.rs`: NFKC, case, TR39
//! confusables), so `Alice`, `аlice` (Cyrillic `а`) and `ａｌｉｃｅ` are one person, and a
//! name with control, zero-width or bidi characters is refused. Under
//! `initiator_may_approve false` the person who started the run approves nothing.

use super::How;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The gate a step waits at, copied from the runbook when the wait began.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub roles: Vec<String>,
    /// Who may hold each role; `None` when the runbook declares no `roles` (anyone may).
    pub members: Option<BTreeMap<String, Vec<String>>>,
    pub timeout_ms: Option<u64>,
    pub requested_at: String,
    /// Who may not approve at all (the initiator, under `initiator_may_approve false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
    /// How approvers prove who they are (header `approvals`); under `os`, approvals count as
    /// the OS account that asked ([`super::inbox::apply`]).
    #[serde(default)]
    pub approvals: crate::model::ApprovalMode,
    /// The runbook's allowed_signers text, for `approvals signed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<String>,
}

/// The SSH signature that proved an approval: the key's fingerprint, the signed message and
/// the armored `sshsig` signature (see [`super::sign`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedBy {
    pub key: String,
    pub message: String,
    pub signature: String,
}

/// One approval given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub role: String,
    pub by: String,
    pub at: String,
    pub how: How,
    pub comment: Option<String>,
    pub request: Option<String>,
    /// The signature that proved the approver, under `approvals signed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<SignedBy>,
    /// Given under `approvals os`: `by` is the OS account that asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub os: bool,
}

impl ApprovalRecord {
    /// How the approver was proved: `signed: SHA256:...`, `os account` or `typed`.
    pub fn proof(&self) -> String {
        match &self.signed {
            Some(s) => format!("signed: {}", s.key),
            None if self.os => "os account".into(),
            None => "typed".into(),
        }
    }
}

pub use super::identity::same_person;

impl Gate {
    /// The roles nobody has approved yet, in the gate's order.
    pub fn missing<'a>(&'a self, approvals: &[ApprovalRecord]) -> Vec<&'a str> {
        self.roles
            .iter()
            .filter(|r| !approvals.iter().any(|a| &a.role == *r))
            .map(String::as_str)
            .collect()
    }

    /// Whether `who` may hold `role` (always, without declared roles).
    pub fn may_hold(&self, who: &str, role: &str) -> bool {
        match &self.members {
            None => true,
            Some(m) => m.get(role).is_some_and(|ps| ps.iter().any(|p| same_person(p, who))),
        }
    }

    fn members_of(&self, role: &str) -> String {
        match self.members.as_ref().and_then(|m| m.get(role)) {
            Some(ps) if !ps.is_empty() => ps.join(", "),
            _ => "nobody".into(),
        }
    }
}

/// The role `who` approves for, or why they may not. `role` is the one they named, if any.
/// `approvals` are those already given at this gate.
pub fn judge(
    gate: &Gate,
    approvals: &[ApprovalRecord],
    who: &str,
    role: Option<&str>,
) -> Result<String, String> {
    super::identity::check_name(who)?;
    let missing = gate.missing(approvals);
    if missing.is_empty() {
        return Err("every role of this gate is already approved".into());
    }
    if let Some(x) = gate.excluded.as_deref().filter(|x| same_person(x, who)) {
        return Err(format!(
            "{who} started this run and may not approve it (the runbook says \
             `initiator_may_approve false`; the run was started by {x})"
        ));
    }
    let mut why = Vec::new();
    if let Some(a) = approvals.iter().find(|a| same_person(&a.by, who)) {
        why.push(format!(
            "{who} already approved this step (as {}); each role needs a different person",
            a.role
        ));
    }
    let chosen = match role {
        Some(r) => {
            if !gate.roles.iter().any(|g| g == r) {
                return Err(format!(
                    "`{r}` is not a role of this gate (it needs: {})",
                    gate.roles.join(", ")
                ));
            }
            if let Some(a) = approvals.iter().find(|a| a.role == r) {
                return Err(format!("role {r} is already satisfied (approved by {})", a.by));
            }
            if !gate.may_hold(who, r) {
                why.push(format!("{who} is not a member of role {r} ({})", gate.members_of(r)));
            }
            r.to_string()
        }
        None => match missing.iter().find(|r| gate.may_hold(who, r)) {
            Some(r) => r.to_string(),
            None => {
                let list: Vec<String> =
                    missing.iter().map(|r| format!("{r} ({})", gate.members_of(r))).collect();
                why.push(format!(
                    "{who} is not a member of any role still missing: {}",
                    list.join("; ")
                ));
                String::new()
            }
        },
    };
    if why.is_empty() {
        Ok(chosen)
    } else {
        Err(why.join("; and "))
    }
}
