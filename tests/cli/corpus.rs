//! Shipped runbooks, the bundled library and documentation examples must all check.

use crate::{crate_root, drbook_files, report, Test, TODAY};

fn strict_check(files: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    for f in files {
        let out =
            Test::new().in_crate_root().args(&["check", "--strict", "--today", TODAY, f]).run();
        out.expect_no_crash();
        if out.status != 0 || out.stderr != format!("ok: {f} (0 errors, 0 warnings)\n") {
            failures.push(format!("{f}: exit {}\n{}", out.status, out.stderr));
        }
    }
    failures
}

#[test]
fn every_shipped_runbook_passes_strict_check() {
    let files = drbook_files("runbooks");
    assert!(!files.is_empty(), "runbooks/ has no runbook");
    report(strict_check(&files));
}

#[test]
fn every_stdlib_module_passes_strict_check() {
    let files = drbook_files("stdlib");
    assert!(!files.is_empty(), "stdlib/ has no module");
    report(strict_check(&files));
}

#[test]
fn every_stdlib_module_is_importable_as_std() {
    for f in drbook_files("stdlib") {
        let name = crate::stem(&f);
        let runbook = format!(
            "import \"std/{name}\"\nrunbook \"r\" {{\n  owner \"o\"\n  rto 1h\n  step s {{\n    \
             duration 1m\n    manual \"m\"\n  }}\n}}\n"
        );
        Test::new()
            .file("r.drbook", &runbook)
            .args(&["check", "--today", TODAY, "r.drbook"])
            .run()
            .expect_status(0);
    }
}

/// The ```drbook blocks of a Markdown text, with the line each starts on.
fn drbook_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match current.take() {
            None if fence.starts_with("```") && fence[3..].trim() == "drbook" => {
                current = Some((i + 2, String::new()));
            }
            None => {}
            Some(block) if fence.starts_with("```") => blocks.push(block),
            Some((start, mut text)) => {
                text.push_str(line);
                text.push('\n');
                current = Some((start, text));
            }
        }
    }
    blocks
}

#[test]
fn drbook_blocks_are_extracted_from_markdown() {
    let md =
        "text\n```drbook\nrunbook \"a\" {\n}\n```\n```sh\nls\n```\n  ```drbook\n# fragment\n```\n";
    assert_eq!(
        drbook_blocks(md),
        [(3, "runbook \"a\" {\n}\n".to_string()), (10, "# fragment\n".to_string())]
    );
}

/// Every ```drbook block of README.md and docs/*.md: (file, line, text).
fn doc_blocks() -> Vec<(String, usize, String)> {
    let root = crate_root();
    let mut docs = vec![root.join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        let mut md: Vec<_> = entries
            .map(|e| e.expect("a docs entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        md.sort();
        docs.extend(md);
    }
    let mut all = Vec::new();
    for doc in docs.iter().filter(|d| d.is_file()) {
        let text = std::fs::read_to_string(doc).expect("read a Markdown file");
        let name = doc.strip_prefix(&root).unwrap_or(doc).display().to_string();
        all.extend(drbook_blocks(&text).into_iter().map(|(line, b)| (name.clone(), line, b)));
    }
    all
}

fn is_fragment(block: &str) -> bool {
    block.lines().next().is_some_and(|l| l.trim_start().starts_with("# fragment"))
}

#[test]
fn every_drbook_block_in_the_docs_checks_without_errors() {
    let mut failures = Vec::new();
    for (name, line, block) in doc_blocks() {
        if is_fragment(&block) {
            continue;
        }
        let out = Test::new()
            .file("block.drbook", &block)
            .args(&["check", "--today", TODAY, "block.drbook"])
            .run();
        out.expect_no_crash();
        if out.status != 0 {
            failures
                .push(format!("{name}:{line}: the drbook block does not check\n{}", out.stderr));
        }
    }
    report(failures);
}

/// What readers copy is what `drbook fmt` writes: every block that parses as a file (all but
/// some `# fragment`s) is already in the canonical layout.
#[test]
fn every_drbook_block_in_the_docs_is_fmt_clean() {
    let mut failures = Vec::new();
    for (name, line, block) in doc_blocks() {
        let t = Test::new().file("block.drbook", &block);
        let out = t.cmd(&["fmt", "--check", "block.drbook"]);
        out.expect_no_crash();
        match out.status {
            0 => {}
            2 if is_fragment(&block) => {}
            _ => {
                t.cmd(&["fmt", "block.drbook"]);
                let diff = std::process::Command::new("diff")
                    .args(["-u", "-", "block.drbook"])
                    .current_dir(t.path(""))
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .and_then(|mut c| {
                        use std::io::Write;
                        c.stdin.take().expect("piped").write_all(block.as_bytes())?;
                        c.wait_with_output()
                    })
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                failures.push(format!(
                    "{name}:{line}: the drbook block is not fmt-clean (exit {})\n{}{diff}",
                    out.status, out.stderr
                ));
            }
        }
    }
    report(failures);
}
