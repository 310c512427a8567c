//! Recovery: statements no grammar rule accepted become precise diagnostics (unknown,
//! misplaced or malformed attributes, with "did you mean" and the statement's usage).

use super::{Builder, P};
use crate::diag::{shorten, suggest, Diagnostic};
use crate::syntax::ast::{IMPACT_SETTINGS as IMPACT, SERVICE_SETTINGS as SERVICE};
use crate::syntax::keywords::{ACTIONS, APPROVAL, DRILLS, HTTP, RUNBOOK, SSM, STEP, TOP, TRIGGER};

/// Where a statement stands, for "unknown attribute" messages.
#[derive(Clone, Copy)]
pub(super) enum Ctx {
    Top,
    Runbook,
    Step,
    Approval,
    Rollback,
    Http,
    Ssm,
    Targets,
    Kv,
    Drills,
    Trigger,
    Objectives,
    Service,
    Impact,
}

/// How a statement is written, for "malformed" help lines.
fn usage(kw: &str) -> Option<&'static str> {
    Some(match kw {
        "import" => "import \"std/http\"  or  import \"./common.drbook\" as common",
        "runbook" => "runbook \"name\" { ... }",
        "template" => "template NAME(param, other = default) { ... }",
        "title" | "description" => "title \"Fail over to us-west-2\"",
        "owner" => "owner \"platform-team\"",
        "rto" | "rpo" | "duration" | "timeout" | "review_every" => "rto 1h30m",
        "tier" => "tier critical",
        "reviewed" => "reviewed 2026-10-01",
        "on_failure" => "on_failure abort | rollback | continue",
        "parallel" => "parallel 8",
        "param" => "param NAME = VALUE  or  param NAME: string",
        "secret" => "secret NAME = env(\"VAR\") | file(\"path\") | ssm(\"/name\")",
        "roles" => "roles { lead = [\"alice\", \"bob\"] }",
        "step" => "step ID \"Title\" { ... }",
        "shell" => "shell \"bash\"",
        "initiator_may_approve" => "initiator_may_approve false",
            "approvals" => "approvals typed | os | signed",
        "signers" => "signers \"./allowed_signers\"",
        "finally" => "finally step ID \"Title\" { ... }",
        "drills" => "drills { component every 7d; full every 365d }",
        "notify_drills" => "notify_drills \"https://hooks.example.com/...\"  or  notify_drills SECRET",
        "trigger" => "trigger { probe primary http GET \"https://...\"; requires approval }",
        "probe" => "probe NAME [timeout 5s] run \"...\"  or  probe NAME http GET \"https://...\"",
        "failures" => "failures 3",
        "every" => "every 30s",
        "cooldown" => "cooldown 30m",
        "quorum" => "quorum 2 of 3",
        "rpo_gate" => "rpo_gate replica_lag",
        "requires" => "requires approval { by lead }  or  requires auto",
        "params" => "params { change_ticket = \"AUTO-${trigger.fired_at}\" }",
        "tabletop" | "component" | "partial" | "full" => "component every 7d",
        "objectives" => "objectives { service \"api\" { rto 15m; rpo 0s; tier critical } }",
        "service" => "service \"api\" { rto 15m; rpo 0s; tier critical }",
        "impact" => "impact { hourly_revenue 50000; transactions_per_hour 5000; regulatory strict; customer_impact critical; data_recreation_cost 500000 }",
        "restores" => "restores \"api\", \"database\"",
        "hourly_revenue" | "transactions_per_hour" | "data_recreation_cost" => "hourly_revenue 50000",
        "regulatory" => "regulatory none | moderate | strict",
        "customer_impact" => "customer_impact low | medium | high | critical",
        "safe" => "safe",
        "needs" => "needs other_step, another_step",
        "when" => "when include_app_check == true",
        "check" => "check lag_seconds < 900",
        "retry" => "retry 3 every 30s backoff exponential",
        "idempotent" => "idempotent",
        "approval" => "approval { by lead, manager; timeout 15m }",
        "by" => "by lead, manager",
        "env" => "env { KEY = \"value\" }",
        "workdir" => "workdir \"infra/dns\"",
        "capture" => "capture NAME from stdout | json \"a.b[0]\" | regex \"v(\\d+)\"",
        "measure" => "measure rpo from lag_seconds",
        "rollback" => "rollback run \"...\"  or  rollback { run \"...\"; timeout 5m }",
        "verify" => "verify run \"test -f /srv/promoted\"  or  verify http GET \"https://...\"",
        "use" => "use alias.template(name = value)",
        "run" => "run \"command\"",
        "http" => "http GET \"https://...\" { status 200..299 }",
        "ssm" => "ssm command \"DOC\" { ... }  |  ssm automation \"DOC\" { ... }  |  ssm put \"/name\" = \"value\"",
        "wait" => "wait 5m",
        "manual" => "manual \"what the person does\"",
        "notify" => "notify \"https://hooks.example.com/...\" \"message\"",
        "header" => "header \"Authorization\" = \"Bearer ${token}\"",
        "body" | "body_contains" => "body_contains \"ok\"",
        "status" => "status 200..299  or  status [200, 204]",
        "targets" => "targets { tag \"Role\" = \"api\" }",
        "tag" => "tag \"Role\" = \"api\"",
        "instances" => "instances [\"i-0abc\", \"i-0def\"]",
        "parameters" => "parameters { commands = [\"...\"] }",
        "max_concurrency" | "max_errors" | "comment" => "max_concurrency \"50%\"",
        _ => return None,
    })
}

