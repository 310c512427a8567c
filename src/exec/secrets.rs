//! Secrets at run time: resolved once before any step starts (a missing source stops the run
//! before anything happens, LANGUAGE.md §7), held in a type whose `Debug` never shows a value,
//! and scrubbed from every piece of text the executor hands out: output lines, captures,
//! journal records, error messages, reports.

use crate::model::{Secret, SecretSource};
use std::fmt;

/// Resolved secret values, by name. `Debug` prints names only.
#[derive(Default, Clone)]
pub struct Secrets {
    values: Vec<(String, String)>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.values.iter().map(|(n, _)| format!("<secret:{n}>")).collect();
        f.debug_struct("Secrets").field("values", &names).finish()
    }
}

/// Why a secret could not be resolved. Never contains the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError {
    pub name: String,
    pub reason: String,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "secret `{}`: {}", self.name, self.reason)
    }
}

impl Secrets {
    /// Resolves every declared secret; all failures are returned together.
    /// `env` looks a variable up; `ssm` reads a parameter (with decryption); `base` is the runbook's directory for relative `file` paths.
    pub fn resolve(
        declared: &[Secret],
        env: impl Fn(&str) -> Option<String>,
        ssm: impl Fn(&str) -> Result<String, String>,
        base: &std::path::Path,
    ) -> Result<Secrets, Vec<SecretError>> {
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for s in declared {
            let got = match &s.source {
                SecretSource::Env(var) => env(var)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| format!("environment variable `{var}` is not set")),
                SecretSource::File(path) => {
                    let p = base.join(path);
                    std::fs::read_to_string(&p)
                        .map(|t| t.trim_end_matches(['\n', '\r']).to_string())
                        .map_err(|e| format!("cannot read `{}`: {e}", p.display()))
                        .and_then(|v| {
                            if v.is_empty() {
                                Err(format!("`{}` is empty", p.display()))
                            } else {
                                Ok(v)
                            }
                        })
                }
                SecretSource::Ssm(name) => ssm(name).and_then(|v| {
                    if v.is_empty() {
                        Err(format!("SSM parameter `{name}` is empty"))
                    } else {
                        Ok(v)
                    }
                }),
            };
            match got {
                Ok(v) => values.push((s.name.clone(), v)),
                Err(reason) => errors.push(SecretError { name: s.name.clone(), reason }),
            }
        }
        if errors.is_empty() {
            Ok(Secrets { values })
        } else {
            Err(errors)
        }
    }

    /// For tests and dry runs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Secrets {
        Secrets { values: pairs }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `text` with every secret value replaced by `<secret:NAME>`. Longer values are replaced
    /// first, so a secret containing another is masked whole.
    pub fn scrub(&self, text: &str) -> String {
        let mut order: Vec<&(String, String)> =
            self.values.iter().filter(|(_, v)| !v.is_empty()).collect();
        order.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut out = text.to_string();
        for (name, value) in order {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("<secret:{name}>"));
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn secret(name: &str, source: SecretSource) -> Secret {
        Secret { name: name.into(), source, span: Span::default() }
    }

    #[test]
    fn values_are_scrubbed_longest_first_and_never_debug_printed() {
        let s = Secrets::from_pairs(vec![
            ("a".into(), "hunter2".into()),
            ("b".into(), "hunter2xyz".into()),
        ]);
        assert_eq!(s.scrub("x hunter2xyz y hunter2"), "x <secret:b> y <secret:a>");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn missing_sources_are_all_reported_without_values() {
        let declared = [
            secret("hook", SecretSource::Env("NOPE_UNSET".into())),
            secret("db", SecretSource::File("no/such/file".into())),
            secret("p", SecretSource::Ssm("/x".into())),
        ];
        let no_ssm =
            |name: &str| Err(format!("cannot read SSM parameter `{name}`: ParameterNotFound"));
        let errs = Secrets::resolve(&declared, |_| None, no_ssm, std::path::Path::new("/tmp"))
            .expect_err("all fail");
        assert_eq!(errs.len(), 3);
        assert!(errs[0].to_string().contains("`NOPE_UNSET` is not set"));
        assert!(errs[2].to_string().contains("ParameterNotFound"));
    }
}
