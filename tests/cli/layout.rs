//! The shape of the top floors, checked: no file in `src/exec/` or `src/cli/` is over the size
//! limit, and no file there imports (`use super::…`, `use crate::…`) a module that imports it
//! back, directly or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines a file in the top floors may have.
const MAX_LINES: usize = 600;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("source dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            // Test modules may import what they test.
            if p.file_name().is_some_and(|n| n != "tests") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/exec/action/mod.rs` → `["exec", "action"]`; `src/exec/ctx.rs` → `["exec", "ctx"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src").with_extension("");
    let mut m: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    if m.last().is_some_and(|l| l == "mod") {
        m.pop();
    }
    m
}

/// The source without its `#[cfg(test)] mod tests { ... }` block (at the end by convention).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests {").map_or(text, |i| &text[..i])
}

/// The paths named after `super::` or `crate::`, resolved to module paths.
fn named_paths(me: &[String], is_mod_rs: bool, text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for (kw, from_crate) in [("super::", false), ("crate::", true)] {
        let mut at = 0;
        while let Some(i) = text[at..].find(kw) {
            let start = at + i;
            at = start + kw.len();
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            let rest: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let parts: Vec<String> =
                rest.split("::").filter(|p| !p.is_empty()).map(str::to_string).collect();
            let mut path = if from_crate {
                Vec::new()
            } else {
                // `super` of `a/b.rs` is `a`; of `a/b/mod.rs` it is `a` too.
                let _ = is_mod_rs;
                me[..me.len().saturating_sub(1)].to_vec()
            };
            path.extend(parts);
            out.push(path);
        }
    }
    // `use child::…` inside a `mod.rs` names a child module.
    if is_mod_rs {
        for line in text.lines() {
            let l = line.trim_start();
            let l = l.strip_prefix("pub ").or_else(|| l.strip_prefix("pub(super) ")).unwrap_or(l);
            if let Some(rest) = l.strip_prefix("use ") {
                let first: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !["std", "crate", "super", "self", "tokio", "nix"].contains(&first.as_str()) {
                    let mut p = me.to_vec();
                    p.push(first);
                    out.push(p);
                }
            }
        }
    }
    out
}

#[test]
fn the_executor_and_the_cli_have_small_files_and_no_import_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for floor in ["exec", "cli"] {
        rust_files(&src.join(floor), &mut files);
    }
    let mut too_big = Vec::new();
    let mut modules: BTreeMap<Vec<String>, (PathBuf, String)> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable source");
        let lines = text.lines().count();
        if lines > MAX_LINES {
            too_big.push(format!("{} ({lines} lines)", f.display()));
        }
        modules.insert(module_of(&src, f), (f.clone(), text));
    }
    assert!(too_big.is_empty(), "files over {MAX_LINES} lines: {too_big:?}");
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (me, (file, text)) in &modules {
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        let deps = edges.entry(me.clone()).or_default();
        for path in named_paths(me, is_mod_rs, without_tests(text)) {
            // The longest module prefix of the path, other than the file itself.
            let found = (1..=path.len())
                .rev()
                .map(|k| path[..k].to_vec())
                .find(|p| modules.contains_key(p));
            if let Some(m) = found.filter(|m| m != me) {
                deps.insert(m);
            }
        }
    }
    // Any cycle: depth-first search with colours.
    fn visit(
        m: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        colour: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        colour.insert(m.clone(), 1);
        stack.push(m.clone());
        for d in edges.get(m).into_iter().flatten() {
            match colour.get(d).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == d).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|s| s.join("::")).collect();
                    cycle.push(d.join("::"));
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(d, edges, colour, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        colour.insert(m.clone(), 2);
        None
    }
    let mut colour = BTreeMap::new();
    for m in edges.keys() {
        if colour.get(m).copied().unwrap_or(0) == 0 {
            let cycle = visit(m, &edges, &mut colour, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "an import circle: {}",
                cycle.unwrap_or_default().join(" -> ")
            );
        }
    }
}
