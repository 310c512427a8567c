//! Table tests of check findings on small runbooks written as text: which codes come out, and
//! what their help says.

use super::{check, Checked, Options};
use crate::diag::Diagnostic;
use crate::load::load_text;
use crate::model::Date;

/// `src` loaded as `t.drbook` and checked on 2026-11-23, with no params (shared by the
/// check's table tests).
pub(super) fn checked(src: &str) -> Checked {
    let mut loaded = load_text("t.drbook", None, src.into());
    let opts = Options {
        today: Date { year: 2026, month: 11, day: 23 },
        params: Vec::new(),
        require_params: false,
        strict: false,
    };
    check(&mut loaded, &opts)
}

fn diags(src: &str) -> Vec<Diagnostic> {
    checked(src).diags
}

fn codes(src: &str) -> Vec<&'static str> {
    diags(src).into_iter().map(|d| d.code).collect()
}

/// A runbook with one `run` step around `script` (written as the inside of a `"""` string).
fn with_script(script: &str) -> String {
    format!(
        "runbook \"t\" {{\n  owner \"o\"\n  rto 1h\n  param x = \"v\"\n  step a {{\n    duration 1m\n    idempotent\n    run \"\"\"\n{script}\n\"\"\"\n  }}\n}}\n"
    )
}

#[test]
fn quoted_interpolation_only_where_the_shell_quotes() {
    let lint = "drbook::lint::quoted_interpolation";
    let table: &[(&str, bool)] = &[
        ("echo '${x}'", true),
        ("echo \"${x}\"", true),
        ("echo \"a ${x} b\"", true),
        ("echo ${x}", false),
        ("# don't panic\necho ${x}", false),
        ("echo hi # it's fine\necho ${x}", false),
        ("echo \"$(cat ${x})\"", false),
        ("echo \"$(printf '%s' ${x})\"", false),
        ("echo \"$(cat ${x})\" \"${x}\"", true),
        ("echo \"$(echo '${x}')\"", true),
        ("echo a#b '${x}'", true),
        ("echo \\'${x}", false),
    ];
    for (script, warns) in table {
        let found = codes(&with_script(script)).contains(&lint);
        assert_eq!(found, *warns, "script {script:?}");
    }
}

/// A runbook with a param `dr_health`, a secret `hook`, a step `probe` capturing `addr`, and a
/// step `b` (needing `probe`) whose body is `body`.
fn with_body(body: &str) -> String {
    format!(
        "import \"std/http\"\nimport \"std/notify\"\nrunbook \"t\" {{\n  owner \"o\"\n  rto 1h\n  param dr_health = \"https://x/h\"\n  secret hook = env(\"HOOK\")\n  step probe {{\n    duration 1m\n    run \"echo a\"\n    capture addr from stdout\n    idempotent\n  }}\n  step b {{\n    needs probe\n    duration 1m\n    idempotent\n    {body}\n  }}\n}}\n"
    )
}

#[test]
fn a_bare_word_where_a_string_is_expected_is_an_error() {
    let bare = "drbook::check::bare_word";
    let table: &[(&str, Option<&str>)] = &[
        ("use http.healthy(url = dr_health)", Some("write \"${dr_health}\"")),
        ("use notify.slack(webhook = hook, text = \"hi\")", Some("write \"${hook}\"")),
        ("use http.healthy(url = addr)", Some("write \"${steps.probe.addr}\"")),
        ("use http.healthy(url = localhost)", Some("write \"localhost\"")),
        ("run dr_health", Some("write \"${dr_health}\"")),
        ("workdir tmp\n    run \"true\"", Some("write \"tmp\"")),
        ("env { A = hook }\n    run \"true\"", Some("write \"${hook}\"")),
        ("owner ops\n    run \"true\"", Some("write \"ops\"")),
        ("notify hook \"hi\"", Some("write \"${hook}\"")),
        ("http GET dr_health", Some("write \"${dr_health}\"")),
        // Where a name is meant, names stay valid.
        ("use http.healthy(url = \"${dr_health}\", every = 5s)", None),
        ("on_failure rollback\n    run \"true\"\n    rollback run \"true\"", None),
        ("retry 2 every 1s backoff exponential\n    http GET \"${dr_health}\"", None),
    ];
    for (body, help) in table {
        let ds = diags(&with_body(body));
        let found: Vec<&Diagnostic> = ds.iter().filter(|d| d.code == bare).collect();
        match help {
            Some(h) => {
                assert_eq!(found.len(), 1, "{body}: {:?}", ds);
                assert!(found[0].is_error(), "{body}");
                let got = found[0].help.as_deref().unwrap_or_default();
                assert!(got.contains(h), "{body}: help {got:?} lacks {h:?}");
            }
            None => assert!(ds.iter().all(|d| !d.is_error()), "{body}: {ds:?}"),
        }
    }
}

