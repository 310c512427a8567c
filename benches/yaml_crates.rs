//! The YAML crate measurement for BENCHMARKS.md ("YAML crate"): `serde-saphyr` (the crate
//! drbook uses for the DR plan document) against `serde_norway` (the maintained fork of the
//! deprecated `serde_yaml`, on libyaml translated from C; it stands for `serde_yaml`, whose code
//! it continues), side by side in one run. `benches/yaml.sh` builds it in release and runs it:
//!
//! ```text
//! target/release/examples/yaml_crates            # everything, a Markdown report on stdout
//! REPS=21 SMALL_REPS=501 target/release/examples/yaml_crates
//! ```
//!
//! What it measures, medians of `REPS` repetitions (`SMALL_REPS` for the small document):
//!
//! - typed deserialize into `drbook::drplan::DrPlan` of the guide's template
//!   (`tests/fixtures/dr-plan/guide-template.yaml`) and of a generated plan of 10,000 steps;
//! - serialize of the same two documents;
//! - hostile inputs, each in a child process (this program run as `--hostile CASE CRATE`) so a
//!   crash is observed, not suffered, under a 2 GiB address-space cap (`ulimit -v`) and a 60 s
//!   time limit: billion laughs (nine levels of nine aliases in the free-form `architecture`
//!   section), 10,000 nested flow sequences, a 20 MB scalar. The child reports its outcome
//!   (error message or what it expanded to), its time and its peak RSS (`VmHWM`).
//!
//! Both crates are called with their defaults (what `from_str` does); when serde-saphyr's
//! default budget refuses the large plan the report says so and measures it with a raised budget.

use std::error::Error;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use drbook::drplan::{DrPlan, Procedure, ProcedureStep, Procedures, XStep};

const GUIDE: &str = include_str!("../tests/fixtures/dr-plan/guide-template.yaml");
const STEPS: usize = 10_000;
const CRATES: [&str; 2] = ["serde-saphyr", "serde_norway"];
const HOSTILE: [&str; 3] = ["billion-laughs", "deep-nesting", "huge-scalar"];
/// The child's address-space cap, in KiB (`ulimit -v`).
const MEMORY_CAP_KIB: u64 = 2 * 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, case, krate] if flag == "--hostile" => hostile_child(case, krate),
        [] => report(),
        _ => Err("usage: yaml_crates [--hostile CASE CRATE]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("yaml_crates: {e}");
            ExitCode::from(2)
        }
    }
}

type Res<T> = Result<T, Box<dyn Error>>;

fn reps(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(default)
}

