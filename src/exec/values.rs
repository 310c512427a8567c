//! What names mean while a run executes: params, secrets, captures of earlier steps, the run
//! id. Renders [`Text`] (shell-quoted inside `run`, LANGUAGE.md §6), evaluates `when`/`check`
//! expressions, and extracts captures from output.

use super::secrets::Secrets;
use crate::model::{
    quote, shell_word, BinOp, CaptureFrom, Expr, ParamValue, Part, Ref, RunEndField, Step, Text,
};
use std::collections::{BTreeMap, HashMap};

/// Everything a reference can resolve to at one moment of a run.
pub struct Values<'a> {
    pub params: &'a HashMap<String, ParamValue>,
    pub secrets: &'a Secrets,
    /// `steps.ID.NAME` by step index: the value, or why there is none.
    pub capture: &'a (dyn Fn(usize, &str) -> Result<String, String> + Sync),
    pub run_id: &'a str,
    pub runbook: &'a str,
    /// This step's own captures (in `check` and `measure`).
    pub own: Option<&'a BTreeMap<String, String>>,
    /// The runbook's steps: messages name `steps.ID.NAME` as the runbook writes it.
    pub steps: &'a [Step],
    /// How the run ended, once it has (its `finally` steps run then).
    pub ended: Option<&'a RunEnd>,
}

/// What `${run.status}`, `${run.elapsed}`, `${run.rto_met}` and `${run.rpo}` say in a
/// `finally` step, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunEnd {
    pub status: String,
    pub elapsed: String,
    pub rto_met: String,
    pub rpo: String,
}

impl RunEnd {
    fn get(&self, f: RunEndField) -> &str {
        match f {
            RunEndField::Status => &self.status,
            RunEndField::Elapsed => &self.elapsed,
            RunEndField::RtoMet => &self.rto_met,
            RunEndField::Rpo => &self.rpo,
        }
    }
}

/// The longest value a message about an expression shows whole.
const SHOWN_CHARS: usize = 120;

