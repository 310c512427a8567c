//! Step definition hashes: what a run's journal remembers of each step, so that `resume` and
//! `rollback` can tell whether the runbook changed under the run.
//!
//! Input: a checked step and the steps of its runbook. Output: `v2:` followed by the SHA-256
//! (lowercase hex) of a JSON document describing the step: everything that decides what the
//! step does or shows a person (id, title, owner, needs by id, when, retry, failure policy,
//! idempotence, approval, env, workdir, captures, checks, measure, action, rollback, duration,
//! timeout). Source positions are left out, and so is anything of the runbook around the step.
//!
//! Invariants: the document is built from [`StepDef`], a copy of the definition made for this
//! purpose, never from `model::Step`'s `Debug` output, so changing the model leaves every hash
//! as it was unless the change reaches [`StepDef`]; changing [`StepDef`] (or how a field is
//! written into it) changes hashes and must bump [`VERSION`], which `resume` reads to tell "the
//! step changed" from "another drbook hashed it". Every name is written by what it denotes
//! (`steps.ID.NAME`, never a step's index), and the document has no maps, so the same step
//! always gives the same bytes.

use super::{
    Action, Approval, BinOp, Capture, CaptureFrom, Expr, FailurePolicy, Part, Ref, Retry, Rollback,
    SsmTargets, Step, Text,
};
use serde::Serialize;

/// The version of the step definition document; the prefix of every hash.
pub const VERSION: &str = "v2";

/// Each step's id and definition hash, in declaration order.
pub fn step_hashes(steps: &[Step]) -> Vec<(String, String)> {
    steps.iter().map(|s| (s.id.clone(), step_hash(steps, s))).collect()
}

/// `v2:` and the SHA-256 of `step`'s definition; `steps` are its runbook's (for names of needs
/// and of captures of other steps).
pub fn step_hash(steps: &[Step], step: &Step) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(document(steps, step));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{VERSION}:{hex}")
}

/// The version a hash was made with (`v2`), or `None` for a hash without one: drbook before
/// version 2 wrote bare hex.
pub fn version_of(hash: &str) -> Option<&str> {
    let (version, _) = hash.split_once(':')?;
    let digits = version.strip_prefix('v')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(version)
}

/// The JSON document that is hashed.
fn document(steps: &[Step], step: &Step) -> Vec<u8> {
    let def = StepDef::new(steps, step);
    serde_json::to_vec(&def).expect("a step definition always serializes: no maps, no I/O")
}

/// Version 2 of a step's definition. Field order is the document's order.
#[derive(Serialize)]
struct StepDef<'a> {
    id: &'a str,
    title: Option<&'a str>,
    owner: Option<&'a str>,
    duration_ms: Option<u64>,
    timeout_ms: Option<u64>,
    needs: Vec<&'a str>,
    when: Option<ExprDef<'a>>,
    retry: Option<RetryDef>,
    on_failure: &'static str,
    idempotent: bool,
    approval: Option<ApprovalDef<'a>>,
    env: Vec<(&'a str, TextDef<'a>)>,
    workdir: Option<TextDef<'a>>,
    captures: Vec<CaptureDef<'a>>,
    checks: Vec<ExprDef<'a>>,
    measure_rpo: Option<&'a str>,
    action: Option<ActionDef<'a>>,
    rollback: Option<RollbackDef<'a>>,
    /// Written only when present, so steps without a probe keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<ActionDef<'a>>,
    /// Left out when false, so that every other step hashes as before finally steps existed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    finally: bool,
    /// Left out when false, so that every step without `safe` hashes as before it existed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    safe: bool,
    /// The services the step restores; left out when none, so other steps keep their hashes.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    restores: &'a [String],
}

/// Names the things a step refers to by what they are.
struct Namer<'a> {
    steps: &'a [Step],
}

