//! Renders the model's interpolated strings, expressions and actions into plan text.
//!
//! Input: a [`Text`], [`Expr`] or [`Action`] of the runbook plus the effective param values.
//! Output: strings as the plan shows them. Params become their values (one shell word inside
//! `run` scripts and ssm `commands`); secrets are always `<secret:NAME>`; captures, the run id
//! and own captures stay `${...}` placeholders because they exist only at run time.

use std::collections::HashMap;

use crate::model::{shell_word, Action, Expr, ParamValue, Ref, Runbook, SsmTargets, Text};

use super::{seconds, OrderedMap, PlanAction, PlanTargets};

/// The ssm command parameter whose values are shell commands.
const SSM_COMMANDS: &str = "commands";

pub(super) struct Ctx<'a> {
    rb: &'a Runbook,
    values: &'a HashMap<String, ParamValue>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(rb: &'a Runbook, values: &'a HashMap<String, ParamValue>) -> Ctx<'a> {
        Ctx { rb, values }
    }

    /// A string outside any shell: values inserted as they are.
    pub(super) fn text(&self, t: &Text) -> String {
        t.render(|r| self.reference(r, false))
    }

    /// A string `sh -c` will run: every known value inserted as one shell word.
    fn shell(&self, t: &Text) -> String {
        t.render_shell(|r, quote| self.reference(r, quote))
    }

    fn reference(&self, r: &Ref, shell: bool) -> String {
        let quote = |v: String| if shell { shell_word(&v) } else { v };
        match r {
            Ref::Param(n) => match self.values.get(n) {
                Some(v) => quote(v.render()),
                None => format!("${{{n}}}"),
            },
            Ref::Secret(n) => format!("<secret:{n}>"),
            Ref::Capture(i, n) => format!("${{steps.{}.{n}}}", self.step_id(*i)),
            Ref::OwnCapture(n) => format!("${{{n}}}"),
            Ref::RunId => "${run.id}".to_string(),
            Ref::RunbookName => quote(self.rb.name.clone()),
            Ref::RunEnd(f) => format!("${{run.{}}}", f.name()),
            Ref::Trigger(f) => format!("${{trigger.{}}}", f.name()),
        }
    }

    fn step_id(&self, i: usize) -> &str {
        self.rb.steps.get(i).map_or("?", |s| s.id.as_str())
    }

    fn opt(&self, t: Option<&Text>) -> Option<String> {
        t.map(|t| self.text(t))
    }

    fn pairs(&self, pairs: &[(Text, Text)]) -> OrderedMap<String> {
        OrderedMap(pairs.iter().map(|(k, v)| (self.text(k), self.text(v))).collect())
    }

    fn params(
        &self,
        params: &[(String, Vec<Text>)],
        shell_key: Option<&str>,
    ) -> OrderedMap<Vec<String>> {
        OrderedMap(
            params
                .iter()
                .map(|(k, vs)| {
                    let shell = shell_key == Some(k.as_str());
                    let vs = vs.iter().map(|v| if shell { self.shell(v) } else { self.text(v) });
                    (k.clone(), vs.collect())
                })
                .collect(),
        )
    }

    pub(super) fn action(&self, a: &Action) -> PlanAction {
        match a {
            Action::Run { script } => PlanAction::Run { script: self.shell(script) },
            Action::Http { method, url, headers, body, status, body_contains } => {
                let status = if status.is_empty() {
                    vec!["200..299".to_string()]
                } else {
                    status
                        .iter()
                        .map(
                            |&(lo, hi)| {
                                if lo == hi {
                                    lo.to_string()
                                } else {
                                    format!("{lo}..{hi}")
                                }
                            },
                        )
                        .collect()
                };
                PlanAction::Http {
                    method: method.clone(),
                    url: self.text(url),
                    headers: self.pairs(headers),
                    body: self.opt(body.as_ref()),
                    status,
                    body_contains: self.opt(body_contains.as_ref()),
                }
            }
            Action::SsmCommand {
                document,
                targets,
                parameters,
                max_concurrency,
                max_errors,
                comment,
            } => PlanAction::SsmCommand {
                document: self.text(document),
                targets: match targets {
                    SsmTargets::Tags(tags) => PlanTargets::Tags(self.pairs(tags)),
                    SsmTargets::Instances(ids) => {
                        PlanTargets::Instances(ids.iter().map(|t| self.text(t)).collect())
                    }
                },
                parameters: self.params(parameters, Some(SSM_COMMANDS)),
                max_concurrency: self.opt(max_concurrency.as_ref()),
                max_errors: self.opt(max_errors.as_ref()),
                comment: self.opt(comment.as_ref()),
            },
            Action::SsmAutomation { document, parameters } => PlanAction::SsmAutomation {
                document: self.text(document),
                parameters: self.params(parameters, None),
            },
            Action::SsmPut { name, value, secure } => PlanAction::SsmPut {
                name: self.text(name),
                value: self.text(value),
                secure: *secure,
            },
            Action::Wait { millis } => PlanAction::Wait { seconds: seconds(*millis) },
            Action::Manual { instructions } => {
                PlanAction::Manual { instructions: self.text(instructions) }
            }
            Action::Notify { url, text } => {
                PlanAction::Notify { url: self.text(url), text: self.text(text) }
            }
        }
    }

    /// Source-like text of a `when`/`check` expression, parenthesised only where the
    /// grammar needs it. Names stay names: the plan lists the params' values separately.
    pub(super) fn expr(&self, e: &Expr) -> String {
        e.source(&|r| self.name(r))
    }

    fn name(&self, r: &Ref) -> String {
        match r {
            Ref::Param(n) | Ref::Secret(n) | Ref::OwnCapture(n) => n.clone(),
            Ref::Capture(i, n) => format!("steps.{}.{n}", self.step_id(*i)),
            Ref::RunId => "run.id".to_string(),
            Ref::RunbookName => "runbook.name".to_string(),
            Ref::RunEnd(f) => format!("run.{}", f.name()),
            Ref::Trigger(f) => format!("trigger.{}", f.name()),
        }
    }
}
