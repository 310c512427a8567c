//! Hostile inputs: imports that leave the project, terminal control characters, bytes that are
//! not UTF-8, and shell constructs that parse a param's value a second time.

use crate::runkit::{drb, run_ids};
use crate::{json, Test, TODAY};

const MODULE: &str = "template hi() {\n  run \"echo hi\"\n  idempotent\n}\n";

fn importing(path: &str) -> String {
    format!(
        "import \"{path}\" as m\nrunbook \"t\" {{\n  owner \"o\"; rto 1h\n  step a {{ duration 1m; use m.hi() }}\n}}\n"
    )
}

#[test]
fn an_import_climbing_out_of_the_project_is_refused_without_reading_it() {
    let t = Test::new()
        .file("secret.drbook", "TOPSECRET = hunter2\n")
        .file("proj/t.drbook", &importing("../secret.drbook"))
        .args(&["check", "proj/t.drbook", "--today", TODAY]);
    let out = t.run();
    out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
    out.expect_stderr("--root");
    assert!(!out.stderr.contains("TOPSECRET"), "{}", out.stderr);
    // The same in JSON: one diagnostic, nothing of the target.
    let out = t.cmd(&["check", "proj/t.drbook", "--format", "json", "--today", TODAY]);
    out.expect_status(2);
    let doc = json(&out);
    assert_eq!(doc["errors"], 1, "{doc}");
    assert_eq!(doc["diagnostics"][0]["code"], "drbook::load::import_outside_root");
    assert!(!out.stdout.contains("TOPSECRET"), "{}", out.stdout);
}

#[test]
fn proc_environ_and_absolute_imports_are_refused() {
    for target in ["../../../../../../../../proc/self/environ", "/proc/self/environ", "/etc/passwd"]
    {
        let out = Test::new()
            .file("t.drbook", &importing(target))
            .env("DRBOOK_TEST_CANARY", "CANARY-VALUE-42")
            .args(&["check", "t.drbook", "--today", TODAY])
            .run();
        out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
        assert!(!out.stderr.contains("CANARY-VALUE-42"), "{target}: {}", out.stderr);
        assert!(!out.stderr.contains("root:x:"), "{target}: {}", out.stderr);
    }
}

#[test]
fn a_symlinked_import_pointing_out_of_the_project_is_refused() {
    let t = Test::new()
        .file("outside/m.drbook", "TOPSECRET\n")
        .file("proj/t.drbook", &importing("./m.drbook"));
    std::os::unix::fs::symlink(t.path("outside/m.drbook"), t.path("proj/m.drbook"))
        .expect("plant a symlink");
    let out = t.cmd(&["plan", "proj/t.drbook", "--today", TODAY]);
    out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
    assert!(!out.stderr.contains("TOPSECRET"), "{}", out.stderr);
}

#[test]
fn root_widens_the_project_for_check_and_plan() {
    let t = Test::new()
        .file("lib/m.drbook", MODULE)
        .file("proj/t.drbook", &importing("../lib/m.drbook"))
        .file("proj/local.drbook", MODULE)
        .file("proj/u.drbook", &importing("./local.drbook"));
    t.cmd(&["check", "proj/t.drbook", "--today", TODAY])
        .expect_status(2)
        .expect_stderr("drbook::load::import_outside_root");
    t.cmd(&["check", "proj/t.drbook", "--root", ".", "--today", TODAY]).expect_status(0);
    t.cmd(&["plan", "proj/t.drbook", "--root", ".", "--today", TODAY]).expect_status(0);
    // Imports inside the runbook's own directory need no `--root`.
    t.cmd(&["check", "proj/u.drbook", "--today", TODAY]).expect_status(0);
    // A root that does not hold the runbook is refused.
    t.cmd(&["check", "proj/t.drbook", "--root", "lib", "--today", TODAY])
        .expect_status(2)
        .expect_stderr("--root");
}

#[test]
fn run_takes_root_too() {
    let t = Test::new()
        .file("lib/m.drbook", MODULE)
        .file("proj/t.drbook", &importing("../lib/m.drbook"));
    let out = t.cmd(&["run", "proj/t.drbook", "--root", ".", "--non-interactive"]);
    out.expect_status(0);
    let out = t.cmd(&["run", "proj/t.drbook", "--non-interactive"]);
    out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
}