#[test]
fn a_bare_template_argument_in_a_check_is_an_error_but_a_bare_parameter_is_not() {
    let module = "template t(target) {\n  run \"echo x\"\n  capture answer from stdout\n  check answer == target\n  idempotent\n}\n";
    let ds = diags(module);
    assert!(ds.iter().all(|d| !d.is_error()), "{ds:?}");
}

#[test]
fn tier_and_policies_stay_bare_names() {
    let src = "runbook \"t\" {\n  owner \"o\"\n  rto 1h\n  tier critical\n  on_failure continue\n  step a { duration 1m; run \"true\"; idempotent }\n}\n";
    assert!(diags(src).iter().all(|d| !d.is_error()));
}

#[test]
fn header_env_and_workdir_take_params_but_not_captures() {
    let ok = "runbook \"t\" {\n  owner \"o\"\n  rto 1h\n  param dir = \"x\"\n  env { A = \"${dir}\" }\n  workdir \"${dir}\"\n  shell \"bash\"\n  step a { duration 1m; run \"true\"; capture c from stdout; idempotent }\n}\n";
    assert!(diags(ok).iter().all(|d| !d.is_error()), "{:?}", diags(ok));
    let bad = ok.replace("workdir \"${dir}\"", "workdir \"${steps.a.c}\"");
    assert_eq!(codes(&bad), ["drbook::check::header_capture"]);
    let twice = ok.replace("shell \"bash\"", "env { B = \"1\" }");
    assert_eq!(codes(&twice), ["drbook::check::duplicate_attribute"]);
    let opts = ok.replace("shell \"bash\"", "shell \"bash -e\"");
    assert_eq!(codes(&opts), ["drbook::check::bad_value"]);
}

#[test]
fn finally_step_rules() {
    let book = |steps: &str| {
        format!("runbook \"t\" {{\n  owner \"o\"\n  rto 1h\n  step a {{ duration 1m; run \"echo 1\"; capture c from stdout; idempotent }}\n{steps}\n}}\n")
    };
    let table: &[(&str, &[&str])] = &[
        ("  finally step f { run \"echo ${run.status} ${run.elapsed} ${run.rto_met} ${run.rpo} ${steps.a.c}\"; idempotent }", &[]),
        ("  finally step f { run \"true\"; idempotent }\n  finally step g { needs f; run \"true\"; idempotent }", &[]),
        ("  finally step f { needs a; run \"true\"; idempotent }", &["drbook::check::finally_needs_forward"]),
        ("  finally step f { run \"true\"; idempotent }\n  step b { needs f; run \"true\"; idempotent }", &["drbook::check::needs_finally"]),
        ("  finally step f { run \"true\"; rollback run \"true\" }", &["drbook::check::finally_rollback"]),
        ("  step b { needs a; run \"echo ${run.status}\"; idempotent }", &["drbook::check::finally_only"]),
        ("  step b { needs a; when run.rto_met == \"true\"; run \"true\"; idempotent }", &["drbook::check::finally_only"]),
        ("  finally step f { when run.status != \"succeeded\"; run \"true\"; idempotent }", &[]),
    ];
    for (steps, want) in table {
        let ds = diags(&book(steps));
        let errors: Vec<&str> = ds.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
        assert_eq!(errors, *want, "{steps}: {ds:?}");
    }
}

#[test]
fn bidi_controls_are_flagged_where_they_are() {
    let src = "runbook \"t\" {\n  owner \"o\"; rto 1h\n  # note \u{2067}x\n  step a { duration 1m; idempotent; run \"echo \u{202E}kcatta\" }\n}\n";
    let found: Vec<Diagnostic> =
        diags(src).into_iter().filter(|d| d.code == "drbook::lint::bidi_control").collect();
    let at: Vec<usize> = found.iter().map(|d| d.span.start as usize).collect();
    assert_eq!(at, vec![src.find('\u{2067}').unwrap_or(0), src.find('\u{202E}').unwrap_or(0)]);
    assert!(found[1].message.contains("U+202E"), "{}", found[1].message);
    assert!(codes("runbook \"t\" {\n  owner \"o\"; rto 1h\n  step a { duration 1m; idempotent; run \"echo ok\" }\n}\n")
        .iter()
        .all(|c| *c != "drbook::lint::bidi_control"));
}

