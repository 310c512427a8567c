//! Escaping for the markdown plan: plain text, code spans and fenced blocks that show what the
//! runbook says, never markdown or HTML it happens to contain.

/// Plain text safe anywhere, table cells included: markdown punctuation backslash-escaped,
/// newlines as `<br>`.
pub(super) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A code span safe in a table cell: a backtick fence longer than any run inside, `|`
/// escaped (GFM unescapes it inside cells), newlines as spaces.
pub(super) fn code(s: &str) -> String {
    let fence = "`".repeat(longest_run(s, '`') + 1);
    let body = s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let pad = if body.starts_with('`') || body.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A fenced code block holding `s` in full: the fence is longer than any run of backticks or
/// tildes inside, so no line of `s` can close it.
pub(super) fn block(s: &str) -> String {
    let fence = "`".repeat(longest_run(s, '`').max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", s.trim_end())
}

fn longest_run(s: &str, of: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == of { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}
