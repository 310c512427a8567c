//! Who approves (issue 11 §1): names compared as people read them, so one person cannot pose
//! as two with look-alike spellings, and names that hide characters are refused.

use crate::runkit::{count_events, drb, journal, runbook};
use crate::{Output, Test};

/// `drbook approve ID STEP --as WHO [more...]`.
fn approve(t: &Test, id: &str, step: &str, who: &str, more: &[&str]) -> Output {
    let mut args = vec!["approve", id, step, "--as", who];
    args.extend(more);
    drb(t, &args)
}

/// A run `o` paused at `g`, gated by roles `a` and `b` without a `roles` block.
fn open_gate() -> Test {
    let rb = runbook(
        "open",
        r#"  step g { duration 1s; approval { by a, b }; run "echo ran >> side"; idempotent }"#,
    );
    // DRBOOK_USER hides a zero-width space: it is used only where no `--as` is given.
    let t = Test::new().file("o.drbook", &rb).env("DRBOOK_USER", "ali\u{200B}ce");
    drb(&t, &["run", "o.drbook", "--run-id", "o", "--as", "alice"]).expect_status(3);
    t
}

#[test]
fn look_alike_names_do_not_make_a_second_person() {
    let t = open_gate();
    approve(&t, "o", "g", "alice", &[]).expect_status(0);
    let before = journal(&t, "o").len();
    for twin in ["\u{0430}lice", "\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}", "AL\u{0406}CE"] {
        let out = approve(&t, "o", "g", twin, &[]);
        out.expect_status(1).expect_stderr("already approved this step");
        out.expect_stderr("nothing was recorded");
    }
    assert_eq!(journal(&t, "o").len(), before, "refusals write nothing");
    assert!(!t.path("side").exists(), "one person cannot open a two-person gate");
    approve(&t, "o", "g", "bob", &[]).expect_status(0);
}

#[test]
fn a_decomposed_name_is_the_same_person_as_the_composed_one() {
    let t = open_gate();
    approve(&t, "o", "g", "Jos\u{00E9}", &[]).expect_status(0);
    approve(&t, "o", "g", "Jose\u{0301}", &[]).expect_status(1).expect_stderr("already approved");
    assert_eq!(count_events(&journal(&t, "o"), "approved", "g"), 1);
}

#[test]
fn names_with_hidden_characters_are_refused_everywhere() {
    let t = open_gate();
    let before = journal(&t, "o").len();
    for bad in ["ali\u{200B}ce", "\u{202E}ecila", "ali\u{2066}ce", "al\u{7}ice"] {
        // `--as`: bad input, refused before anything is asked.
        approve(&t, "o", "g", bad, &[]).expect_status(2).expect_stderr("invisible character");
    }
    // The name from the environment goes through the inbox and its judge.
    let out = drb(&t, &["approve", "o", "g"]);
    out.expect_status(1).expect_stderr("invisible character");
    out.expect_stderr("nothing was recorded");
    assert_eq!(journal(&t, "o").len(), before, "refusals write nothing");
}

/// Run `i`, gated by `a` and `b`, started by alice with `--approve g`, under `header`.
fn started_by_alice(header: &str) -> Test {
    let rb = format!(
        "runbook \"init\" {{\n  owner \"ops\"\n  rto 1h\n{header}\n  step g {{ duration 1s; approval {{ by a, b }}; run \"echo ran >> side\"; idempotent }}\n}}\n"
    );
    let t = Test::new().file("i.drbook", &rb);
    let out = drb(&t, &["run", "i.drbook", "--run-id", "i", "--as", "alice", "--approve", "g"]);
    out.expect_status(3);
    t
}

#[test]
fn the_initiator_fills_at_most_one_role_of_a_gate() {
    let t = started_by_alice("");
    assert_eq!(count_events(&journal(&t, "i"), "approved", "g"), 1, "--approve counts once");
    let out = approve(&t, "i", "g", "Alice", &["--role", "b"]);
    out.expect_status(1).expect_stderr("already approved this step (as a)");
    approve(&t, "i", "g", "bob", &[]).expect_status(0);
    assert_eq!(count_events(&journal(&t, "i"), "approved", "g"), 2);
}

#[test]
fn initiator_may_approve_false_excludes_the_initiator_entirely() {
    let t = started_by_alice("  initiator_may_approve false");
    assert_eq!(count_events(&journal(&t, "i"), "approved", "g"), 0, "--approve by the initiator");
    let before = journal(&t, "i").len();
    for who in ["alice", "\u{0430}lice", "ALICE"] {
        let out = approve(&t, "i", "g", who, &[]);
        out.expect_status(1).expect_stderr("started this run and may not approve it");
        out.expect_stderr("nothing was recorded");
    }
    assert_eq!(journal(&t, "i").len(), before, "refusals write nothing");
    approve(&t, "i", "g", "bob", &[]).expect_status(0);
    approve(&t, "i", "g", "carol", &[]).expect_status(0);
    assert_eq!(count_events(&journal(&t, "i"), "approved", "g"), 2);
}

#[test]
fn initiator_may_approve_takes_a_bool() {
    let rb = runbook("x", "  step s { duration 1s; run \"true\" }").replacen(
        "{\n",
        "{\n  initiator_may_approve \"no\"\n",
        1,
    );
    let t = Test::new().file("x.drbook", &rb);
    t.cmd(&["check", "x.drbook"]).expect_status(2).expect_stderr("initiator_may_approve");
}
