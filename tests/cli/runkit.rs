//! Shared helpers for the `run` / `resume` / `status` tests: a state dir inside the test's
//! temporary directory, status and journal readers, process scans, a seeded RNG.

use crate::{Output, Test};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every test keeps its runs here (relative to its temporary directory).
pub const STATE: &str = "state";

/// A runbook named `name` with an owner and a generous `rto`, around `body` (steps etc.).
pub fn runbook(name: &str, body: &str) -> String {
    format!("runbook \"{name}\" {{\n  owner \"ops\"\n  rto 1h\n{body}\n}}\n")
}

/// The state dir of `t`, absolute.
pub fn state(t: &Test) -> String {
    t.path(STATE).display().to_string()
}

/// `drbook ARGS --state-dir <tmp>/state`.
pub fn drb(t: &Test, args: &[&str]) -> Output {
    let st = state(t);
    let mut all = args.to_vec();
    all.extend(["--state-dir", st.as_str()]);
    let out = t.cmd(&all);
    out.expect_no_crash();
    out
}

/// Starts `drbook ARGS --state-dir <tmp>/state` without waiting.
pub fn drb_spawn(t: &Test, args: &[&str]) -> crate::Live {
    let st = state(t);
    let mut all = args.to_vec();
    all.extend(["--state-dir", st.as_str()]);
    t.spawn(&all)
}

/// The `steps[]` entry of `step` in `status ID --format json`.
#[track_caller]
pub fn step_json(t: &Test, id: &str, step: &str) -> Value {
    let v = status_json(t, id);
    v["steps"]
        .as_array()
        .expect("`steps` is an array")
        .iter()
        .find(|s| s["id"] == step)
        .unwrap_or_else(|| panic!("no step `{step}` in {v}"))
        .clone()
}

/// `drbook status ID --format json`, parsed (exit 0 required).
#[track_caller]
pub fn status_json(t: &Test, id: &str) -> Value {
    let out = drb(t, &["status", id, "--format", "json"]);
    out.expect_status(0);
    crate::json(&out)
}

/// Each step's `(state, attempts)` from `status ID --format json`.
#[track_caller]
pub fn step_states(t: &Test, id: &str) -> BTreeMap<String, (String, u64)> {
    let v = status_json(t, id);
    v["steps"]
        .as_array()
        .expect("`steps` is an array")
        .iter()
        .map(|s| {
            let id = s["id"].as_str().expect("step id").to_string();
            let state = s["state"].as_str().expect("step state").to_string();
            (id, (state, s["attempts"].as_u64().expect("attempts")))
        })
        .collect()
}

/// The state of one step.
#[track_caller]
pub fn step_state(t: &Test, id: &str, step: &str) -> String {
    step_states(t, id).remove(step).unwrap_or_else(|| panic!("no step `{step}` in run {id}")).0
}

/// The ids of the runs in the state dir (`status --format json`).
#[track_caller]
pub fn run_ids(t: &Test) -> Vec<String> {
    let out = drb(t, &["status", "--format", "json"]);
    out.expect_status(0);
    crate::json(&out)["runs"]
        .as_array()
        .expect("`runs` is an array")
        .iter()
        .map(|r| r["run_id"].as_str().expect("run_id").to_string())
        .collect()
}

/// The path of run `id`'s journal.
pub fn journal_path(t: &Test, id: &str) -> std::path::PathBuf {
    t.path(STATE).join("runs").join(id).join("journal")
}

/// The journal's records (`<sha256> <n> <json>` lines, or an older drbook's `<crc32> <json>`),
/// parsed. Panics on a line that is not one.
#[track_caller]
pub fn journal(t: &Test, id: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(journal_path(t, id)).expect("read the journal");
    text.lines()
        .map(|l| serde_json::from_str(record_json(l)).expect("a journal record holds JSON"))
        .collect()
}

/// Writes `bytes` as run `id`'s journal, with the anchor a runner killed at that instant
/// leaves: `open`, at the last whole record (it never leads the journal). A crash can cut a
/// journal only after what its anchor covers; this puts the anchor back to where it was then.
pub fn write_crashed(t: &Test, id: &str, bytes: &[u8]) {
    std::fs::write(journal_path(t, id), bytes).expect("write the journal");
    let whole = bytes.iter().filter(|&&b| b == b'\n').count();
    let last = bytes[..bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i)]
        .split(|&b| b == b'\n')
        .next_back()
        .filter(|_| whole > 0);
    let hash =
        last.map_or("0".repeat(64), |l| String::from_utf8_lossy(&l[..64.min(l.len())]).into());
    let anchor = format!("drbook-head 1 {whole:020} sha256:{hash} open  \n");
    let path = journal_path(t, id).with_file_name("head");
    std::fs::write(path, anchor).expect("write the anchor");
}

/// The JSON of a journal line, chained or not.
pub fn record_json(line: &str) -> &str {
    &line[line.find('{').expect("a journal record holds JSON")..]
}

/// How many records of `event` name `step`.
pub fn count_events(records: &[Value], event: &str, step: &str) -> usize {
    records.iter().filter(|r| r["event"] == event && r["step"] == step).count()
}

/// The lines of a file (none when it does not exist).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// How many lines of `path` are exactly `word`.
pub fn count(path: &Path, word: &str) -> usize {
    lines(path).iter().filter(|l| *l == word).count()
}

/// Polls until `path` exists; panics after `limit`.
#[track_caller]
pub fn wait_for_file(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} did not appear within {limit:?}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Live (non-zombie) processes other than this one whose command line contains `marker`.
pub fn procs_with(marker: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&pid| pid != me)
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().starts_with('Z')))
                .unwrap_or(true);
            cmdline.contains(marker) && !zombie
        })
        .collect()
}

/// Polls until no process matches `marker`; panics after `limit`.
#[track_caller]
pub fn wait_no_procs(marker: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let left = procs_with(marker);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "processes {left:?} matching {marker:?} outlived {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A small seeded PRNG (splitmix64): the same seed gives the same kill schedule.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Starts `run`, waits until `marker` exists (the step got going), SIGKILLs the runner and
/// returns the run id. The run must be named with `--run-id` in `args`.
pub fn kill_when(t: &Test, args: &[&str], marker: &str) -> Output {
    let live = drb_spawn(t, args);
    wait_for_file(&t.path(marker), Duration::from_secs(30));
    live.signal(nix::sys::signal::Signal::SIGKILL);
    let out = live.wait();
    assert_eq!(out.status, -9, "the runner should die of SIGKILL\n{}", out.stderr);
    out
}

/// Starts `drbook ARGS --state-dir <tmp>/state` like [`drb_spawn`], with `key=value` added to
/// the environment of this one command only (a test-only fault switch for the `run` of a
/// scenario, and not for the `resume` after it).
pub fn drb_spawn_env(t: &Test, (key, value): (&str, &str), args: &[&str]) -> crate::Live {
    let st = state(t);
    let mut all = args.to_vec();
    all.extend(["--state-dir", st.as_str()]);
    // A builder that runs where `t` runs, as `t` does, plus the one variable.
    let mut one = Test::new();
    one.cwd = Some(t.cwd.clone().unwrap_or_else(|| t.path("")));
    one.envs.clone_from(&t.envs);
    one.envs.push((key.to_string(), value.to_string()));
    one.removed_envs.clone_from(&t.removed_envs);
    one.color_flag = t.color_flag;
    one.spawn(&all)
}