/// The median of `reps` timings of `f`, in milliseconds.
fn median_ms(reps: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn saphyr_de(text: &str, options: &serde_saphyr::Options) -> Res<DrPlan> {
    Ok(serde_saphyr::from_str_with_options(text, options.clone())?)
}

fn norway_de(text: &str) -> Res<DrPlan> {
    Ok(serde_norway::from_str(text)?)
}

/// A plan of `n` steps in a chain, each as `drbook export` writes one.
fn large_plan(n: usize) -> Res<DrPlan> {
    let mut plan: DrPlan = serde_saphyr::from_str(GUIDE)?;
    let steps = (1..=n)
        .map(|i| ProcedureStep {
            step: i as u64,
            action: Some(format!("Restore shard {i} from the replica")),
            owner: Some(["dba", "sre", "network"][i % 3].to_string()),
            duration: Some(format!("{} minutes", 1 + i % 30)),
            command: Some(format!("pg_ctl promote -D /var/lib/postgresql/shard-{i}")),
            x_drbook: Some(XStep {
                id: format!("shard_{i}"),
                needs: if i > 1 { vec![format!("shard_{}", i - 1)] } else { vec![] },
                kind: Some("run".to_string()),
                critical: i % 2 == 0,
                ..XStep::default()
            }),
        })
        .collect();
    let failover = Procedure { steps, ..Procedure::default() };
    plan.procedures = Some(Procedures { failover: Some(failover), failback: None });
    Ok(plan)
}

fn report() -> Res<()> {
    let reps_large = reps("REPS", 21);
    let reps_small = reps("SMALL_REPS", 501);
    let guide_doc: DrPlan = serde_saphyr::from_str(GUIDE)?;
    let large_doc = large_plan(STEPS)?;
    let large = serde_saphyr::to_string(&large_doc)?;
    let defaults = serde_saphyr::Options::default();

    // Both crates must read both texts into the same document before any timing counts.
    let mut raised = serde_saphyr::Options::default();
    let mut budget_note = String::from("accepted by the default budget");
    if let Err(e) = saphyr_de(&large, &defaults) {
        budget_note = format!("refused by the default budget ({e}); measured with max_nodes and max_events raised to 10,000,000");
        if let Some(b) = raised.budget.as_mut() {
            b.max_nodes = 10_000_000;
            b.max_events = 10_000_000;
        }
    }
    for (name, text, doc, options) in
        [("guide", GUIDE, &guide_doc, &defaults), ("large", large.as_str(), &large_doc, &raised)]
    {
        if saphyr_de(text, options)? != *doc {
            return Err(format!("serde-saphyr read the {name} document differently").into());
        }
        if norway_de(text)? != *doc {
            return Err(format!("serde_norway read the {name} document differently").into());
        }
        let back: DrPlan = serde_norway::from_str(&serde_norway::to_string(doc)?)?;
        if back != *doc {
            return Err(format!("serde_norway does not round-trip the {name} document").into());
        }
    }

    let rows: Vec<(String, f64, f64)> = vec![
        (
            format!("deserialize guide template ({} bytes), {reps_small} reps", GUIDE.len()),
            median_ms(reps_small, || saphyr_de(GUIDE, &defaults).map(drop))?,
            median_ms(reps_small, || norway_de(GUIDE).map(drop))?,
        ),
        (
            format!("deserialize {STEPS}-step plan ({} bytes), {reps_large} reps", large.len()),
            median_ms(reps_large, || saphyr_de(&large, &raised).map(drop))?,
            median_ms(reps_large, || norway_de(&large).map(drop))?,
        ),
        (
            format!("serialize guide template, {reps_small} reps"),
            median_ms(reps_small, || {
                serde_saphyr::to_string(&guide_doc).map(drop).map_err(Into::into)
            })?,
            median_ms(reps_small, || {
                serde_norway::to_string(&guide_doc).map(drop).map_err(Into::into)
            })?,
        ),
        (
            format!("serialize {STEPS}-step plan, {reps_large} reps"),
            median_ms(reps_large, || {
                serde_saphyr::to_string(&large_doc).map(drop).map_err(Into::into)
            })?,
            median_ms(reps_large, || {
                serde_norway::to_string(&large_doc).map(drop).map_err(Into::into)
            })?,
        ),
    ];

    println!("## Typed (de)serialization, median ms\n");
    println!("The {STEPS}-step plan: {budget_note}.\n");
    println!("| operation | serde-saphyr | serde_norway | saphyr / norway |");
    println!("|---|---:|---:|---:|");
    for (what, saphyr, norway) in &rows {
        println!("| {what} | {saphyr:.3} | {norway:.3} | {:.2} |", saphyr / norway);
    }

    println!("\n## Hostile inputs (one child process each, 2 GiB address-space cap, 60 s limit)\n");
    println!("| input | crate | outcome | time ms | peak RSS MiB |");
    println!("|---|---|---|---:|---:|");
    for case in HOSTILE {
        for krate in CRATES {
            let (outcome, ms, rss) = run_child(case, krate)?;
            println!("| {case} | {krate} | {outcome} | {ms} | {rss} |");
        }
    }
    Ok(())
}

/// Runs `--hostile CASE CRATE` in a child under the caps; returns (outcome, time, peak RSS).
fn run_child(case: &str, krate: &str) -> Res<(String, String, String)> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB}; exec \"$0\" --hostile {case} {krate}"))
        .arg(&exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut fields = stdout.trim().splitn(3, '\t');
    let (ms, rss, said) = (fields.next(), fields.next(), fields.next());
    let outcome = match status {
        None => format!("killed after {} s", TIME_LIMIT.as_secs()),
        Some(s) if s.success() => said.unwrap_or("?").to_string(),
        Some(s) => {
            use std::os::unix::process::ExitStatusExt;
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            match s.signal() {
                Some(sig) => format!("crashed: signal {sig} ({})", clip(last, 80)),
                None => format!("exit {:?}: {}", s.code(), clip(last, 80)),
            }
        }
    };
    let ms = ms.filter(|_| status.is_some_and(|s| s.success())).unwrap_or("—").to_string();
    let rss = rss.filter(|_| status.is_some_and(|s| s.success())).unwrap_or("—").to_string();
    Ok((outcome.replace('|', "\\|"), ms, rss))
}

fn clip(s: &str, n: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The hostile document for `case`.
fn hostile_text(case: &str) -> Res<String> {
    Ok(match case {
        "billion-laughs" => {
            let mut s = String::from("architecture:\n  a0: &a0 \"lol\"\n");
            for i in 1..=9 {
                let refs = vec![format!("*a{}", i - 1); 9].join(", ");
                s.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
            }
            s
        }
        "deep-nesting" => {
            let depth = 10_000;
            format!("architecture: {}{}\n", "[".repeat(depth), "]".repeat(depth))
        }
        "huge-scalar" => format!("metadata:\n  owner: \"{}\"\n", "x".repeat(20 * 1024 * 1024)),
        _ => return Err(format!("unknown hostile case {case}").into()),
    })
}

/// How many JSON values the free-form section expanded to, or the owner's length.
fn describe(doc: &DrPlan) -> String {
    fn count(v: &serde_json::Value) -> u64 {
        match v {
            serde_json::Value::Array(a) => 1 + a.iter().map(count).sum::<u64>(),
            serde_json::Value::Object(o) => 1 + o.values().map(count).sum::<u64>(),
            _ => 1,
        }
    }
    let owner = doc.metadata.as_ref().and_then(|m| m.owner.as_ref()).map_or(0, String::len);
    match &doc.architecture {
        Some(a) => format!("accepted: expanded to {} values", count(a)),
        None => format!("accepted: owner of {owner} bytes"),
    }
}

/// The child: parses one hostile document with one crate and prints `ms\trss_mib\toutcome`.
fn hostile_child(case: &str, krate: &str) -> Res<()> {
    let text = hostile_text(case)?;
    let start = Instant::now();
    let result = match krate {
        "serde-saphyr" => saphyr_de(&text, &serde_saphyr::Options::default()),
        "serde_norway" => norway_de(&text),
        _ => return Err(format!("unknown crate {krate}").into()),
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let outcome = match &result {
        Ok(doc) => describe(doc),
        Err(e) => {
            let said = e.to_string().replace(['\n', '\t'], " ");
            let said = said.strip_prefix("error: ").unwrap_or(&said);
            format!("error: {}", clip(said, 100))
        }
    };
    println!("{ms:.1}\t{:.1}\t{outcome}", peak_rss_mib());
    Ok(())
}

/// This process's peak resident set (`VmHWM` in /proc/self/status), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
