//! Help and usage errors.

use crate::Test;

#[test]
fn help_exits_0_and_lists_the_commands() {
    let out = Test::new().without_color_flag().args(&["--help"]).run();
    out.expect_status(0);
    for cmd in ["check", "plan", "fmt"] {
        assert!(out.stdout.contains(cmd), "--help does not mention `{cmd}`\n{}", out.stdout);
    }
}

#[test]
fn subcommand_help_exits_0() {
    for cmd in ["check", "plan", "fmt"] {
        let out = Test::new().args(&[cmd, "--help"]).run();
        out.expect_status(0);
        assert!(out.stdout.contains("Usage: drbook"), "{}", out.stdout);
    }
}

#[test]
fn version_exits_0() {
    let out = Test::new().without_color_flag().args(&["--version"]).run();
    out.expect_status(0);
    assert!(out.stdout.starts_with("drbook "), "{}", out.stdout);
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    Test::new().args(&["frobnicate"]).run().expect_status(2).expect_stderr("frobnicate");
}

#[test]
fn no_subcommand_is_a_usage_error() {
    Test::new().without_color_flag().run().expect_status(2).expect_stderr("Usage: drbook");
}

#[test]
fn check_without_a_file_is_a_usage_error() {
    Test::new().args(&["check"]).run().expect_status(2).expect_stderr("<FILES>");
}

#[test]
fn plan_without_a_file_is_a_usage_error() {
    Test::new().args(&["plan"]).run().expect_status(2).expect_stderr("<FILE>");
}

#[test]
fn unknown_format_is_a_usage_error() {
    Test::new()
        .file("r.drbook", "runbook \"r\" {\n}\n")
        .args(&["plan", "--format", "yaml", "r.drbook"])
        .run()
        .expect_status(2)
        .expect_stderr("yaml");
}

#[test]
fn unknown_color_choice_is_a_usage_error() {
    Test::new()
        .without_color_flag()
        .args(&["--color", "rainbow", "check", "x"])
        .run()
        .expect_status(2);
}

#[test]
fn color_never_prints_no_escape_codes() {
    let out = Test::new()
        .file("r.drbook", "runbook \"r\" {\n  stepp s {}\n}\n")
        .args(&["check", "--today", crate::TODAY, "r.drbook"])
        .run();
    out.expect_status(2);
    assert!(!out.stderr.contains('\u{1b}'), "{}", out.stderr);
}

/// README names the toolchain `Cargo.toml`'s `rust-version` requires: one truth.
#[test]
fn readme_names_the_rust_version_cargo_requires() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |f: &str| std::fs::read_to_string(root.join(f)).expect("readable");
    let manifest = read("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("Cargo.toml sets rust-version");
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("You need a Rust toolchain, {version} or newer.")),
        "README must name Rust {version}"
    );
}
