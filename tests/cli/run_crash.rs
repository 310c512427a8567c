//! Crash torture: SIGKILL the runner at random instants, again and again, and resume each time
//! the way an operator would. Finished work is never repeated; non-idempotent steps act
//! exactly once; the journal always replays.

use crate::runkit::{count, drb, drb_spawn, run_ids, runbook, step_states, wait_no_procs, Rng};
use crate::Test;
use std::time::{Duration, Instant};

const LAYERS: usize = 8;
const WIDTH: usize = 5;
/// Kills per torture; after that the runner is left to finish.
const MAX_KILLS: usize = 60;

/// A step of the generated DAG.
struct Step {
    id: String,
    needs: Vec<String>,
    idempotent: bool,
}

/// 8 layers of 5 steps; each step after the first layer needs 1 or 2 steps of the layer
/// before (chosen by `rng`); every third step is idempotent.
fn dag(rng: &mut Rng) -> Vec<Step> {
    let mut steps = Vec::new();
    for l in 0..LAYERS {
        for k in 0..WIDTH {
            let mut needs = Vec::new();
            if l > 0 {
                let first = rng.range(0, WIDTH as u64 - 1) as usize;
                needs.push(format!("s_{}_{first}", l - 1));
                if rng.range(0, 1) == 1 {
                    let second = (first + 1 + rng.range(0, WIDTH as u64 - 2) as usize) % WIDTH;
                    needs.push(format!("s_{}_{second}", l - 1));
                }
            }
            steps.push(Step {
                id: format!("s_{l}_{k}"),
                needs,
                idempotent: (l * WIDTH + k).is_multiple_of(3),
            });
        }
    }
    steps
}

fn text(steps: &[Step]) -> String {
    let mut body = String::from("  parallel 4\n  param out: string\n");
    for s in steps {
        body.push_str(&format!("  step {} {{\n    duration 1s\n", s.id));
        if !s.needs.is_empty() {
            body.push_str(&format!("    needs {}\n", s.needs.join(", ")));
        }
        // The echo is the step's one effect; the sleep keeps several steps in flight.
        body.push_str(&format!("    run \"echo {} >> ${{out}}; sleep 0.05\"\n", s.id));
        body.push_str(if s.idempotent { "    idempotent\n  }\n" } else { "  }\n" });
    }
    runbook("torture", &body)
}

fn torture(seed: u64) {
    let mut rng = Rng::new(seed);
    let steps = dag(&mut rng);
    assert!(steps.len() >= 40);
    let t = Test::new().file("torture.drbook", &text(&steps));
    let file = t.path("torture.drbook").display().to_string();
    let out = t.path("effects.log");
    let out_param = format!("out={}", out.display());
    // Every process of this test (runner, its steps) names the temporary directory.
    let marker = t.path("").display().to_string();
    let started = Instant::now();

    let mut id: Option<String> = None;
    let mut kills = 0;
    let mut decided = 0;
    let mut rounds = 0;
    let mut flags: Vec<String> = Vec::new();
    loop {
        rounds += 1;
        assert!(rounds <= MAX_KILLS + 10, "seed {seed}: no success after {rounds} rounds");
        let mut args: Vec<&str> = match &id {
            None => vec!["run", &file, "--param", &out_param],
            Some(id) => vec!["resume", id],
        };
        args.extend(flags.iter().map(String::as_str));
        let mut live = drb_spawn(&t, &args);
        if kills < MAX_KILLS {
            let deadline = Instant::now() + Duration::from_millis(rng.range(30, 400));
            while Instant::now() < deadline && !live.exited() {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !live.exited() {
                live.signal(nix::sys::signal::Signal::SIGKILL);
                kills += 1;
            }
        }
        let res = live.wait();
        if res.status == 0 {
            break;
        }
        assert_eq!(
            res.status, -9,
            "seed {seed}: `{}` ended on its own with {} (only SIGKILL may stop it)\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "), res.status, res.stdout, res.stderr
        );
        // The operator looks only once every step process of the dead runner has ended:
        // steps run in their own process groups and outlive a SIGKILLed runner.
        std::thread::sleep(Duration::from_millis(100));
        wait_no_procs(&marker, Duration::from_secs(20));
        if id.is_none() {
            // Killed before the run was durably created: start over, as an operator would.
            id = run_ids(&t).into_iter().next();
        }
        flags.clear();
        let Some(id) = &id else { continue };
        for (step, (state, _)) in step_states(&t, id) {
            let s = steps.iter().find(|s| s.id == step).expect("a step of the runbook");
            if s.idempotent || !matches!(state.as_str(), "running" | "interrupted") {
                continue;
            }
            // Did it act? Its id in the effects file says so.
            let decision = if count(&out, &step) > 0 { "done" } else { "retry" };
            flags.push("--interrupted".into());
            flags.push(format!("{step}={decision}"));
            decided += 1;
        }
    }
    let id = id.expect("the run was created");

    // Non-idempotent steps acted exactly once: the operator's done/retry decisions saw to it.
    // Idempotent ones acted at least once: one that was running when the runner died is
    // re-run automatically on resume (no decision asked), and the killed attempt may already
    // have appended its id, so it can appear twice or more. That is what `idempotent` allows.
    for s in &steps {
        let n = count(&out, &s.id);
        if s.idempotent {
            assert!(n >= 1, "seed {seed}: idempotent step {} never ran", s.id);
        } else {
            assert_eq!(n, 1, "seed {seed}: step {} acted {n} times (kills {kills})", s.id);
        }
    }
    let lines = crate::runkit::lines(&out);
    assert!(lines.iter().all(|l| steps.iter().any(|s| s.id == *l)), "only step ids: {lines:?}");
    // Every step succeeded, and the journal replays cleanly after all that.
    let states = step_states(&t, &id);
    assert_eq!(states.len(), steps.len());
    for (step, (state, _)) in &states {
        assert_eq!(state, "succeeded", "seed {seed}: step {step}");
    }
    assert_eq!(crate::runkit::status_json(&t, &id)["status"], "succeeded");
    drb(&t, &["status", &id]).expect_status(0);
    let again = drb(&t, &["resume", &id]);
    assert!(again.expect_status(0).stdout.contains("already succeeded"), "{}", again.stdout);
    eprintln!(
        "torture seed {seed}: {kills} kills, {decided} operator decisions, {rounds} rounds, {:?}",
        started.elapsed()
    );
    assert!(kills >= 2, "seed {seed}: only {kills} kills; the torture tortured nothing");
}

#[test]
fn crash_torture_seed_1_every_non_idempotent_step_acts_exactly_once() {
    torture(0x5EED_0001);
}

#[test]
fn crash_torture_seed_2_every_non_idempotent_step_acts_exactly_once() {
    torture(0xC0FF_EE42);
}
