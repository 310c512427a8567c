//! One side of a diff: a runbook flattened into named, rendered fields.
//!
//! Every value is rendered as the plan renders it (see [`super::super::resolve`]), so two
//! versions compare equal exactly when their plans would show the same thing.

use serde_json::{json, Value};

use crate::model::{Action, CaptureFrom, FailurePolicy, SecretSource};
use crate::plan::{self, resolve::Ctx, PlanWarning};

use super::Side;

#[derive(Default)]
pub(super) struct View {
    pub steps: Vec<StepView>,
    pub header: Vec<(String, Value)>,
    pub warnings: Vec<PlanWarning>,
    pub rto: u64,
    pub critical_path: Vec<String>,
    /// Declared roles and their members; `None`: no `roles` block (anyone may approve).
    pub roles: Option<Vec<(String, Vec<String>)>>,
    /// `initiator_may_approve false`.
    pub exclude_initiator: bool,
    /// The `trigger { }` block as the plan shows it.
    pub trigger: Option<plan::trigger::PlanTrigger>,
    /// `objectives { }`: each service's name, `rto` and `rpo` in seconds.
    pub services: Vec<(String, Option<u64>, Option<u64>)>,
}

pub(super) struct StepView {
    pub id: String,
    pub fields: Vec<(String, Value)>,
    pub approval: Option<Vec<String>>,
    pub rollback: bool,
    pub idempotent: bool,
    pub checks: Vec<String>,
    pub measure_rpo: Option<String>,
    pub timeout: bool,
    pub on_failure: FailurePolicy,
    /// `restores`: the services it restores.
    pub restores: Vec<String>,
    /// Not `safe`, not a read-only `http GET`/`HEAD`, not `wait` or `manual`, and has an action.
    pub side_effects: bool,
}

fn val<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("plan data serializes to JSON")
}

