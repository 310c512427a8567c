//! The checker's context: the names in scope (params, secrets, steps, captures), the
//! diagnostics found so far, and typed readers for values that explain a wrong type.

use crate::diag::{suggest, Diagnostic, Span};
use crate::model::{Millis, ParamType, ParamValue};
use crate::syntax::ast::{Ident, Str, Value, ValueKind};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Step id → index. foldhash, not the standard library's SipHash: every `needs` and
/// `${steps.X...}` of a large runbook is a lookup here, and foldhash's per-process random seed
/// keeps a file from choosing its collisions.
pub type StepIds = HashMap<String, usize, foldhash::fast::RandomState>;

/// Names that `steps.X`, `run.x` and `runbook.x` reserve.
pub const RESERVED: &[&str] = &["steps", "run", "runbook"];

pub struct Cx {
    pub diags: Vec<Diagnostic>,
    /// Param name → (type, effective value: `--param` or default).
    pub params: HashMap<String, (ParamType, Option<ParamValue>)>,
    pub param_order: Vec<String>,
    pub params_used: HashSet<String>,
    pub secrets: HashSet<String>,
    /// Step id → index, and each step's capture names. Shared, not copied, by [`Cx::fork`].
    pub steps: Arc<StepIds>,
    pub captures: Arc<Vec<Vec<String>>>,
    /// When checking a module: the template's parameters (values unknown, names free).
    pub template: Option<Vec<String>>,
    /// (using step, target step, span) pairs to verify once the graph exists.
    pub capture_uses: Vec<(usize, usize, Span)>,
    /// The runbook's file: a name used in another file was spliced from a template.
    pub file: Option<crate::diag::FileId>,
    /// Params whose `--param` value did not parse (already reported).
    pub bad_params: Vec<String>,
    /// Whether the roles block is declared, and its names.
    pub roles: Option<Vec<String>>,
    /// Index of the first `finally` step (they come after every other step).
    pub finally_from: usize,
    /// The directory of the root runbook: `signers` is relative to it.
    pub base_dir: Option<std::path::PathBuf>,
    /// Set while a text of the `trigger { }` block is resolved.
    pub trigger_at: Option<TriggerAt>,
    /// The service names of the header's `objectives { }` (`None`: no such block).
    pub services: Option<Vec<String>>,
    /// From how many steps the steps are checked in two halves on two threads.
    pub parallel_from: usize,
}

/// Steps below this count are checked on the calling thread.
const PARALLEL_FROM: usize = 512;

/// Which part of the `trigger { }` block a text belongs to: what `${...}` may name there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TriggerAt {
    /// A probe's action: params and secrets only (no run exists when probes run).
    Probe,
    /// A value of `params { }`: also `${trigger.fired_at}` and `${trigger.detected_at}`.
    Params,
}

impl Cx {
    pub fn new() -> Cx {
        Cx {
            diags: Vec::new(),
            params: HashMap::new(),
            param_order: Vec::new(),
            params_used: HashSet::new(),
            secrets: HashSet::new(),
            steps: Arc::default(),
            captures: Arc::default(),
            template: None,
            capture_uses: Vec::new(),
            bad_params: Vec::new(),
            file: None,
            roles: None,
            finally_from: usize::MAX,
            base_dir: None,
            trigger_at: None,
            services: None,
            parallel_from: crate::par::parallel_from(PARALLEL_FROM),
        }
    }

    /// A context for checking some steps on another thread: the same names in scope, no
    /// findings yet. Checking a step only reads the names and adds findings (diagnostics, params
    /// used, capture uses), so [`Cx::join`] of the fork's findings, in step order, gives what
    /// checking those steps here would have given.
    pub fn fork(&self) -> Cx {
        Cx {
            diags: Vec::new(),
            params: self.params.clone(),
            param_order: self.param_order.clone(),
            params_used: HashSet::new(),
            secrets: self.secrets.clone(),
            steps: Arc::clone(&self.steps),
            captures: Arc::clone(&self.captures),
            template: self.template.clone(),
            capture_uses: Vec::new(),
            file: self.file,
            bad_params: self.bad_params.clone(),
            roles: self.roles.clone(),
            finally_from: self.finally_from,
            base_dir: self.base_dir.clone(),
            trigger_at: self.trigger_at,
            services: self.services.clone(),
            parallel_from: self.parallel_from,
        }
    }