#[test]
fn a_file_that_is_not_utf8_gets_a_diagnostic_with_its_position() {
    let t = Test::new().bytes("t.drbook", b"runbook \"t\" {\n  owner \"o\xffo\"\n}\n");
    let out = t.cmd(&["check", "t.drbook", "--format", "json", "--today", TODAY]);
    out.expect_status(2);
    let doc = json(&out);
    assert_eq!(doc["errors"], 1, "{doc}");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "drbook::syntax::not_utf8", "{doc}");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(2), Some(11)), "{doc}");
    assert!(d["message"].as_str().unwrap_or("").contains("byte offset 24"), "{doc}");
    let out = t.cmd(&["check", "t.drbook", "--today", TODAY]);
    out.expect_status(2)
        .expect_stderr("drbook::syntax::not_utf8")
        .expect_stderr("byte offset 24 (line 2, column 11)")
        .expect_stderr("t.drbook:2:11");
    t.cmd(&["plan", "t.drbook", "--today", TODAY])
        .expect_status(2)
        .expect_stderr("drbook::syntax::not_utf8");
}

/// No raw terminal control character but `\n` and `\t`.
#[track_caller]
fn inert(what: &str, s: &str) {
    let bad: Vec<char> = s.chars().filter(|&c| c.is_control() && c != '\n' && c != '\t').collect();
    assert!(bad.is_empty(), "{what} holds raw control characters {bad:?}:\n{s}");
}

#[test]
fn control_characters_in_a_param_are_escaped_in_plan_text() {
    let rb = "runbook \"t\" {\n  owner \"o\"; rto 1h\n  param target: string\n  step a { duration 1m; run \"deploy ${target}\"; idempotent }\n}\n";
    let out = Test::new()
        .file("t.drbook", rb)
        .args(&["plan", "t.drbook", "--today", TODAY])
        .args(&["--param", "target=ok\r\u{1b}[2Kharmless; rm -rf /data\u{202E}"])
        .run();
    out.expect_status(0);
    inert("plan", &out.stdout);
    assert!(out.stdout.contains("ok\\r\\e[2Kharmless; rm -rf /data\\u{202E}"), "{}", out.stdout);
    let out = Test::new()
        .file("t.drbook", rb)
        .args(&["run", "t.drbook", "--dry-run", "--non-interactive"])
        .args(&["--param", "target=ok\r\u{1b}[2Kx"])
        .run();
    out.expect_status(0);
    inert("dry run", &out.stdout);
    for format in ["markdown", "mermaid"] {
        let out = Test::new()
            .file("t.drbook", rb)
            .args(&["plan", "t.drbook", "--format", format, "--today", TODAY])
            .args(&["--param", "target=ok\r\u{1b}[2Kx"])
            .run();
        out.expect_status(0);
        inert(format, &out.stdout);
    }
    // JSON stays JSON, with the value intact.
    let out = Test::new()
        .file("t.drbook", rb)
        .args(&["plan", "t.drbook", "--format", "json", "--today", TODAY])
        .args(&["--param", "target=ok\r\u{1b}[2Kx"])
        .run();
    out.expect_status(0);
    let doc = json(&out);
    assert!(doc.to_string().contains("ok\\r\\u001b[2Kx"), "{doc}");
}

#[test]
fn control_characters_from_an_approver_name_are_refused_and_a_step_s_stderr_is_escaped() {
    let rb = "runbook \"t\" {\n  owner \"o\"; rto 1h\n  step g { duration 1m; approval { by lead } }\n  step a { needs g; duration 1m; run \"printf 'bad\\\\033[2K\\\\r' >&2; exit 3\"; idempotent }\n}\n";
    let t = Test::new().file("t.drbook", rb);
    // A name that hides characters never names a person: refused before anything runs, and
    // the refusal itself is inert.
    let who = "mal\u{1b}[2Klory";
    let out = drb(&t, &["--as", who, "run", "t.drbook", "--approve", "g", "--non-interactive"]);
    out.expect_status(2).expect_stderr("invisible character");
    inert("refusal", &out.stderr);
    assert!(run_ids(&t).is_empty(), "nothing was started");
    let out =
        drb(&t, &["--as", "mallory", "run", "t.drbook", "--approve", "g", "--non-interactive"]);
    assert_ne!(out.status, 0, "{out:?}");
    inert("run stdout", &out.stdout);
    inert("run stderr", &out.stderr);
    let ids = run_ids(&t);
    let st = drb(&t, &["status", &ids[0]]);
    inert("status", &st.stdout);
    assert!(st.stdout.contains("stderr: bad"), "{}", st.stdout);
    for format in ["text", "markdown"] {
        inert("report", &drb(&t, &["report", &ids[0], "--format", format]).stdout);
    }
    inert("status list", &drb(&t, &["status"]).stdout);
}

const HOSTILE: [&str; 3] = ["$(touch pwned)", "; touch pwned", "`touch pwned`"];