#[test]
fn reparsed_interpolation_where_a_shell_parses_the_value_again() {
    let lint = "drbook::lint::reparsed_interpolation";
    let table: &[(&str, bool)] = &[
        ("cat <<EOF\nvalue: ${x}\nEOF", true),
        ("cat <<-EOF > f\n\tvalue: ${x}\n\tEOF\necho ok", true),
        ("cat <<'EOF'\nvalue: ${x}\nEOF", false),
        ("cat <<\"EOF\"\nvalue: ${x}\nEOF", false),
        ("cat <<EOF\nstatic\nEOF\necho ${x}", false),
        ("cat <<< ${x}", false),
        ("eval echo ${x}", true),
        ("eval \"echo $V\"", false),
        ("ssh db1 systemctl restart ${x}", true),
        ("ssh -p 2222 -o BatchMode=yes db1 restart ${x}", true),
        ("ssh ${x} uptime", false),
        ("printf '%s' \"$V\" | ssh db1 'read -r v; echo \"$v\"'", false),
        ("sh -c ${x}", true),
        ("bash -ec \"echo $(date) ${x}\"", true),
        ("sh -c 'echo \"$1\"' _ ${x}", false),
        ("sudo -u pg bash -c ${x}", true),
        ("su postgres -c ${x}", true),
        ("echo ${x} | xargs sh -c ${x}", true),
        ("timeout 5 ssh h cmd ${x}", true),
        ("V=1 eval ${x}", true),
        ("echo ${x}; sh -c 'echo hi'", false),
        ("echo ${x} # eval ${x}", false),
        ("echo $(eval ${x})", true),
    ];
    for (script, expect) in table {
        let got = codes(&with_script(script)).contains(&lint);
        assert_eq!(got, *expect, "{script:?}");
    }
    let d = diags(&with_script("ssh db1 restart ${x}"));
    let d = d.iter().find(|d| d.code == lint).expect("a warning");
    assert!(d.message.contains("`${x}`") && d.message.contains("ssh"), "{}", d.message);
}

/// A runbook of `n` steps with findings spread over all of them: unknown steps in `needs`,
/// wrong values, quoted interpolation, unknown names, a capture used by a step that does not
/// depend on it, and a param used only by one late step.
fn many_steps_with_findings(n: usize) -> String {
    let mut src = String::from(
        "runbook \"big\" {\n  owner \"o\"\n  rto 1h\n  param region = \"us-east-1\"\n  param late = \"x\"\n  param unused = \"u\"\n",
    );
    for i in 0..n {
        src.push_str(&format!("  step s{i} {{\n    duration 1m\n"));
        if i > 0 && i % 10 != 0 {
            src.push_str(&format!("    needs s{}\n", i - 1));
        }
        if i % 97 == 0 {
            src.push_str(&format!("    needs ghost{i}\n"));
        }
        if i % 89 == 0 {
            src.push_str("    timeout banana\n");
        }
        let run = match i {
            _ if i % 100 == 1 => "run \"date\"\n    capture out from stdout".to_string(),
            _ if i % 100 == 50 => format!("run \"echo ${{steps.s{}.out}}\"", i - 49),
            _ if i == n - 3 => "run \"echo ${late}\"".to_string(),
            _ if i % 71 == 0 => "run \"echo '${region}'\"".to_string(),
            _ if i % 83 == 0 => "run \"echo ${nosuch}\"".to_string(),
            _ => "run \"echo ${region}\"".to_string(),
        };
        src.push_str(&format!("    {run}\n    rollback run \"true\"\n  }}\n"));
    }
    src.push_str("}\n");
    src
}

#[test]
fn steps_checked_in_two_halves_give_what_one_thread_gives() {
    let src = many_steps_with_findings(1200);
    let opts = Options {
        today: Date { year: 2026, month: 11, day: 23 },
        params: Vec::new(),
        require_params: true,
        strict: false,
    };
    let run = |parallel_from: usize| {
        let mut cx = super::Cx::new();
        cx.parallel_from = parallel_from;
        let mut loaded = load_text("t.drbook", None, src.as_str().into());
        super::check_in(cx, &mut loaded, &opts)
    };
    let (one, two) = (run(usize::MAX), run(2));
    let shown = |c: &Checked| format!("{:#?}", c.diags);
    assert_eq!(shown(&one), shown(&two));
    let codes: std::collections::BTreeSet<&str> = one.diags.iter().map(|d| d.code).collect();
    for code in [
        "drbook::check::unknown_step",
        "drbook::check::bad_value",
        "drbook::check::capture_not_ancestor",
        "drbook::lint::quoted_interpolation",
        "drbook::lint::unused_param",
    ] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    // `late` is used only in the second half: the joined findings know it.
    assert!(!one.diags.iter().any(|d| d.message.contains("`late`")), "{:#?}", one.diags);
    // Errors leave no model; without them the two models are the same too.
    let clean = src.replace("timeout banana", "timeout 2m").replace("ghost", "s");
    let clean = clean.replace("${nosuch}", "${region}");
    let model = |parallel_from: usize| {
        let mut cx = super::Cx::new();
        cx.parallel_from = parallel_from;
        let mut loaded = load_text("t.drbook", None, clean.as_str().into());
        let c = super::check_in(cx, &mut loaded, &opts);
        format!("{:#?}", (c.runbook, c.dag, c.diags))
    };
    let (a, b) = (model(usize::MAX), model(2));
    assert!(a.contains("s1199"), "no model: {}", &a[..a.len().min(2000)]);
    assert_eq!(a, b);
}