    /// Takes in the findings of a [`Cx::fork`], after this context's own.
    pub fn join(&mut self, other: Cx) {
        self.diags.extend(other.diags);
        self.params_used.extend(other.params_used);
        self.capture_uses.extend(other.capture_uses);
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn in_template(&self) -> bool {
        self.template.is_some()
    }

    /// Whether step `i` is a `finally` step (`usize::MAX` stands for the header).
    pub fn is_finally(&self, i: usize) -> bool {
        i >= self.finally_from && i != usize::MAX
    }

    fn is_template_param(&self, name: &str) -> bool {
        self.template.as_ref().is_some_and(|t| t.iter().any(|p| p == name))
    }

    /// Reports a value of the wrong type for `what`.
    pub fn expected(&mut self, v: &Value, what: &str, expected: &str, example: &str) {
        if matches!(v.kind, ValueKind::Invalid(_)) {
            return;
        }
        self.error(
            Diagnostic::error(
                "drbook::check::bad_value",
                v.span,
                format!("`{what}` expects {expected}, found {}", describe(v)),
            )
            .label(format!("expected {expected}"))
            .help(format!("for example `{example}`")),
        );
    }

    /// The value a `${NAME}` placeholder stands for. `Err(())` when unknown in a template or
    /// when a required param has no value yet (nothing to check).
    fn placeholder(&mut self, name: &str, span: Span) -> Result<Option<ParamValue>, ()> {
        if self.is_template_param(name) {
            return Err(());
        }
        if let Some((_, value)) = self.params.get(name) {
            self.params_used.insert(name.to_string());
            return value.clone().map(Some).ok_or(());
        }
        if self.in_template() {
            return Err(());
        }
        let help = self.suggest_name(name);
        self.error(
            Diagnostic::error(
                "drbook::check::unknown_name",
                span,
                format!("unknown name `{}`", crate::diag::shorten(name)),
            )
            .label("not a param")
            .help(help.unwrap_or_else(|| "a value written `${NAME}` must name a param".into())),
        );
        Ok(None)
    }

    pub fn suggest_name(&self, name: &str) -> Option<String> {
        let candidates = self.params.keys().chain(self.secrets.iter()).map(String::as_str);
        suggest(name, candidates)
    }

    pub fn duration(&mut self, v: &Value, what: &str) -> Option<Millis> {
        match &v.kind {
            ValueKind::Duration(ms, _) => Some(*ms),
            ValueKind::Int(0) => Some(0),
            ValueKind::Placeholder(n) => match self.placeholder(n, v.span) {
                Ok(Some(ParamValue::Duration(ms, _))) => Some(ms),
                Ok(Some(other)) => {
                    self.param_type(v, n, "a duration", &other);
                    None
                }
                _ => None,
            },
            _ => {
                self.expected(v, what, "a duration", &format!("{what} 5m"));
                None
            }
        }
    }

    pub fn integer(&mut self, v: &Value, what: &str, min: i64) -> Option<i64> {
        let n = match &v.kind {
            ValueKind::Int(n) => *n,
            ValueKind::Placeholder(name) => match self.placeholder(name, v.span) {
                Ok(Some(ParamValue::Number(n))) if n.fract() == 0.0 => n as i64,
                Ok(Some(other)) => {
                    self.param_type(v, name, "a whole number", &other);
                    return None;
                }
                _ => return None,
            },
            _ => {
                self.expected(v, what, "a whole number", &format!("{what} 3"));
                return None;
            }
        };
        if n < min {
            self.error(
                Diagnostic::error(
                    "drbook::check::bad_value",
                    v.span,
                    format!("`{what}` must be at least {min}"),
                )
                .label(format!("{n} is too small"))
                .help(format!("use a number from {min} up")),
            );
            return None;
        }
        Some(n)
    }

    fn param_type(&mut self, v: &Value, name: &str, expected: &str, got: &ParamValue) {
        self.error(
            Diagnostic::error(
                "drbook::check::bad_value",
                v.span,
                format!("param `{name}` is not {expected}"),
            )
            .label(format!("`{name}` is `{}`", got.render()))
            .help(format!("declare `{name}` with a value of the right type")),
        );
    }

    /// A string value (interpolation allowed).
    pub fn string<'v>(&mut self, v: &'v Value, what: &str) -> Option<&'v Str> {
        match &v.kind {
            ValueKind::Str(s) => Some(s),
            ValueKind::Ident(word) => {
                self.bare_word(word, v.span, &format!("`{what}`"));
                None
            }
            _ => {
                self.expected(v, what, "a string", &format!("{what} \"...\""));
                None
            }
        }
    }

    /// Reports a bare word where a string is expected (`what`: the attribute in backticks, or
    /// "a template argument") (`url = dr_health` became the text
    /// `dr_health`). When the word names a param, secret or capture the help shows how to
    /// use its value; otherwise, how to quote it.
    pub fn bare_word(&mut self, word: &str, span: Span, what: &str) {
        // A template may interpolate one argument in several places: one report is enough.
        if self.diags.iter().any(|d| {
            d.code == "drbook::check::bare_word"
                && (d.span.file, d.span.start, d.span.end) == (span.file, span.start, span.end)
        }) {
            return;
        }
        let capture = self.captures.iter().position(|c| c.iter().any(|c| c == word));
        let id = capture.and_then(|i| self.steps.iter().find(|(_, &v)| v == i).map(|(k, _)| k));
        let help = if self.params.contains_key(word)
            || self.secrets.contains(word)
            || self.is_template_param(word)
        {
            format!("to use the value of `{word}`, write \"${{{word}}}\"")
        } else if let Some(id) = id {
            format!("to use the capture of step `{id}`, write \"${{steps.{id}.{word}}}\"")
        } else {
            format!("if the text is meant, write \"{word}\" (quote it)")
        };
        self.error(
            Diagnostic::error(
                "drbook::check::bare_word",
                span,
                format!("{what} expects a string, found the bare word `{word}`"),
            )
            .label("a bare word is not a string")
            .help(help),
        );
    }

    /// A string without `${...}`. A bare word is an error ([`Cx::bare_word`]); where a name
    /// is meant (`tier critical`) the caller reads the name itself.
    pub fn plain(&mut self, v: &Value, what: &str) -> Option<String> {
        match &v.kind {
            ValueKind::Str(s) => match s.as_literal() {
                Some(t) => Some(t),
                None => {
                    self.error(
                        Diagnostic::error(
                            "drbook::check::bad_value",
                            v.span,
                            format!("`{what}` cannot use `${{...}}`"),
                        )
                        .label("interpolation is not allowed here")
                        .help("write the value literally"),
                    );
                    None
                }
            },
            ValueKind::Ident(t) => {
                self.bare_word(t, v.span, &format!("`{what}`"));
                None
            }
            _ => {
                self.expected(v, what, "a string", &format!("{what} \"...\""));
                None
            }
        }
    }

    /// One of `choices`, written as a bare name.
    pub fn choice(&mut self, v: &Value, what: &str, choices: &[&str]) -> Option<String> {
        let word = match &v.kind {
            ValueKind::Ident(t) => t.to_string(),
            _ => {
                self.expected(
                    v,
                    what,
                    &format!("one of {}", choices.join(", ")),
                    &format!("{what} {}", choices[0]),
                );
                return None;
            }
        };
        if choices.contains(&word.as_str()) {
            return Some(word);
        }
        let help = suggest(&word, choices.iter().copied())
            .unwrap_or_else(|| format!("use one of: {}", choices.join(", ")));
        self.error(
            Diagnostic::error(
                "drbook::check::bad_value",
                v.span,
                format!("`{word}` is not a valid `{what}`"),
            )
            .label(format!("expected one of {}", choices.join(", ")))
            .help(help),
        );
        None
    }

    /// Checks a declared name against reserved words and earlier declarations.
    pub fn declare(&mut self, name: &Ident, kind: &str, taken: Option<Span>) -> bool {
        if RESERVED.contains(&&*name.name) {
            self.error(
                Diagnostic::error("drbook::check::reserved_name", name.span, format!("`{}` cannot name a {kind}", name.name))
                    .label("reserved")
                    .help("`steps`, `run` and `runbook` are reserved for built-in references; pick another name"),
            );
            return false;
        }
        if let Some(first) = taken {
            self.error(
                Diagnostic::error(
                    "drbook::check::duplicate_name",
                    name.span,
                    format!("`{}` is already defined", name.name),
                )
                .label(format!("second definition, as a {kind}"))
                .related(first, "first defined here")
                .help("params, secrets and captures share one namespace; rename one of them"),
            );
            return false;
        }
        true
    }
}

pub fn describe(v: &Value) -> String {
    match &v.kind {
        ValueKind::Str(_) => "a string".into(),
        ValueKind::Int(n) => format!("the number `{n}`"),
        ValueKind::Dec(t) => format!("the number `{t}`"),
        ValueKind::Duration(_, t) => format!("the duration `{t}`"),
        ValueKind::Date(..) => "a date".into(),
        ValueKind::Bool(b) => format!("`{b}`"),
        ValueKind::List(_) => "a list".into(),
        ValueKind::Range(a, b) => format!("the range `{a}..{b}`"),
        ValueKind::Ident(t) => format!("the name `{t}`"),
        ValueKind::Placeholder(t) => format!("`${{{t}}}`"),
        ValueKind::Invalid(t) => format!("`{t}`"),
    }
}
