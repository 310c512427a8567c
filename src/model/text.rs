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
    /// A template argument: one value, a single shell word wherever values are quoted.
    Word(Vec<Part>),
}

impl Text {
    pub fn literal(s: impl Into<String>) -> Text {
        Text { parts: vec![Part::Lit(s.into())] }
    }

    /// Every reference, including those inside template arguments.
    pub fn refs(&self) -> Vec<&Ref> {
        fn walk<'a>(parts: &'a [Part], out: &mut Vec<&'a Ref>) {
            for p in parts {
                match p {
                    Part::Ref(r) => out.push(r),
                    Part::Word(inner) => walk(inner, out),
                    Part::Lit(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.parts, &mut out);
        out
    }

    /// The text with every reference rendered by `f` (values, `<secret:NAME>`...), nothing
    /// quoted: for URLs, messages, parameters.
    pub fn render(&self, mut f: impl FnMut(&Ref) -> String) -> String {
        let mut out = String::new();
        render_into(&self.parts, false, &mut |r, _| f(r), &mut out);
        out
    }

    /// The text as `sh -c` receives it: `f(ref, true)` must return the reference's value as
    /// one shell word ([`shell_word`]); a template argument is rendered whole with
    /// `f(ref, false)` for its references and then quoted as one word.
    pub fn render_shell(&self, mut f: impl FnMut(&Ref, bool) -> String) -> String {
        let mut out = String::new();
        render_into(&self.parts, true, &mut f, &mut out);
        out
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(s) if s.is_empty()))
    }
}

fn render_into(
    parts: &[Part],
    quote: bool,
    f: &mut dyn FnMut(&Ref, bool) -> String,
    out: &mut String,
) {
    for p in parts {
        match p {
            Part::Lit(s) => out.push_str(s),
            Part::Ref(r) => out.push_str(&f(r, quote)),
            Part::Word(inner) if quote => {
                let mut word = String::new();
                render_into(inner, false, f, &mut word);
                out.push_str(&shell_word(&word));
            }
            Part::Word(inner) => render_into(inner, false, f, out),
        }
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