impl Builder {
    /// Reports a statement no rule accepted: an unknown attribute (with "did you mean"), a
    /// known one written wrongly (with its usage), or one that belongs elsewhere.
    pub(super) fn unknown<T>(&mut self, p: P, ctx: Ctx) -> Option<T> {
        let span = self.span(&p);
        let name_pair = p.into_inner().next()?;
        let short = shorten(name_pair.as_str());
        let name: &str = &short;
        let name_span = self.span(&name_pair);
        let (here, what): (&[&str], &str) = match ctx {
            Ctx::Top => (TOP, "at the top of a file"),
            Ctx::Runbook => (RUNBOOK, "in a runbook header"),
            Ctx::Step => (STEP, "in a step"),
            Ctx::Approval => (APPROVAL, "in an approval"),
            Ctx::Rollback => (
                &["timeout", "retry", "run", "http", "ssm", "wait", "manual", "notify"],
                "in a rollback block",
            ),
            Ctx::Http => (HTTP, "in http options"),
            Ctx::Ssm => (SSM, "in ssm options"),
            Ctx::Targets => (&["tag"], "in targets"),
            Ctx::Kv => (&[], "in this block"),
            Ctx::Drills => (DRILLS, "in `drills`"),
            Ctx::Trigger => (TRIGGER, "in `trigger`"),
            Ctx::Objectives => (&["service"], "in `objectives`"),
            Ctx::Service => (SERVICE, "in a `service`"),
            Ctx::Impact => (IMPACT, "in `impact`"),
        };
        let d = if matches!(ctx, Ctx::Kv) {
            Diagnostic::error(
                "drbook::syntax::malformed",
                span,
                format!("malformed entry `{name}`"),
            )
            .label("expected `KEY = VALUE`")
            .help("each line of this block is `NAME = VALUE`")
        } else if here.contains(&name) {
            Diagnostic::error("drbook::syntax::malformed", span, format!("malformed `{name}`"))
                .label("cannot read this statement")
                .with_help(
                    match (ctx, name) {
                        // In a trigger, `notify` and `timeout` are settings, not an action.
                        (Ctx::Trigger, "notify") => {
                            Some("notify \"https://hooks.example.com/...\"  or  notify SECRET")
                        }
                        _ => usage(name),
                    }
                    .map(|u| format!("write it as `{u}`")),
                )
        } else {
            let elsewhere = [
                (TOP, "at the top of a file"),
                (RUNBOOK, "in the runbook header"),
                (STEP, "in a step"),
            ]
            .into_iter()
            .find(|(list, _)| list.contains(&name))
            .map(|(_, w)| w);
            let kind = if matches!(ctx, Ctx::Step | Ctx::Rollback) {
                "attribute or action"
            } else if matches!(ctx, Ctx::Drills) {
                "drill type"
            } else {
                "attribute"
            };
            let help = match elsewhere {
                Some(w) if !ACTIONS.contains(&name) || !matches!(ctx, Ctx::Step) => {
                    Some(format!("`{name}` belongs {w}, not {what}"))
                }
                _ => suggest(name, here.iter().copied())
                    .or_else(|| Some(format!("expected one of: {}", here.join(", ")))),
            };
            Diagnostic::error(
                "drbook::syntax::unknown_attribute",
                name_span,
                format!("unknown {kind} `{name}` {what}"),
            )
            .label("not known here")
            .with_help(help)
        };
        self.diags.push(d);
        None
    }
}