#[test]
fn shell_constructs_that_parse_a_param_again_are_linted() {
    let constructs = [
        ("heredoc", "cat <<EOF\\nvalue ${p}\\nEOF"),
        ("eval", "eval echo ${p}"),
        ("sh -c", "sh -c ${p}"),
        ("bash -c", "bash -c ${p}"),
        ("su -c", "su root -c ${p}"),
        ("xargs sh -c", "echo a | xargs sh -c ${p}"),
        ("ssh", "ssh db1 systemctl restart ${p}"),
    ];
    for (name, script) in constructs {
        let rb = format!("runbook \"t\" {{\n  owner \"o\"; rto 1h\n  param p: string\n  step a {{ duration 1m; idempotent; run \"{script}\" }}\n}}\n");
        for value in HOSTILE {
            let out = Test::new()
                .file("t.drbook", &rb)
                .args(&["check", "t.drbook", "--today", TODAY, "--format", "json"])
                .arg(format!("--param=p={value}"))
                .run();
            out.expect_status(0);
            let doc = json(&out);
            let d = &doc["diagnostics"][0];
            assert_eq!(d["code"], "drbook::lint::reparsed_interpolation", "{name}: {doc}");
            assert!(d["message"].as_str().unwrap_or("").contains("`${p}`"), "{name}: {doc}");
        }
    }
}

#[test]
fn the_documented_safe_patterns_never_run_a_hostile_value() {
    // `sh -c` stands for the remote shell of `ssh`.
    let safe = [
        "eval 'printf \\\"%s\\\\n\\\" \\\"$P\\\"' >> out",
        "sh -c 'printf \\\"%s\\\\n\\\" \\\"$P\\\"' >> out",
        "sh -c 'printf \\\"%s\\\\n\\\" \\\"$1\\\"' _ ${p} >> out",
        "printf '%s\\\\n' \\\"$P\\\" | sh -c 'read -r v; printf \\\"%s\\\\n\\\" \\\"$v\\\"' >> out",
        "sh <<'EOF' >> out\\nprintf '%s\\\\n' \\\"$P\\\"\\nEOF",
        "printf '%s\\\\n' ${p} >> out",
    ];
    for value in HOSTILE {
        let steps: String = safe
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let needs = if i == 0 { String::new() } else { format!("needs s{}; ", i - 1) };
                format!("  step s{i} {{ {needs}duration 1m; idempotent; run \"{s}\" }}\n")
            })
            .collect();
        let rb = format!("runbook \"t\" {{\n  owner \"o\"; rto 1h\n  param p: string\n  env {{ P = \"${{p}}\" }}\n{steps}}}\n");
        let t = Test::new().file("t.drbook", &rb);
        let check = t.cmd(&["check", "t.drbook", "--today", TODAY, "--format", "json"]);
        check.expect_status(0);
        let doc = json(&check);
        assert_eq!(doc["warnings"], 0, "{doc}");
        let out = drb(&t, &["run", "t.drbook", "--non-interactive", &format!("--param=p={value}")]);
        out.expect_status(0);
        assert!(!t.path("pwned").exists(), "{value:?} ran:\n{}", out.stdout);
        let lines: Vec<String> = t.read("out").lines().map(str::to_string).collect();
        assert_eq!(lines, vec![value.to_string(); safe.len()], "{value:?}");
    }
}

#[test]
fn diagnostics_keep_their_own_colours_and_escape_the_runbooks_characters() {
    let rb = "runbook \"t\" {\n  owner \"o\"; rto 1h\n  param p: string\n  step a { duration 1m; run \"echo ${p}\"; idempotent }\n}\n";
    let out = Test::new()
        .file("t.drbook", rb)
        .without_color_flag()
        .args(&["--color", "always", "plan", "t.drbook", "--today", TODAY])
        .args(&["--param", "p=x", "--param", "q\u{1b}[2K=y"])
        .run();
    out.expect_status(2);
    assert!(out.stderr.contains("\u{1b}["), "colours are kept: {}", out.stderr);
    assert!(!out.stderr.contains("\u{1b}[2K"), "{}", out.stderr);
    assert!(out.stderr.contains("q\\e[2K"), "{}", out.stderr);
}

#[test]
fn an_approver_name_with_control_characters_is_refused_by_approve() {
    let rb = "runbook \"t\" {\n  owner \"o\"; rto 1h\n  step g { duration 1m; approval { by lead } }\n}\n";
    let t = Test::new().file("t.drbook", rb);
    drb(&t, &["run", "t.drbook", "--non-interactive"]).expect_status(3);
    let ids = run_ids(&t);
    // Refused (a name with control characters names nobody), and the refusal is inert.
    let out = drb(&t, &["--as", "mal\u{1b}[2Klory", "approve", &ids[0], "g"]);
    out.expect_status(2).expect_stderr("invisible character");
    inert("approve stdout", &out.stdout);
    inert("approve stderr", &out.stderr);
}
