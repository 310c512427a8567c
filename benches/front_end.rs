//! Where `drbook check` and `drbook plan --format json` spend their time on one runbook, phase
//! by phase, in process (BENCHMARKS.md, "Profile").
//!
//!     front_end FILE [RUNS]
//!
//! Runs the pipeline RUNS times (default 20) and prints each phase's median in milliseconds:
//! parse (syntax tree), load (imports), check (model, graph, lints), plan (the plan document)
//! and json (the plan written as JSON into memory). With `FRONT_END_RSS` set, it also prints
//! the peak resident memory after each phase.

use drbook::check::{self, Options};
use drbook::diag::FileId;
use drbook::{load, plan, syntax};
use std::time::Instant;

/// The allocator of the `drbook` binary, so the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This process's peak resident memory so far (`VmHWM`), as Linux reports it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l[6..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(file) = args.get(1) else {
        eprintln!("usage: front_end FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20);
    let path = std::fs::canonicalize(file).expect("runbook");
    let text: drbook::diag::SourceText = std::fs::read_to_string(&path).expect("read").into();
    let root = path.parent().expect("a directory").to_path_buf();
    let names = ["parse", "load", "check", "plan", "json", "total"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..runs {
        let mut lap = Vec::new();
        let t0 = Instant::now();
        let mut at = t0;
        let mut mark = |lap: &mut Vec<f64>| {
            if std::env::var_os("FRONT_END_RSS").is_some() {
                eprintln!("after phase {}: {}", lap.len() + 1, peak_rss());
            }
            let now = Instant::now();
            lap.push((now - at).as_secs_f64() * 1e3);
            at = now;
        };
        let parse = syntax::parse(&text, FileId(0));
        mark(&mut lap);
        let name = path.display().to_string();
        let mut loaded =
            load::load_parsed_in(&name, Some(path.clone()), text.clone(), root.clone(), parse);
        mark(&mut lap);
        let opts = Options {
            today: drbook::model::Date::today(),
            params: Vec::new(),
            require_params: true,
            strict: false,
        };
        let checked = check::check(&mut loaded, &opts);
        mark(&mut lap);
        let (Some(rb), Some(dag)) = (&checked.runbook, &checked.dag) else {
            eprintln!("front_end: {file} does not check clean");
            std::process::exit(1);
        };
        let p = plan::build(rb, dag, &checked.values, Vec::new());
        mark(&mut lap);
        let mut out = Vec::new();
        plan::json::render(&p, &mut out).expect("json");
        mark(&mut lap);
        lap.push((Instant::now() - t0).as_secs_f64() * 1e3);
        for (t, v) in times.iter_mut().zip(lap) {
            t.push(v);
        }
    }
    for (name, mut t) in names.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        println!("{name:>6}: median {:8.2} ms", t[t.len() / 2]);
    }
}