impl<'a> StepDef<'a> {
    fn new(steps: &'a [Step], s: &'a Step) -> StepDef<'a> {
        let n = Namer { steps };
        StepDef {
            id: &s.id,
            title: s.title.as_deref(),
            owner: s.owner.as_deref(),
            duration_ms: s.duration,
            timeout_ms: s.timeout,
            needs: s.needs.iter().map(|&i| n.step(i)).collect(),
            when: s.when.as_ref().map(|e| n.expr(e)),
            retry: s.retry.as_ref().map(RetryDef::new),
            on_failure: match s.on_failure {
                FailurePolicy::Abort => "abort",
                FailurePolicy::Rollback => "rollback",
                FailurePolicy::Continue => "continue",
            },
            idempotent: s.idempotent,
            approval: s.approval.as_ref().map(ApprovalDef::new),
            env: s.env.iter().map(|(k, v)| (k.as_str(), n.text(v))).collect(),
            workdir: s.workdir.as_ref().map(|t| n.text(t)),
            captures: s.captures.iter().map(CaptureDef::new).collect(),
            checks: s.checks.iter().map(|e| n.expr(e)).collect(),
            measure_rpo: s.measure_rpo.as_deref(),
            action: s.action.as_ref().map(|a| n.action(a)),
            rollback: s.rollback.as_ref().map(|r| n.rollback(r)),
            verify: s.verify.as_ref().map(|a| n.action(a)),
            finally: s.finally,
            safe: s.safe,
            restores: &s.restores,
        }
    }
}

#[derive(Serialize)]
struct RetryDef {
    attempts: u32,
    every_ms: u64,
    exponential: bool,
}

impl RetryDef {
    fn new(r: &Retry) -> RetryDef {
        RetryDef { attempts: r.attempts, every_ms: r.every, exponential: r.exponential }
    }
}

#[derive(Serialize)]
struct ApprovalDef<'a> {
    roles: Vec<&'a str>,
    timeout_ms: Option<u64>,
}

