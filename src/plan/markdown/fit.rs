//! The size budget of the markdown plan.
//!
//! Input: the plan's sections as [`Block`]s, each with a priority, and [`Options`]. Output: the
//! document, never longer than `max_chars` characters. When everything does not fit, blocks
//! are first summarised (their short form), then, lowest priority first, cut item by item
//! (table rows, step details) or left out, and a visible notice at the end says what was left
//! out and which command shows everything. Characters are counted after control characters
//! became visible escapes, so the count is that of the bytes written.

use crate::diag::escape::escape;

use super::cells::code;
use super::Options;

/// Blocks of this priority (the summary) are never cut by the budget.
pub(super) const NEVER_CUT: u8 = 100;

/// A section: `head`, `prefix`, the items, `tail`. Items are whole (a table row, one step's
/// details with its closed code fences), so a cut never leaves markdown open.
#[derive(Clone, Debug)]
pub(super) struct Block {
    what: String,
    priority: u8,
    head: String,
    prefix: String,
    items: Vec<String>,
    tail: String,
    short: Option<Vec<String>>,
    /// One item that cannot be cut: kept whole or left out.
    whole: bool,
}

impl Block {
    pub(super) fn fixed(what: &str, priority: u8, text: String) -> Block {
        Block {
            what: what.to_string(),
            priority,
            head: String::new(),
            prefix: String::new(),
            items: vec![text],
            tail: String::new(),
            short: None,
            whole: true,
        }
    }

    pub(super) fn list(
        what: &str,
        priority: u8,
        head: String,
        prefix: &str,
        items: Vec<String>,
        tail: &str,
    ) -> Block {
        Block {
            what: what.to_string(),
            priority,
            head,
            prefix: prefix.to_string(),
            items,
            tail: tail.to_string(),
            short: None,
            whole: false,
        }
    }

    /// A summarised form of the items, used when the whole plan does not fit.
    pub(super) fn or_short(mut self, short: Vec<String>) -> Block {
        self.short = Some(short);
        self
    }

    fn escaped(mut self) -> Block {
        let esc = |s: &mut String| *s = escape(s).into_owned();
        esc(&mut self.head);
        esc(&mut self.prefix);
        esc(&mut self.tail);
        self.items.iter_mut().for_each(esc);
        if let Some(short) = &mut self.short {
            short.iter_mut().for_each(esc);
        }
        self
    }

    fn frame_len(&self) -> usize {
        chars(&self.head) + chars(&self.prefix) + chars(&self.tail)
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `items` joined by `sep`, as `a, b, … (12 more) …, y, z` when there are more than `keep`.
pub(super) fn shorten_list(items: &[String], keep: usize, sep: &str) -> String {
    if items.len() <= keep {
        return items.join(sep);
    }
    let half = keep / 2;
    format!(
        "{}{sep}… ({} more) …{sep}{}",
        items[..half].join(sep),
        items.len() - 2 * half,
        items[items.len() - half..].join(sep)
    )
}

pub(super) fn fit(blocks: Vec<Block>, opts: &Options) -> String {
    let mut blocks: Vec<Block> = blocks.into_iter().map(Block::escaped).collect();
    let mut lens: Vec<Vec<usize>> =
        blocks.iter().map(|b| b.items.iter().map(|i| chars(i)).collect()).collect();
    let total = |blocks: &[Block], lens: &[Vec<usize>], keep: &[Option<usize>]| -> usize {
        blocks
            .iter()
            .zip(lens)
            .zip(keep)
            .map(|((b, l), k)| match k {
                Some(0) => 0,
                Some(n) => b.frame_len() + l[..*n].iter().sum::<usize>(),
                None => b.frame_len() + l.iter().sum::<usize>(),
            })
            .sum()
    };
    let mut keep: Vec<Option<usize>> = vec![None; blocks.len()];
    if total(&blocks, &lens, &keep) <= opts.max_chars {
        return join(&blocks, &keep);
    }

    let reserve = chars(&notice(&worst_case(&blocks), opts)) + 16;
    let budget = opts.max_chars.saturating_sub(reserve);
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&i| blocks[i].priority);
    let mut left_out = Vec::new();
    for &i in &order {
        if total(&blocks, &lens, &keep) <= budget {
            break;
        }
        if let Some(short) = blocks[i].short.take() {
            lens[i] = short.iter().map(|s| chars(s)).collect();
            blocks[i].items = short;
            left_out.push(format!("{} summarised to one line per action", blocks[i].what));
        }
    }
    for &i in &order {
        let over = total(&blocks, &lens, &keep).saturating_sub(budget);
        if over == 0 {
            break;
        }
        if blocks[i].priority >= NEVER_CUT {
            continue;
        }
        let n = blocks[i].items.len();
        let mut kept = n;
        let mut removed = 0;
        while kept > 0 && removed < over {
            kept -= 1;
            removed += lens[i][kept];
        }
        // Without its items the frame is noise: leave the whole block out.
        if kept == 0 || blocks[i].whole {
            kept = 0;
            let what = blocks[i].what.clone();
            left_out.retain(|l| !l.starts_with(&format!("{what} summarised")));
            left_out.push(what);
        } else {
            left_out.push(format!("{} of {n} {}", n - kept, blocks[i].what));
        }
        keep[i] = Some(kept);
    }
    let mut doc = join(&blocks, &keep);
    let end = notice(&left_out, opts);
    if chars(&doc) + chars(&end) > opts.max_chars {
        // Only a summary longer than the budget gets here (a long description, say): cut it
        // at a line, keeping the notice.
        left_out.push("the end of the summary".to_string());
        let end = notice(&left_out, opts);
        let room = opts.max_chars.saturating_sub(chars(&end) + 1);
        let mut cut: String = doc.chars().take(room).collect();
        cut.truncate(cut.rfind('\n').map_or(0, |i| i + 1));
        cut.push('\n');
        cut.push_str(&end);
        return cut.chars().take(opts.max_chars).collect();
    }
    doc.push_str(&end);
    doc
}

fn join(blocks: &[Block], keep: &[Option<usize>]) -> String {
    let mut doc = String::new();
    for (b, k) in blocks.iter().zip(keep) {
        let n = k.unwrap_or(b.items.len());
        if n == 0 {
            continue;
        }
        doc.push_str(&b.head);
        doc.push_str(&b.prefix);
        b.items[..n].iter().for_each(|i| doc.push_str(i));
        doc.push_str(&b.tail);
    }
    doc
}

/// The longest list of left-out parts the blocks can produce.
fn worst_case(blocks: &[Block]) -> Vec<String> {
    blocks
        .iter()
        .flat_map(|b| {
            let n = b.items.len().max(b.short.as_ref().map_or(0, Vec::len));
            [
                format!("{n} of {n} {}", b.what),
                format!("{} summarised to one line per action", b.what),
            ]
        })
        .collect()
}

fn notice(left_out: &[String], opts: &Options) -> String {
    let source = escape(&opts.source).into_owned();
    format!(
        "> ✂️ **Shortened to fit {} characters.** Left out: {}. See the whole plan with {} \
         (or `--format json`).\n",
        opts.max_chars,
        left_out.join("; "),
        code(&format!("drbook plan {source} --format text")),
    )
}