impl Values<'_> {
    fn lookup(&self, r: &Ref) -> Result<String, String> {
        match r {
            Ref::Param(n) => self
                .params
                .get(n)
                .map(ParamValue::render)
                .ok_or_else(|| format!("param `{n}` has no value")),
            Ref::Secret(n) => self
                .secrets
                .get(n)
                .map(str::to_string)
                .ok_or_else(|| format!("secret `{n}` is not resolved")),
            Ref::Capture(i, n) => (self.capture)(*i, n),
            Ref::OwnCapture(n) => self
                .own
                .and_then(|o| o.get(n))
                .cloned()
                .ok_or_else(|| format!("capture `{n}` has no value yet")),
            Ref::RunId => Ok(self.run_id.to_string()),
            Ref::RunbookName => Ok(self.runbook.to_string()),
            Ref::RunEnd(f) => self
                .ended
                .map(|e| e.get(*f).to_string())
                .ok_or_else(|| format!("`run.{}` is known only once the run has ended", f.name())),
            Ref::Trigger(f) => {
                Err(format!("`trigger.{}` is known only when a trigger fires", f.name()))
            }
        }
    }

    /// The text with every reference replaced by its value; in a `shell` string each value is
    /// one shell word.
    pub fn render(&self, t: &Text, shell: bool) -> Result<String, String> {
        let mut err = None;
        let mut get = |r: &Ref| match self.lookup(r) {
            Ok(v) => v,
            Err(e) => {
                err.get_or_insert(e);
                String::new()
            }
        };
        let out = if shell {
            t.render_shell(|r, quote| {
                let v = get(r);
                if quote {
                    shell_word(&v)
                } else {
                    v
                }
            })
        } else {
            t.render(&mut get)
        };
        err.map_or(Ok(out), Err)
    }

    /// A `run` script rendered for `sh`: like `render(t, true)`, except that a secret is never
    /// written into the script (which `sh -c` takes as an argument, readable by every local
    /// user in `/proc/PID/cmdline`). Each secret becomes a double-quoted reference to an
    /// environment variable, `"${DRBOOK_SECRET_name}"`, still one shell word; its value is
    /// returned with the variables the shell must be given (environments are readable only by
    /// the process's owner). In a template argument inserted as one word, the literal pieces
    /// are single-quoted and the secret's reference joins them, so the word stays whole.
    pub fn render_script(&self, t: &Text) -> Result<(String, Vec<(String, String)>), String> {
        let mut err = None;
        let mut env: Vec<(String, String)> = Vec::new();
        let mut out = String::new();
        self.script_parts(&t.parts, true, &mut out, &mut env, &mut err);
        err.map_or(Ok((out, env)), Err)
    }

    fn script_parts(
        &self,
        parts: &[Part],
        top: bool,
        out: &mut String,
        env: &mut Vec<(String, String)>,
        err: &mut Option<String>,
    ) {
        for p in parts {
            match p {
                Part::Lit(l) if top => out.push_str(l),
                Part::Lit(l) if !l.is_empty() => out.push_str(&shell_word(l)),
                Part::Lit(_) => {}
                Part::Ref(Ref::Secret(n)) => match self.secrets.get(n) {
                    Some(v) => {
                        let var = format!("DRBOOK_SECRET_{n}");
                        out.push_str(&format!("\"${{{var}}}\""));
                        if !env.iter().any(|(k, _)| *k == var) {
                            env.push((var, v.to_string()));
                        }
                    }
                    None => {
                        err.get_or_insert(format!("secret `{n}` is not resolved"));
                    }
                },
                Part::Ref(r) => match self.lookup(r) {
                    Ok(v) => out.push_str(&shell_word(&v)),
                    Err(e) => {
                        err.get_or_insert(e);
                    }
                },
                Part::Word(inner) if top && !holds_secret(inner) => {
                    // No secret inside: the word as `render` makes it.
                    let t = Text { parts: inner.clone() };
                    match self.render(&t, false) {
                        Ok(w) => out.push_str(&shell_word(&w)),
                        Err(e) => {
                            err.get_or_insert(e);
                        }
                    }
                }
                Part::Word(inner) => self.script_parts(inner, false, out, env, err),
            }
        }
    }

    /// A reference as the runbook writes it: `lag_seconds`, `steps.lag.seconds`, `run.id`.
    pub fn name(&self, r: &Ref) -> String {
        match r {
            Ref::Param(n) | Ref::Secret(n) | Ref::OwnCapture(n) => n.clone(),
            Ref::Capture(i, n) => {
                format!("steps.{}.{n}", self.steps.get(*i).map_or("?", |s| s.id.as_str()))
            }
            Ref::RunId => "run.id".to_string(),
            Ref::RunbookName => "runbook.name".to_string(),
            Ref::RunEnd(f) => format!("run.{}", f.name()),
            Ref::Trigger(f) => format!("trigger.{}", f.name()),
        }
    }

    /// An expression as the runbook writes it.
    pub fn source(&self, e: &Expr) -> String {
        e.source(&|r| self.name(r))
    }

    /// A value as a message shows it: a number as it is, anything else quoted; every secret
    /// masked (before a long value is cut, so no piece of one is left); at most
    /// [`SHOWN_CHARS`] characters.
    fn shown(&self, r: Option<&Ref>, v: &Val) -> String {
        if let Some(Ref::Secret(n)) = r {
            return format!("<secret:{n}>");
        }
        let text = self.secrets.scrub(&v.text());
        let cut = match text.char_indices().nth(SHOWN_CHARS) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text,
        };
        match v {
            Val::Num(_) | Val::Bool(_) => cut,
            Val::Str(s) if seconds(s).is_some() => cut,
            Val::Str(_) if cut.starts_with("<secret:") && cut.ends_with('>') => cut,
            Val::Str(_) => {
                let q = quote(&cut).replace(r"\${", "${");
                q.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
            }
        }
    }

    /// Why a check is false: `check failed: lag_seconds < 300 (lag_seconds = 1200)`, naming
    /// the value of every reference it reads.
    pub fn check_failed(&self, e: &Expr) -> String {
        let values: Vec<String> = e
            .refs()
            .into_iter()
            .filter_map(|r| {
                let v = Val::Str(self.lookup(r).ok()?);
                Some(format!("{} = {}", self.name(r), self.shown(Some(r), &v)))
            })
            .collect();
        let values =
            if values.is_empty() { String::new() } else { format!(" ({})", values.join(", ")) };
        format!("check failed: {}{values}", self.source(e))
    }

    /// A number literal, a duration literal, or a param of type number or duration: the other
    /// side of a comparison with it must be a number too.
    fn demands_number(&self, e: &Expr) -> bool {
        match e {
            Expr::Number(_) | Expr::Duration(_) => true,
            Expr::Ref(Ref::Param(n)) => {
                matches!(self.params.get(n), Some(ParamValue::Number(_) | ParamValue::Duration(..)))
            }
            _ => false,
        }
    }

    pub fn eval(&self, e: &Expr) -> Result<Val, String> {
        Ok(match e {
            Expr::Str(s) => Val::Str(s.clone()),
            Expr::Number(n) => Val::Num(*n),
            Expr::Duration(ms) => Val::Num(*ms as f64 / 1000.0),
            Expr::Bool(b) => Val::Bool(*b),
            Expr::Ref(r) => Val::Str(self.lookup(r)?),
            Expr::Not(x) => Val::Bool(!self.eval(x)?.truthy()?),
            Expr::Binary(BinOp::And, l, r) => {
                Val::Bool(self.eval(l)?.truthy()? && self.eval(r)?.truthy()?)
            }
            Expr::Binary(BinOp::Or, l, r) => {
                Val::Bool(self.eval(l)?.truthy()? || self.eval(r)?.truthy()?)
            }
            Expr::Binary(op, l, r) => {
                let (a, b) = (self.eval(l)?, self.eval(r)?);
                if self.demands_number(l) || self.demands_number(r) {
                    for (side, v) in [(l, &a), (r, &b)] {
                        if v.number().is_none() {
                            let r = match side.as_ref() {
                                Expr::Ref(r) => Some(r),
                                _ => None,
                            };
                            let (name, v) = (self.source(side), self.shown(r, v));
                            return Err(format!("{name} is {v} (not a number)"));
                        }
                    }
                }
                Val::Bool(compare(*op, &a, &b))
            }
        })
    }
}

