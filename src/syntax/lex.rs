//! The structural scanner: one linear pass over a file that knows strings, comments and
//! brackets, and nothing else. It finds unterminated strings (reported at the opening quote),
//! unbalanced or too deeply nested brackets, collects comments for the formatter, and cuts a
//! region into statements so that pest parses one statement at a time.
//!
//! Invariant: [`statements`] is only called on text that [`scan`] accepted, so every string
//! and bracket in it is closed.

/// Brackets nested deeper than this are refused, which bounds the parser's recursion.
pub const MAX_DEPTH: usize = 64;

/// A `#` comment: byte range from `#` to the end of the line (newline excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
}

/// What the scanner refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexError {
    UnterminatedString { at: usize },
    UnterminatedTriple { at: usize },
    Unclosed { at: usize, open: u8 },
    Unexpected { at: usize, close: u8 },
    Mismatched { open_at: usize, open: u8, at: usize, close: u8 },
    TooDeep { at: usize },
}

/// Scans the whole file; returns its comments.
pub fn scan(text: &str) -> Result<Vec<Comment>, LexError> {
    let b = text.as_bytes();
    let mut comments = Vec::new();
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                let end = line_end(b, i);
                comments.push(Comment { start: i, end });
                i = end;
            }
            b'"' => i = skip_string(b, i)?,
            c @ (b'{' | b'[' | b'(') => {
                if stack.len() >= MAX_DEPTH {
                    return Err(LexError::TooDeep { at: i });
                }
                stack.push((c, i));
                i += 1;
            }
            c @ (b'}' | b']' | b')') => {
                match stack.pop() {
                    None => return Err(LexError::Unexpected { at: i, close: c }),
                    Some((open, open_at)) if closer(open) != c => {
                        return Err(LexError::Mismatched { open_at, open, at: i, close: c })
                    }
                    Some(_) => {}
                }
                i += 1;
            }
            _ => i += 1 + plain_run(&b[i + 1..]),
        }
    }
    match stack.pop() {
        Some((open, at)) => Err(LexError::Unclosed { at, open }),
        None => Ok(comments),
    }
}

pub fn closer(open: u8) -> u8 {
    match open {
        b'{' => b'}',
        b'[' => b']',
        _ => b')',
    }
}

fn line_end(b: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &b[from..]).map_or(b.len(), |p| from + p)
}

/// The bytes [`statements`] and [`outer_block`] act on: comment and string starts, brackets and
/// statement separators. Everything between two of them is skipped as one run.
static STOPS: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let stops = b"#\"{[(}])\n;";
    while k < stops.len() {
        t[stops[k] as usize] = true;
        k += 1;
    }
    t
};

/// The length of the run of plain bytes at the start of `b`.
fn plain_run(b: &[u8]) -> usize {
    b.iter().position(|&c| STOPS[usize::from(c)]).unwrap_or(b.len())
}

/// Index just past the string starting at `i` (a `"`), single or triple.
fn skip_string(b: &[u8], i: usize) -> Result<usize, LexError> {
    if b[i..].starts_with(b"\"\"\"") {
        let mut j = i + 3;
        while let Some(k) = memchr::memchr2(b'"', b'\\', b.get(j..).unwrap_or(&[])) {
            j += k;
            if b[j] == b'\\' {
                j += 2;
            } else if b[j..].starts_with(b"\"\"\"") {
                return Ok(j + 3);
            } else {
                j += 1;
            }
        }
        return Err(LexError::UnterminatedTriple { at: i });
    }
    let mut j = i + 1;
    while let Some(k) = memchr::memchr3(b'"', b'\\', b'\n', &b[j..]) {
        j += k;
        match b[j] {
            b'\\' if b.get(j + 1).is_some_and(|&c| c != b'\n') => j += 2,
            b'"' => return Ok(j + 1),
            _ => break,
        }
    }
    Err(LexError::UnterminatedString { at: i })
}

/// Cuts `text[start..end]` into statements: byte ranges separated by newlines or `;` outside
/// strings, comments and brackets, trimmed of blanks and trailing comments; blank and
/// comment-only statements are dropped.
pub fn statements(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut stmt_start = start;
    let mut last_code = None;
    let mut i = start;
    let mut push = |s: usize, last: Option<usize>| {
        if let Some(e) = last {
            let s = s + b[s..e].iter().take_while(|c| c.is_ascii_whitespace()).count();
            out.push((s, e));
        }
    };
    while i < end {
        match b[i] {
            b'#' => i = line_end(b, i).min(end),
            b'"' => {
                i = skip_string(b, i).unwrap_or(end).min(end);
                last_code = Some(i);
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                i += 1;
                last_code = Some(i);
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
                last_code = Some(i);
            }
            b'\n' | b';' if depth == 0 => {
                push(stmt_start, last_code.take());
                i += 1;
                stmt_start = i;
            }
            c => {
                i += 1;
                if !c.is_ascii_whitespace() {
                    last_code = Some(i);
                }
                let run = plain_run(&b[i..end]);
                if let Some(p) = b[i..i + run].iter().rposition(|c| !c.is_ascii_whitespace()) {
                    last_code = Some(i + p + 1);
                }
                i += run;
            }
        }
    }
    push(stmt_start, last_code);
    out
}

/// The first `{` at bracket depth 0 in `text[start..end]`, and its matching `}`.
pub fn outer_block(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut open = None;
    let mut i = start;
    while i < end {
        match b[i] {
            b'#' => i = line_end(b, i),
            b'"' => i = skip_string(b, i).unwrap_or(end),
            c @ (b'{' | b'[' | b'(') => {
                if depth == 0 && c == b'{' {
                    open = Some(i);
                }
                if depth == 0 && c != b'{' {
                    depth += 1;
                    i += 1;
                    continue;
                }
                depth += 1;
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if let Some(o) = open {
                        return Some((o, i));
                    }
                }
                i += 1;
            }
            _ => i += 1 + plain_run(&b[i + 1..end]),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_string_is_reported_at_its_opening_quote() {
        assert_eq!(scan("a \"abc\nb"), Err(LexError::UnterminatedString { at: 2 }));
        assert_eq!(scan("x \"\"\"abc\n"), Err(LexError::UnterminatedTriple { at: 2 }));
    }

    #[test]
    fn brackets_must_balance() {
        assert_eq!(
            scan("{ ]"),
            Err(LexError::Mismatched { open_at: 0, open: b'{', at: 2, close: b']' })
        );
        assert_eq!(scan("x }"), Err(LexError::Unexpected { at: 2, close: b'}' }));
        assert_eq!(scan("a {\n"), Err(LexError::Unclosed { at: 2, open: b'{' }));
        assert!(matches!(scan(&"[".repeat(100_000)), Err(LexError::TooDeep { at: 64 })));
    }

    #[test]
    fn comments_strings_and_escapes_do_not_confuse_the_scanner() {
        let src = "a \"#{ \\\" }\" # } {\nb \"\"\"\n x \" } \n\"\"\"";
        let comments = scan(src).expect("valid");
        assert_eq!(comments.len(), 1);
        assert_eq!(&src[comments[0].start..comments[0].end], "# } {");
    }

    #[test]
    fn statements_split_on_newlines_and_semicolons_outside_brackets() {
        let src = "a 1; b [1,\n2]\n  # only a comment\nc { x\ny }  # trailing\n\n";
        let parts: Vec<&str> =
            statements(src, 0, src.len()).into_iter().map(|(s, e)| &src[s..e]).collect();
        assert_eq!(parts, ["a 1", "b [1,\n2]", "c { x\ny }"]);
    }
}