impl<'a> ApprovalDef<'a> {
    fn new(a: &'a Approval) -> ApprovalDef<'a> {
        ApprovalDef { roles: a.roles.iter().map(String::as_str).collect(), timeout_ms: a.timeout }
    }
}

#[derive(Serialize)]
struct CaptureDef<'a> {
    name: &'a str,
    from: CaptureFromDef<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum CaptureFromDef<'a> {
    Stdout,
    Json(&'a str),
    Regex(&'a str),
}

impl<'a> CaptureDef<'a> {
    fn new(c: &'a Capture) -> CaptureDef<'a> {
        let from = match &c.from {
            CaptureFrom::Stdout => CaptureFromDef::Stdout,
            CaptureFrom::Json(path) => CaptureFromDef::Json(path),
            CaptureFrom::Regex(re) => CaptureFromDef::Regex(re),
        };
        CaptureDef { name: &c.name, from }
    }
}

/// Interpolated text, piece by piece: a literal `${x}` and a reference to `x` differ.
type TextDef<'a> = Vec<PartDef<'a>>;

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum PartDef<'a> {
    Lit(&'a str),
    Ref(RefDef<'a>),
    Word(Vec<PartDef<'a>>),
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum RefDef<'a> {
    Param(&'a str),
    Secret(&'a str),
    OwnCapture(&'a str),
    Capture { step: &'a str, name: &'a str },
    RunId,
    RunbookName,
    RunEnd(&'static str),
    Trigger(&'static str),
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ExprDef<'a> {
    Str(&'a str),
    Number(f64),
    DurationMs(u64),
    Bool(bool),
    Ref(RefDef<'a>),
    Not(Box<ExprDef<'a>>),
    Binary { op: &'static str, left: Box<ExprDef<'a>>, right: Box<ExprDef<'a>> },
}

#[derive(Serialize)]
struct RollbackDef<'a> {
    action: ActionDef<'a>,
    timeout_ms: Option<u64>,
    /// Written only when present, so rollbacks without `retry` keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<RetryDef>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ActionDef<'a> {
    Run {
        script: TextDef<'a>,
    },
    Http {
        method: &'a str,
        url: TextDef<'a>,
        headers: Vec<(TextDef<'a>, TextDef<'a>)>,
        body: Option<TextDef<'a>>,
        status: Vec<(u16, u16)>,
        body_contains: Option<TextDef<'a>>,
    },
    SsmCommand {
        document: TextDef<'a>,
        targets: TargetsDef<'a>,
        parameters: Vec<(&'a str, Vec<TextDef<'a>>)>,
        max_concurrency: Option<TextDef<'a>>,
        max_errors: Option<TextDef<'a>>,
        comment: Option<TextDef<'a>>,
    },
    SsmAutomation {
        document: TextDef<'a>,
        parameters: Vec<(&'a str, Vec<TextDef<'a>>)>,
    },
    SsmPut {
        name: TextDef<'a>,
        value: TextDef<'a>,
        secure: bool,
    },
    Wait {
        ms: u64,
    },
    Manual {
        instructions: TextDef<'a>,
    },
    Notify {
        url: TextDef<'a>,
        text: TextDef<'a>,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum TargetsDef<'a> {
    Tags(Vec<(TextDef<'a>, TextDef<'a>)>),
    Instances(Vec<TextDef<'a>>),
}

impl<'a> Namer<'a> {
    fn step(&self, i: usize) -> &'a str {
        self.steps.get(i).map_or("", |s| s.id.as_str())
    }

    fn text(&self, t: &'a Text) -> TextDef<'a> {
        self.parts(&t.parts)
    }

    fn parts(&self, parts: &'a [Part]) -> Vec<PartDef<'a>> {
        parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => PartDef::Lit(s),
                Part::Ref(r) => PartDef::Ref(self.reference(r)),
                Part::Word(inner) => PartDef::Word(self.parts(inner)),
            })
            .collect()
    }

    fn texts(&self, ts: &'a [Text]) -> Vec<TextDef<'a>> {
        ts.iter().map(|t| self.text(t)).collect()
    }

    fn pairs(&self, ps: &'a [(Text, Text)]) -> Vec<(TextDef<'a>, TextDef<'a>)> {
        ps.iter().map(|(k, v)| (self.text(k), self.text(v))).collect()
    }

    fn params(&self, ps: &'a [(String, Vec<Text>)]) -> Vec<(&'a str, Vec<TextDef<'a>>)> {
        ps.iter().map(|(k, vs)| (k.as_str(), self.texts(vs))).collect()
    }

    fn reference(&self, r: &'a Ref) -> RefDef<'a> {
        match r {
            Ref::Param(p) => RefDef::Param(p),
            Ref::Secret(s) => RefDef::Secret(s),
            Ref::OwnCapture(c) => RefDef::OwnCapture(c),
            Ref::Capture(i, name) => RefDef::Capture { step: self.step(*i), name },
            Ref::RunId => RefDef::RunId,
            Ref::RunbookName => RefDef::RunbookName,
            Ref::RunEnd(f) => RefDef::RunEnd(f.name()),
            Ref::Trigger(f) => RefDef::Trigger(f.name()),
        }
    }

    fn expr(&self, e: &'a Expr) -> ExprDef<'a> {
        match e {
            Expr::Str(s) => ExprDef::Str(s),
            Expr::Number(n) => ExprDef::Number(*n),
            Expr::Duration(ms) => ExprDef::DurationMs(*ms),
            Expr::Bool(b) => ExprDef::Bool(*b),
            Expr::Ref(r) => ExprDef::Ref(self.reference(r)),
            Expr::Not(inner) => ExprDef::Not(Box::new(self.expr(inner))),
            Expr::Binary(op, l, r) => ExprDef::Binary {
                op: match op {
                    BinOp::Or => "||",
                    BinOp::And => "&&",
                    BinOp::Eq => "==",
                    BinOp::Ne => "!=",
                    BinOp::Lt => "<",
                    BinOp::Le => "<=",
                    BinOp::Gt => ">",
                    BinOp::Ge => ">=",
                },
                left: Box::new(self.expr(l)),
                right: Box::new(self.expr(r)),
            },
        }
    }

    fn rollback(&self, r: &'a Rollback) -> RollbackDef<'a> {
        RollbackDef {
            action: self.action(&r.action),
            timeout_ms: r.timeout,
            retry: r.retry.as_ref().map(RetryDef::new),
        }
    }

    fn action(&self, a: &'a Action) -> ActionDef<'a> {
        let opt = |t: &'a Option<Text>| t.as_ref().map(|t| self.text(t));
        match a {
            Action::Run { script } => ActionDef::Run { script: self.text(script) },
            Action::Http { method, url, headers, body, status, body_contains } => ActionDef::Http {
                method,
                url: self.text(url),
                headers: self.pairs(headers),
                body: opt(body),
                status: status.clone(),
                body_contains: opt(body_contains),
            },
            Action::SsmCommand {
                document,
                targets,
                parameters,
                max_concurrency,
                max_errors,
                comment,
            } => ActionDef::SsmCommand {
                document: self.text(document),
                targets: match targets {
                    SsmTargets::Tags(tags) => TargetsDef::Tags(self.pairs(tags)),
                    SsmTargets::Instances(ids) => TargetsDef::Instances(self.texts(ids)),
                },
                parameters: self.params(parameters),
                max_concurrency: opt(max_concurrency),
                max_errors: opt(max_errors),
                comment: opt(comment),
            },
            Action::SsmAutomation { document, parameters } => ActionDef::SsmAutomation {
                document: self.text(document),
                parameters: self.params(parameters),
            },
            Action::SsmPut { name, value, secure } => ActionDef::SsmPut {
                name: self.text(name),
                value: self.text(value),
                secure: *secure,
            },
            Action::Wait { millis } => ActionDef::Wait { ms: *millis },
            Action::Manual { instructions } => {
                ActionDef::Manual { instructions: self.text(instructions) }
            }
            Action::Notify { url, text } => {
                ActionDef::Notify { url: self.text(url), text: self.text(text) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    /// `step db { needs dns; run "pg_ctl promote -D ${params.dir}"; retry 2 every 5s;
    /// capture lsn from stdout; check lsn != "" }`, with `dns` before it.
    fn steps() -> Vec<Step> {
        let plain = |id: &str| Step {
            id: id.into(),
            title: None,
            owner: None,
            duration: None,
            timeout: None,
            needs: Vec::new(),
            when: None,
            retry: None,
            on_failure: FailurePolicy::Abort,
            idempotent: false,
            approval: None,
            env: Vec::new(),
            workdir: None,
            captures: Vec::new(),
            checks: Vec::new(),
            measure_rpo: None,
            action: None,
            rollback: None,
            verify: None,
            span: Span::default(),
            finally: false,
            safe: false,
            restores: Vec::new(),
        };
        let script = Text {
            parts: vec![
                Part::Lit("pg_ctl promote -D ".into()),
                Part::Ref(Ref::Param("dir".into())),
            ],
        };
        let db = Step {
            duration: Some(30_000),
            needs: vec![0],
            retry: Some(Retry { attempts: 2, every: 5_000, exponential: false }),
            captures: vec![Capture { name: "lsn".into(), from: CaptureFrom::Stdout }],
            checks: vec![Expr::Binary(
                BinOp::Ne,
                Box::new(Expr::Ref(Ref::OwnCapture("lsn".into()))),
                Box::new(Expr::Str(String::new())),
            )],
            action: Some(Action::Run { script }),
            ..plain("db")
        };
        vec![plain("dns"), db]
    }

    /// Pinned: if this fails, the hash of every step changed, and every run started before
    /// cannot be resumed without `--allow-edited`. Intended? Bump `VERSION` and re-pin.
    #[test]
    fn the_hash_of_a_fixed_step_is_pinned() {
        let steps = steps();
        let doc = String::from_utf8(document(&steps, &steps[1])).expect("JSON is UTF-8");
        assert_eq!(
            doc,
            concat!(
                r#"{"id":"db","title":null,"owner":null,"duration_ms":30000,"timeout_ms":null,"#,
                r#""needs":["dns"],"when":null,"retry":{"attempts":2,"every_ms":5000,"exponential":false},"#,
                r#""on_failure":"abort","idempotent":false,"approval":null,"env":[],"workdir":null,"#,
                r#""captures":[{"name":"lsn","from":"stdout"}],"#,
                r#""checks":[{"binary":{"op":"!=","left":{"ref":{"own_capture":"lsn"}},"right":{"str":""}}}],"#,
                r#""measure_rpo":null,"action":{"run":{"script":[{"lit":"pg_ctl promote -D "},{"ref":{"param":"dir"}}]}},"#,
                r#""rollback":null}"#
            )
        );
        assert_eq!(
            step_hash(&steps, &steps[1]),
            "v2:42388f72a9c756e587bc4ab52205469678a5f5fd3ca5c4b4ad71aaa972bedf4f"
        );
    }

    #[test]
    fn a_probe_changes_the_hash_only_when_present() {
        let mut steps = steps();
        let before = step_hash(&steps, &steps[1]);
        steps[1].verify = Some(Action::Run { script: Text::literal("test -f done") });
        let with = step_hash(&steps, &steps[1]);
        assert_ne!(with, before);
        steps[1].verify = Some(Action::Run { script: Text::literal("test -f other") });
        assert_ne!(step_hash(&steps, &steps[1]), with);
    }

    #[test]
    fn safe_changes_the_hash_only_when_true() {
        let mut steps = steps();
        let before = step_hash(&steps, &steps[1]);
        steps[1].safe = true;
        let doc = String::from_utf8(document(&steps, &steps[1])).expect("JSON is UTF-8");
        assert!(doc.ends_with(r#""rollback":null,"safe":true}"#), "{doc}");
        assert_ne!(step_hash(&steps, &steps[1]), before);
        steps[1].safe = false;
        assert_eq!(step_hash(&steps, &steps[1]), before);
    }

    #[test]
    fn restores_change_the_hash_only_when_present() {
        let mut steps = steps();
        let before = step_hash(&steps, &steps[1]);
        steps[1].restores = vec!["user-service".into()];
        let doc = String::from_utf8(document(&steps, &steps[1])).expect("JSON is UTF-8");
        assert!(doc.ends_with(r#""restores":["user-service"]}"#), "{doc}");
        let with = step_hash(&steps, &steps[1]);
        assert_ne!(with, before);
        steps[1].restores = vec!["reporting-service".into()];
        assert_ne!(step_hash(&steps, &steps[1]), with);
        steps[1].restores.clear();
        assert_eq!(step_hash(&steps, &steps[1]), before);
    }

    #[test]
    fn changing_the_script_changes_the_hash() {
        let mut steps = steps();
        let before = step_hash(&steps, &steps[1]);
        steps[1].action = Some(Action::Run { script: Text::literal("pg_ctl promote") });
        assert_ne!(step_hash(&steps, &steps[1]), before);
    }

    #[test]
    fn a_literal_and_a_reference_of_the_same_spelling_differ() {
        let mut steps = steps();
        let with_ref = step_hash(&steps, &steps[1]);
        steps[1].action = Some(Action::Run { script: Text::literal("pg_ctl promote -D ${dir}") });
        assert_ne!(step_hash(&steps, &steps[1]), with_ref);
    }

    #[test]
    fn needs_are_hashed_by_id_and_positions_not_at_all() {
        let mut steps = steps();
        let before = step_hash(&steps, &steps[1]);
        steps[1].span = Span { start: 7, end: 42, ..Span::default() };
        assert_eq!(step_hash(&steps, &steps[1]), before, "a source position is not a definition");
        steps[0].id = "route53".into();
        assert_ne!(step_hash(&steps, &steps[1]), before, "the step it needs is another one");
    }

    #[test]
    fn every_hash_names_its_version() {
        let steps = steps();
        for (_, h) in step_hashes(&steps) {
            assert_eq!(version_of(&h), Some(VERSION));
            assert_eq!(h.len(), VERSION.len() + 1 + 64);
        }
        assert_eq!(version_of(&"ab".repeat(32)), None, "drbook before v2 wrote bare hex");
        assert_eq!(version_of("v10:ff"), Some("v10"));
        assert_eq!(version_of("vx:ff"), None);
    }
}