/// Whether a secret is referred to anywhere in `parts`.
fn holds_secret(parts: &[Part]) -> bool {
    parts.iter().any(|p| match p {
        Part::Ref(Ref::Secret(_)) => true,
        Part::Word(inner) => holds_secret(inner),
        _ => false,
    })
}

/// A value of an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
}

impl Val {
    pub fn truthy(&self) -> Result<bool, String> {
        match self {
            Val::Bool(b) => Ok(*b),
            Val::Str(s) if s == "true" => Ok(true),
            Val::Str(s) if s == "false" => Ok(false),
            Val::Num(_) | Val::Str(_) => Err(format!("`{}` is not true or false", self.text())),
        }
    }

    fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Num(n) => crate::model::format_number(*n),
            Val::Bool(b) => b.to_string(),
        }
    }

    /// As a number of seconds: a number, or a duration (`15m`).
    fn number(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s) => seconds(s),
            Val::Bool(_) => None,
        }
    }
}

/// A number, or a duration in seconds.
pub fn seconds(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Ok(n) = t.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    let is_duration = t.starts_with(|c: char| c.is_ascii_digit())
        && t.ends_with(|c: char| c.is_ascii_alphabetic());
    is_duration.then(|| crate::syntax::parse_duration(t)).flatten().map(|ms| ms as f64 / 1000.0)
}

fn compare(op: BinOp, l: &Val, r: &Val) -> bool {
    let ord = match (l.number(), r.number()) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(l.text().cmp(&r.text())),
    };
    let Some(ord) = ord else { return false };
    match op {
        BinOp::Eq => ord.is_eq(),
        BinOp::Ne => !ord.is_eq(),
        BinOp::Lt => ord.is_lt(),
        BinOp::Le => ord.is_le(),
        BinOp::Gt => ord.is_gt(),
        BinOp::Ge => ord.is_ge(),
        BinOp::And | BinOp::Or => false,
    }
}

/// Extracts a capture from an action's output (LANGUAGE.md §5 `capture`).
pub fn capture(from: &CaptureFrom, output: &str) -> Result<String, String> {
    match from {
        CaptureFrom::Stdout => Ok(output.trim_end().to_string()),
        CaptureFrom::Json(path) => {
            let doc: serde_json::Value = serde_json::from_str(output.trim())
                .map_err(|e| format!("output is not JSON ({e})"))?;
            let v = json_path(&doc, path).ok_or_else(|| format!("JSON has no `{path}`"))?;
            Ok(match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        }
        CaptureFrom::Regex(pattern) => {
            let re = regex::Regex::new(pattern).map_err(|e| format!("bad regex: {e}"))?;
            let caps =
                re.captures(output).ok_or_else(|| format!("no match for regex `{pattern}`"))?;
            let m = caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str()).unwrap_or_default();
            Ok(m.to_string())
        }
    }
}

