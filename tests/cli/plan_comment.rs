//! `drbook plan --format markdown` as a pull-request comment: the size budget on a generated
//! 1,000-step runbook, `--max-chars`, and goldens of the example runbooks.

use crate::plan::plan_params;
use crate::{golden, report, stem, Test, TODAY};

/// A layered 1,000-step runbook like `benches/gen.py` writes: 32 layers of 32 steps, each
/// needing up to three steps of the layer before, each with a two-line script and a rollback.
fn generated(n: usize) -> String {
    let width = 32;
    let mut s = String::from(
        "runbook \"synthetic\" {\n  title \"Synthetic\"\n  owner \"ops\"\n  rto 30h\n  param region = \"us-west-2\"\n",
    );
    for i in 0..n {
        let (layer, k) = (i / width, i % width);
        s.push_str(&format!("  step s_{layer}_{k} \"Layer {layer} step {k}\" {{\n"));
        if layer > 0 {
            let mut needs: Vec<usize> = (0..3).map(|j| (k + j * 7) % width).collect();
            needs.sort_unstable();
            needs.dedup();
            let needs: Vec<String> = needs.iter().map(|j| format!("s_{}_{j}", layer - 1)).collect();
            s.push_str(&format!("    needs {}\n", needs.join(", ")));
        }
        s.push_str(&format!(
            "    duration {}m\n    idempotent\n    run \"\"\"\n      deploy --region ${{region}} --unit {i}\n      kubectl rollout status deploy/svc-{i}\n    \"\"\"\n    rollback run \"undeploy --unit {i}\"\n  }}\n",
            1 + i % 10
        ));
    }
    s.push_str("}\n");
    s
}

#[test]
fn a_generated_thousand_step_plan_stays_within_the_comment_budget() {
    let t = Test::new().file("big.drbook", &generated(1000));
    for (extra, max) in [(None, 65_536), (Some("4000"), 4_000)] {
        let mut args = vec!["plan", "big.drbook", "--format", "markdown"];
        if let Some(n) = extra {
            args.extend(["--max-chars", n]);
        }
        let out = t.cmd(&args);
        out.expect_status(0);
        let n = out.stdout.chars().count();
        assert!(n <= max, "{n} characters over {max}");
        assert!(out.stdout.starts_with("✅ **synthetic**: estimated RTO"), "{}", out.stdout);
        assert!(out.stdout.contains("> ✂️ **Shortened to fit"), "{}", out.stdout);
        assert!(out.stdout.contains("`drbook plan big.drbook --format text`"), "{}", out.stdout);
    }
}

#[test]
fn max_chars_below_a_thousand_is_bad_input() {
    let t = Test::new().file("big.drbook", &generated(3));
    let out = t.cmd(&["plan", "big.drbook", "--format", "markdown", "--max-chars", "10"]);
    out.expect_status(2);
}

#[test]
fn example_runbooks_render_as_comments_matching_golden_files() {
    let mut failures = Vec::new();
    for path in crate::drbook_files("runbooks") {
        let params = plan_params(&path);
        let params: Vec<&str> = params.iter().map(String::as_str).collect();
        let out = Test::new()
            .in_crate_root()
            .args(&["plan", &path, "--today", TODAY, "--format", "markdown"])
            .args(&params)
            .run();
        out.expect_no_crash();
        if out.status != 0 {
            failures.push(format!("{path}: exit {}\n{}", out.status, out.stderr));
            continue;
        }
        if let Err(e) =
            golden(&format!("tests/golden/plan/runbooks/{}.md", stem(&path)), &out.stdout)
        {
            failures.push(e);
        }
    }
    report(failures);
}