impl View {
    pub(super) fn of(side: &Side<'_>) -> View {
        let rb = side.rb;
        let ctx = Ctx::new(rb, side.values);
        let plan = plan::build(rb, side.dag, side.values, side.warnings.clone());
        let all = plan.steps.iter().chain(&plan.finally);
        let steps = rb
            .steps
            .iter()
            .zip(all)
            .map(|(s, p)| {
                let checks: Vec<String> = s.checks.iter().map(|e| ctx.expr(e)).collect();
                let captures: Vec<String> = s
                    .captures
                    .iter()
                    .map(|c| match &c.from {
                        CaptureFrom::Stdout => format!("{} from stdout", c.name),
                        CaptureFrom::Json(p) => format!("{} from json {p:?}", c.name),
                        CaptureFrom::Regex(r) => format!("{} from regex {r:?}", c.name),
                    })
                    .collect();
                let env: serde_json::Map<String, Value> =
                    s.env.iter().map(|(k, v)| (k.clone(), Value::String(ctx.text(v)))).collect();
                let fields = vec![
                    ("title".into(), val(&p.title)),
                    ("owner".into(), val(&p.owner)),
                    ("duration".into(), val(p.duration_seconds)),
                    ("timeout".into(), val(p.timeout_seconds)),
                    ("needs".into(), val(&p.needs)),
                    ("when".into(), val(&p.when)),
                    ("retry".into(), val(&p.retry)),
                    ("on_failure".into(), val(p.on_failure)),
                    ("idempotent".into(), val(p.idempotent)),
                    ("safe".into(), val(p.safe)),
                    ("verify".into(), val(&p.verify)),
                    ("action".into(), val(&p.action)),
                    ("approval".into(), val(&p.approval)),
                    ("rollback".into(), val(&p.rollback_action)),
                    ("rollback_retry".into(), val(&p.rollback_retry)),
                    (
                        "rollback_timeout".into(),
                        val(s.rollback.as_ref().and_then(|r| r.timeout).map(plan::seconds)),
                    ),
                    ("captures".into(), val(&captures)),
                    ("checks".into(), val(&checks)),
                    ("measure_rpo".into(), val(&s.measure_rpo)),
                    ("env".into(), Value::Object(env)),
                    ("workdir".into(), val(s.workdir.as_ref().map(|w| ctx.text(w)))),
                    ("finally".into(), val(s.finally)),
                    ("restores".into(), val(&s.restores)),
                ];
                let quiet =
                    matches!(s.action, None | Some(Action::Wait { .. } | Action::Manual { .. }));
                StepView {
                    id: s.id.clone(),
                    fields,
                    approval: s.approval.as_ref().map(|a| a.roles.clone()),
                    rollback: s.rollback.is_some(),
                    idempotent: s.idempotent,
                    checks,
                    measure_rpo: s.measure_rpo.clone(),
                    timeout: s.timeout.is_some(),
                    on_failure: s.on_failure,
                    restores: s.restores.clone(),
                    side_effects: !quiet && !s.drill_safe(),
                }
            })
            .collect();
        let mut header: Vec<(String, Value)> = vec![
            ("title".into(), val(&rb.title)),
            ("description".into(), val(&rb.description)),
            ("owner".into(), val(&rb.owner)),
            ("tier".into(), val(&rb.tier)),
            ("rto".into(), val(plan.rto_seconds)),
            ("rpo".into(), val(plan.rpo_seconds)),
            ("parallel".into(), val(rb.parallel)),
            ("on_failure".into(), val(rb.on_failure)),
            ("shell".into(), val(&rb.shell)),
            ("approvals".into(), val(rb.approvals)),
            ("initiator_may_approve".into(), val(!rb.people.exclude_initiator)),
            ("drills".into(), val(&plan.drills)),
            ("notify_drills".into(), val(&plan.notify_drills)),
        ];
        for p in &rb.params {
            let default = p.default.as_ref().map(|d| d.render());
            header.push((
                format!("param.{}", p.name),
                json!({"type": p.ty.name(), "default": default}),
            ));
        }
        for s in &rb.secrets {
            let source = match &s.source {
                SecretSource::Env(v) => format!("env {v}"),
                SecretSource::File(f) => format!("file {f}"),
                SecretSource::Ssm(n) => format!("ssm {n}"),
            };
            header.push((format!("secret.{}", s.name), Value::String(source)));
        }
        let roles = rb
            .roles
            .as_ref()
            .map(|rs| rs.iter().map(|r| (r.name.clone(), r.members.clone())).collect::<Vec<_>>());
        header.push(("roles".into(), val(rb.roles.is_some())));
        for (name, members) in roles.iter().flatten() {
            header.push((format!("role.{name}"), val(members)));
        }
        for sv in &plan.services {
            header.push((
                format!("service.{}", sv.name),
                json!({"rto": sv.rto_seconds, "rpo": sv.rpo_seconds, "tier": sv.tier}),
            ));
        }
        header.push(("trigger".into(), val(plan.trigger.is_some())));
        if let Some(t) = &plan.trigger {
            trigger_fields(t, &mut header);
        }
        View {
            services: plan
                .services
                .iter()
                .map(|sv| (sv.name.clone(), sv.rto_seconds, sv.rpo_seconds))
                .collect(),
            trigger: plan.trigger.clone(),
            steps,
            header,
            warnings: side.warnings.clone(),
            rto: plan.estimated_rto_seconds,
            critical_path: plan.critical_path.clone(),
            roles,
            exclude_initiator: rb.people.exclude_initiator,
        }
    }
}

/// The trigger's settings as header fields `trigger.*`, one per probe and per param.
fn trigger_fields(t: &plan::trigger::PlanTrigger, header: &mut Vec<(String, Value)>) {
    for p in &t.probes {
        header.push((
            format!("trigger.probe.{}", p.name),
            json!({"timeout_seconds": p.timeout_seconds, "action": val(&p.action)}),
        ));
    }
    header.push(("trigger.every".into(), val(t.every_seconds)));
    header.push(("trigger.failures".into(), val(t.failures)));
    header.push(("trigger.quorum".into(), val(format!("{} of {}", t.quorum, t.probes.len()))));
    header.push(("trigger.cooldown".into(), val(t.cooldown_seconds)));
    header.push(("trigger.rpo_gate".into(), val(&t.rpo_gate)));
    header.push(("trigger.requires".into(), val(&t.requires)));
    for (k, v) in &t.params.0 {
        header.push((format!("trigger.param.{k}"), val(v)));
    }
    header.push(("trigger.notify".into(), val(&t.notify)));
}
