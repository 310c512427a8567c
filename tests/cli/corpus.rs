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

#[test]
fn every_drbook_block_in_the_docs_checks_without_errors() {
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
    let mut failures = Vec::new();
    for doc in docs.iter().filter(|d| d.is_file()) {
        let text = std::fs::read_to_string(doc).expect("read a Markdown file");
        let name = doc.strip_prefix(&root).unwrap_or(doc).display().to_string();
        for (line, block) in drbook_blocks(&text) {
            if block.lines().next().is_some_and(|l| l.trim_start().starts_with("# fragment")) {
                continue;
            }
            let out = Test::new()
                .file("block.drbook", &block)
                .args(&["check", "--today", TODAY, "block.drbook"])
                .run();
            out.expect_no_crash();
            if out.status != 0 {
                failures.push(format!(
                    "{name}:{line}: the drbook block does not check\n{}",
                    out.stderr
                ));
            }
        }
    }
    report(failures);
}
