//! Interpolated text: literal pieces and references, resolved later by `plan` (params) or
//! `exec` (secrets, captures, the run id).

use super::Ref;

/// A string of the runbook with its `${...}` references resolved to what they denote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Text {
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Lit(String),
    Ref(Ref),
}

impl Text {
    pub fn literal(s: impl Into<String>) -> Text {
        Text { parts: vec![Part::Lit(s.into())] }
    }

    pub fn refs(&self) -> impl Iterator<Item = &Ref> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Lit(_) => None,
        })
    }

    /// The text with every reference rendered by `f`; `f` decides how secrets, params and
    /// captures appear (values, `<secret:NAME>`, shell-quoted words...).
    pub fn render(&self, mut f: impl FnMut(&Ref) -> String) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Ref(r) => out.push_str(&f(r)),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(s) if s.is_empty()))
    }
}

/// Quotes a value as one shell word (LANGUAGE.md §6): as is when it consists only of
/// `A-Za-z0-9_./:=@%+,-`, otherwise single-quoted with embedded quotes escaped.
pub fn shell_word(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_everything_but_safe_characters() {
        assert_eq!(shell_word("us-west-2"), "us-west-2");
        assert_eq!(shell_word("x; rm -rf /"), "'x; rm -rf /'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
    }
}