/// `a.b[0].c` in a JSON document.
fn json_path<'v>(doc: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    let mut cur = doc;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (key, rest) = seg.find('[').map_or((seg, ""), |i| (&seg[..i], &seg[i..]));
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            let n: usize = idx.strip_suffix(']')?.parse().ok()?;
            cur = cur.get(n)?;
        }
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(params: &'a HashMap<String, ParamValue>, secrets: &'a Secrets) -> Values<'a> {
        Values {
            params,
            secrets,
            capture: &|_, n| if n == "id" { Ok("snap-1".into()) } else { Err(format!("no `{n}`")) },
            run_id: "r1",
            runbook: "rb",
            own: None,
            ended: None,
            steps: &[],
        }
    }

    #[test]
    fn hostile_values_stay_one_shell_word() {
        let params =
            HashMap::from([("t".to_string(), ParamValue::Str("x; rm -rf / $(reboot)".into()))]);
        let secrets = Secrets::default();
        let text =
            Text { parts: vec![Part::Lit("echo ".into()), Part::Ref(Ref::Param("t".into()))] };
        let v = values(&params, &secrets);
        assert_eq!(v.render(&text, true).expect("renders"), "echo 'x; rm -rf / $(reboot)'");
        assert_eq!(v.render(&text, false).expect("renders"), "echo x; rm -rf / $(reboot)");
    }

    #[test]
    fn a_secret_reaches_the_script_as_a_variable_never_as_its_value() {
        let params = HashMap::from([("h".to_string(), ParamValue::Str("db 1".into()))]);
        let hostile = "p'w; $(reboot) \"x\"";
        let secrets = Secrets::from_pairs(vec![("pw".into(), hostile.into())]);
        let v = values(&params, &secrets);
        let text = Text {
            parts: vec![
                Part::Lit("psql -h ".into()),
                Part::Ref(Ref::Param("h".into())),
                Part::Lit(" ".into()),
                Part::Ref(Ref::Secret("pw".into())),
                Part::Lit(" ".into()),
                // A template argument inserted as one word: `url = "postgres://u:${pw}@h"`.
                Part::Word(vec![
                    Part::Lit("postgres://u:".into()),
                    Part::Ref(Ref::Secret("pw".into())),
                    Part::Lit("@h".into()),
                ]),
            ],
        };
        let (script, env) = v.render_script(&text).expect("renders");
        assert_eq!(
            script,
            "psql -h 'db 1' \"${DRBOOK_SECRET_pw}\" postgres://u:\"${DRBOOK_SECRET_pw}\"@h"
        );
        assert!(!script.contains("p'w"));
        assert_eq!(env, [("DRBOOK_SECRET_pw".to_string(), hostile.to_string())]);
        // And `sh` sees the value, as one word, hostile as it is.
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", &format!("printf '%s|' {script}")])
            .env("DRBOOK_SECRET_pw", hostile)
            .output()
            .expect("sh runs");
        let got = String::from_utf8_lossy(&out.stdout).replace("printf", "");
        assert_eq!(got, format!("psql|-h|db 1|{hostile}|postgres://u:{hostile}@h|"));
    }

    #[test]
    fn numbers_and_durations_compare_as_numbers_otherwise_strings() {
        let params = HashMap::new();
        let secrets = Secrets::default();
        let v = values(&params, &secrets);
        let cmp = |op, l: Expr, r: Expr| {
            v.eval(&Expr::Binary(op, Box::new(l), Box::new(r))).expect("evaluates")
        };
        assert_eq!(
            cmp(BinOp::Lt, Expr::Str("899.5".into()), Expr::Duration(900_000)),
            Val::Bool(true)
        );
        assert_eq!(cmp(BinOp::Lt, Expr::Str("10".into()), Expr::Number(9.0)), Val::Bool(false));
        assert_eq!(cmp(BinOp::Eq, Expr::Str("15m".into()), Expr::Number(900.0)), Val::Bool(true));
        assert_eq!(
            cmp(BinOp::Lt, Expr::Str("abc".into()), Expr::Str("abd".into())),
            Val::Bool(true)
        );
        assert!(v.eval(&Expr::Not(Box::new(Expr::Str("maybe".into())))).is_err());
    }

    #[test]
    fn captures_from_stdout_json_and_regex() {
        assert_eq!(capture(&CaptureFrom::Stdout, "42\n\n").expect("ok"), "42");
        let doc = r#"{"DBSnapshots":[{"Id":"snap-9","Size":5,"Tags":{"a":1}}]}"#;
        assert_eq!(
            capture(&CaptureFrom::Json("DBSnapshots[0].Id".into()), doc).expect("ok"),
            "snap-9"
        );
        assert_eq!(
            capture(&CaptureFrom::Json("DBSnapshots[0].Tags".into()), doc).expect("ok"),
            r#"{"a":1}"#
        );
        assert!(capture(&CaptureFrom::Json("nope".into()), doc).is_err());
        assert_eq!(capture(&CaptureFrom::Regex(r"v(\d+)".into()), "app v12 ok").expect("ok"), "12");
        assert_eq!(capture(&CaptureFrom::Regex(r"\d+".into()), "a 77 b").expect("ok"), "77");
        assert!(capture(&CaptureFrom::Regex(r"x(\d)".into()), "none").is_err());
    }
}
