//! Secrets at run time: resolved once before any step starts (a missing source stops the run
//! before anything happens, LANGUAGE.md §7), held in a type whose `Debug` never shows a value,
//! and scrubbed from every piece of text the executor hands out: output lines, captures,
//! journal records, error messages, reports.

use crate::model::{Secret, SecretSource};
use std::fmt;

/// The shortest secret drbook accepts: masking a shorter value would garble every line that
/// happens to contain it and, by the pattern of what is masked, give the value away.
pub const MIN_LEN: usize = 4;

/// Every form of `value` drbook itself can produce or pass on, each at least [`MIN_LEN`] long:
/// the whole value, the value without surrounding whitespace (an `env()` value ending in a
/// newline prints without it), each line of a multi-line value (output is masked line by line),
/// and the value percent-encoded as in a URL (every reserved byte, and only the bytes a URL
/// parser encodes, in upper and lower case hex).
pub fn forms(value: &str) -> Vec<String> {
    let mut all = vec![value.to_string(), value.trim().to_string()];
    all.extend(value.lines().map(|l| l.trim().to_string()));
    for v in [value, value.trim()] {
        let full = percent(v, |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        let url = percent(v, |b| b > b' ' && b < 0x7f && !b"\"#<>?`{}'".contains(&b));
        let (lf, lu) = (lower_hex(&full), lower_hex(&url));
        all.extend([full, lf, url, lu]);
    }
    let mut out: Vec<String> = Vec::new();
    for f in all {
        if f.len() >= MIN_LEN && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// `v` with every byte `keep` refuses written `%XX`.
fn percent(v: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `v` with its `%XX` escapes in lower case, the rest untouched.
fn lower_hex(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut left = 0usize;
    for c in v.chars() {
        if c == '%' {
            left = 2;
            out.push(c);
        } else if left > 0 {
            left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

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
            let got = got.and_then(|v| {
                let n = v.trim().chars().count();
                if n < MIN_LEN {
                    Err(format!(
                        "the value is {n} character{} long; secrets must be at least {MIN_LEN}: a shorter one could not be masked without garbling all output and giving itself away",
                        if n == 1 { "" } else { "s" }
                    ))
                } else {
                    Ok(v)
                }
            });
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

    /// `text` with every form of every secret value (see [`forms`]) replaced by
    /// `<secret:NAME>`. All matches of all forms are found in the original text first and
    /// overlapping ones are merged, so neither a secret containing another nor two secrets that
    /// overlap leave any part of either visible; a match inside a longer one is masked whole.
    pub fn scrub(&self, text: &str) -> String {
        let mut hits: Vec<(usize, usize, &str)> = Vec::new();
        for (name, value) in &self.values {
            for form in forms(value) {
                let mut from = 0;
                while let Some(at) = text[from..].find(form.as_str()) {
                    let start = from + at;
                    hits.push((start, start + form.len(), name.as_str()));
                    // Overlapping occurrences too: step one character, not the whole match.
                    from = start + text[start..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        if hits.is_empty() {
            return text.to_string();
        }
        // Longest first among matches starting at the same place.
        hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        let mut i = 0;
        while i < hits.len() {
            let (start, mut end, first) = hits[i];
            let mut names = vec![first];
            i += 1;
            while i < hits.len() && hits[i].0 < end {
                // A match inside the group adds no name; one reaching past it (an overlap) does.
                let (_, e, name) = hits[i];
                if e > end && !names.contains(&name) {
                    names.push(name);
                }
                end = end.max(e);
                i += 1;
            }
            out.push_str(&text[at..start]);
            for name in names {
                out.push_str(&format!("<secret:{name}>"));
            }
            at = end;
        }
        out.push_str(&text[at..]);
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
    fn every_form_of_a_value_is_masked() {
        let s = Secrets::from_pairs(vec![
            ("key".into(), "-----BEGIN KEY-----\nAAAAB3Nza\n-----END KEY-----".into()),
            ("tok".into(), "a b&c/d\n".into()),
        ]);
        // Line by line, as output is masked.
        assert_eq!(s.scrub("AAAAB3Nza"), "<secret:key>");
        assert_eq!(s.scrub("-----END KEY-----"), "<secret:key>");
        // The trimmed value (an env() value ending in a newline) and its URL-encoded forms.
        assert_eq!(s.scrub("t=a b&c/d."), "t=<secret:tok>.");
        assert_eq!(s.scrub("?t=a%20b%26c%2Fd%0A"), "?t=<secret:tok>");
        assert_eq!(s.scrub("?t=a%20b&c/d"), "?t=<secret:tok>");
        assert_eq!(s.scrub("?t=a%20b%26c%2fd"), "?t=<secret:tok>");
    }

    #[test]
    fn overlapping_values_are_both_masked_whole() {
        let s = Secrets::from_pairs(vec![
            ("a".into(), "abcdefgh".into()),
            ("b".into(), "fghijklmnop".into()),
        ]);
        assert_eq!(s.scrub("[abcdefghijklmnop]"), "[<secret:a><secret:b>]");
        assert_eq!(s.scrub("xfghijklmnopx"), "x<secret:b>x");
        let repeat = Secrets::from_pairs(vec![("r".into(), "aaaa".into())]);
        assert_eq!(repeat.scrub("aaaaa!"), "<secret:r>!");
    }

    #[test]
    fn values_too_short_to_mask_are_refused() {
        let declared = [secret("pin", SecretSource::Env("PIN".into()))];
        for short in ["x", "abc", " ab\n"] {
            let errs = Secrets::resolve(
                &declared,
                |_| Some(short.to_string()),
                |_| Err(String::new()),
                std::path::Path::new("/tmp"),
            )
            .expect_err("refused");
            let shown = errs[0].to_string();
            assert!(shown.contains("at least 4"), "{shown}");
            assert!(!shown.contains(short.trim()) || short.trim().len() < 2, "{shown}");
        }
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
