//! Steps left running by a SIGKILLed runner: `resume` stops their whole process group before
//! anything else happens. Whether the group's leader is still there, already reaped, or a
//! zombie nobody reaped is up to the process that adopted it; these tests adopt it themselves
//! (as a child subreaper) to make each case happen on purpose.
//!
//! A subreaper adopts every orphan of the process, so each scenario runs alone in a fresh
//! process of this test binary (`scenario`, selected by an environment variable).

use crate::runkit::{drb, drb_spawn, journal, runbook, wait_for_file};
use crate::Test;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

const MODE: &str = "DRBOOK_TEST_LEFTOVER_SCENARIO";

/// The step backgrounds a subshell that outlives the step's shell (the group leader).
fn killed_run() -> (Test, i32) {
    let rb = runbook(
        "leftover",
        r#"  step act { duration 1s; run "(sleep 3.14159; echo late >> log) & touch started; sleep 0.3" }"#,
    );
    let t = Test::new().file("l.drbook", &rb);
    let live = drb_spawn(&t, &["run", "l.drbook", "--run-id", "l"]);
    wait_for_file(&t.path("started"), Duration::from_secs(30));
    live.signal(nix::sys::signal::Signal::SIGKILL);
    assert_eq!(live.wait().status, -9);
    let records = journal(&t, "l");
    let p = records.iter().find(|r| r["event"] == "step_process").expect("step_process");
    let leader = i32::try_from(p["pid"].as_u64().expect("pid")).expect("pid fits");
    assert_eq!(p["pgid"].as_u64(), p["pid"].as_u64(), "the leader's pid is the group id");
    (t, leader)
}

/// Live (non-zombie) processes of process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return false };
            let mut f = after.split_whitespace();
            let state = f.next().unwrap_or("Z");
            state != "Z" && f.nth(1).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
        })
        .collect()
}

/// Reaps every adopted child that has ended; returns how many.
fn reap_all() -> usize {
    let mut n = 0;
    while let Ok(s) = waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
        if s == WaitStatus::StillAlive {
            break;
        }
        n += 1;
    }
    n
}

fn scenario(mode: &str) {
    nix::sys::prctl::set_child_subreaper(true).expect("become a child subreaper");
    let (t, leader) = killed_run();
    // The leader (adopted by us) ends after its `sleep 0.3`; its background subshell lives on.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive = std::fs::read_to_string(format!("/proc/{leader}/stat"))
            .map(|s| !s[s.rfind(')').unwrap_or(0) + 1..].trim_start().starts_with('Z'))
            .unwrap_or(false);
        if !alive {
            break;
        }
        assert!(Instant::now() < deadline, "the step's shell did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    if mode == "reaped" {
        let s = waitpid(Pid::from_raw(leader), None).expect("reap the leader");
        assert!(matches!(s, WaitStatus::Exited(..)), "{s:?}");
    }
    assert!(!group_members(leader).is_empty(), "the background subshell outlives its leader");

    // Longer than drbook's 5 s grace between SIGTERM and SIGKILL: slow is not stuck.
    let limit = Duration::from_secs(8);
    let resume = drb_spawn(&t, &["resume", "l", "--interrupted", "act=fail"]);
    let start = Instant::now();
    let mut resume = Some(resume);
    while start.elapsed() < limit {
        if resume.as_mut().is_some_and(crate::Live::exited) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    let left = group_members(leader);
    // Clean up whatever happens: the group, the zombie (which lets a stuck resume go on).
    let _ = nix::sys::signal::killpg(Pid::from_raw(leader), nix::sys::signal::Signal::SIGKILL);
    std::thread::sleep(Duration::from_millis(100));
    reap_all();
    let out = resume.take().expect("resume").wait();
    reap_all();
    assert!(took < limit, "resume hung {took:?} on the dead step's zombie leader");
    out.expect_status(1);
    assert!(left.is_empty(), "resume left processes {left:?} of the dead runner's step running");
    assert!(!t.path("log").exists(), "the stopped step acted after all");
    drb(&t, &["status", "l"]).expect_status(0);
}

/// Runs `scenario(mode)` alone in a fresh process of this test binary.
fn in_own_process(mode: &str) {
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args(["run_leftover::scenario_process", "--exact", "--ignored", "--nocapture"])
        .env(MODE, mode)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the scenario process");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("1 passed"), "scenario `{mode}` failed:\n{text}");
}

#[test]
#[ignore = "only a helper process of the tests below runs this"]
fn scenario_process() {
    if let Ok(mode) = std::env::var(MODE) {
        scenario(&mode);
    }
}

#[test]
fn resume_stops_the_group_of_a_dead_step_whose_leader_is_gone() {
    in_own_process("reaped");
}

#[test]
fn resume_does_not_wait_for_a_zombie_leader() {
    in_own_process("zombie");
}
