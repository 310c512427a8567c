//! Baseline for BENCHMARKS.md: how long it takes to load and validate the same plan written as an
//! AWS SSM Automation document in YAML, the format most teams would otherwise use.
//!
//! `benches/gen.py` writes every synthetic plan twice, as `synthetic-N.drbook` and
//! `synthetic-N.yaml`; `benches/run.sh` times `drbook check` / `drbook plan` on the first against
//! this program on the second. Run as:
//!
//! ```text
//! target/release/examples/yaml_baseline target/bench/synthetic-10000.yaml
//! ```
//!
//! It reads the file, deserializes it with `serde_norway` (the maintained fork of `serde_yaml`)
//! into typed structs that model the part of the SSM Automation schema gen.py emits (unknown
//! fields are rejected), then validates it: supported schema version, known parameter types,
//! unique step names, every `nextStep` and `onFailure: step:X` naming an existing step, a known
//! action, `timeoutSeconds > 0`, non-empty commands, and every `{{ Name }}` reference naming a
//! declared parameter (or a built-in / earlier step output). On success it prints
//! `N steps valid` and exits 0; otherwise it prints the error and exits 2.
//!
//! It does strictly less semantic work than `drbook check` (no dependency graph, cycle check or
//! critical path: SSM has no DAG), so the comparison favours the baseline.

use std::collections::{BTreeMap, HashSet};
use std::error::Error;
use std::process::ExitCode;

use serde::Deserialize;

/// The same allocator as `drbook`, so the comparison measures parsing, not allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An SSM Automation document (schemaVersion 0.3), as far as gen.py uses it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AutomationDoc {
    schema_version: String,
    description: Option<String>,
    assume_role: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Param>,
    main_steps: Vec<Step>,
}

/// A document parameter, referenced as `{{ Name }}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Param {
    #[serde(rename = "type")]
    kind: String,
    default: Option<String>,
    description: Option<String>,
}

/// One entry of `mainSteps`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Step {
    name: String,
    action: String,
    timeout_seconds: u64,
    on_failure: Option<String>,
    next_step: Option<String>,
    is_end: Option<bool>,
    description: Option<String>,
    inputs: RunCommandInputs,
}

/// Inputs of `aws:runCommand`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RunCommandInputs {
    document_name: String,
    parameters: ShellParameters,
}

/// Parameters of the `AWS-RunShellScript` command document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ShellParameters {
    commands: Vec<String>,
}

/// Actions this typed model supports (their `inputs` must fit [`RunCommandInputs`]).
const KNOWN_ACTIONS: &[&str] = &["aws:runCommand"];
/// SSM Automation parameter types.
const PARAM_TYPES: &[&str] =
    &["String", "StringList", "Integer", "Boolean", "MapList", "StringMap", "AWS::EC2::Image::Id"];

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: yaml_baseline FILE.yaml");
        return ExitCode::from(2);
    };
    match run(&path) {
        Ok(n) => {
            println!("{n} steps valid");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("yaml_baseline: {path}: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(path: &str) -> Result<usize> {
    let text = std::fs::read_to_string(path)?;
    let doc: AutomationDoc = serde_norway::from_str(&text)?;
    validate(&doc)?;
    Ok(doc.main_steps.len())
}

fn validate(doc: &AutomationDoc) -> Result<()> {
    if doc.schema_version != "0.3" {
        return Err(format!(
            "unsupported schemaVersion {:?} (expected \"0.3\")",
            doc.schema_version
        )
        .into());
    }
    if doc.description.as_deref().is_some_and(|d| d.trim().is_empty()) {
        return Err("document description is empty".into());
    }
    if doc.assume_role.as_deref().is_some_and(|r| !r.starts_with("arn:") && !r.contains("{{")) {
        return Err("assumeRole must be an ARN or a {{ parameter }}".into());
    }
    for (name, p) in &doc.parameters {
        if !PARAM_TYPES.contains(&p.kind.as_str()) {
            return Err(format!("parameter {name}: unknown type {:?}", p.kind).into());
        }
        if p.kind == "Integer" && p.default.as_deref().is_some_and(|d| d.parse::<i64>().is_err()) {
            return Err(format!("parameter {name}: default is not an integer").into());
        }
        if p.description.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(format!("parameter {name}: empty description").into());
        }
    }
    if doc.main_steps.is_empty() {
        return Err("mainSteps is empty".into());
    }

    let mut names: HashSet<&str> = HashSet::with_capacity(doc.main_steps.len());
    for s in &doc.main_steps {
        if s.name.is_empty() {
            return Err("a step has an empty name".into());
        }
        if !names.insert(s.name.as_str()) {
            return Err(format!("duplicate step name {:?}", s.name).into());
        }
    }

    // Steps seen so far, for `{{ step.Output }}` references (only earlier steps may be used).
    let mut earlier: HashSet<&str> = HashSet::with_capacity(doc.main_steps.len());
    for s in &doc.main_steps {
        let at = |msg: String| -> Box<dyn Error> { format!("step {}: {msg}", s.name).into() };
        if !KNOWN_ACTIONS.contains(&s.action.as_str()) {
            return Err(at(format!("unknown action {:?}", s.action)));
        }
        if s.timeout_seconds == 0 {
            return Err(at("timeoutSeconds must be > 0".into()));
        }
        if let Some(next) = &s.next_step {
            if s.is_end == Some(true) {
                return Err(at("has both nextStep and isEnd: true".into()));
            }
            if !names.contains(next.as_str()) {
                return Err(at(format!("nextStep names unknown step {next:?}")));
            }
        }
        match s.on_failure.as_deref() {
            None | Some("Abort" | "Continue") => {}
            Some(other) => match other.strip_prefix("step:") {
                Some(target) if names.contains(target) => {}
                Some(target) => {
                    return Err(at(format!("onFailure names unknown step {target:?}")));
                }
                None => return Err(at(format!("bad onFailure {other:?}"))),
            },
        }
        if s.description.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(at("empty description".into()));
        }
        if s.inputs.document_name.is_empty() {
            return Err(at("empty DocumentName".into()));
        }
        if s.inputs.parameters.commands.is_empty() {
            return Err(at("no commands".into()));
        }
        for cmd in &s.inputs.parameters.commands {
            check_refs(cmd, &doc.parameters, &earlier).map_err(at)?;
        }
        earlier.insert(s.name.as_str());
    }
    Ok(())
}

/// Every `{{ X }}` in `text` must name a parameter, a built-in (`automation:...`,
/// `global:...`) or an output of an earlier step (`step.Output`).
fn check_refs(
    text: &str,
    params: &BTreeMap<String, Param>,
    earlier: &HashSet<&str>,
) -> std::result::Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!("unterminated {{{{ in {text:?}"));
        };
        let name = after[..close].trim();
        let ok = params.contains_key(name)
            || name.starts_with("automation:")
            || name.starts_with("global:")
            || name.split_once('.').is_some_and(|(step, _)| earlier.contains(step));
        if !ok {
            return Err(format!("unknown reference {{{{ {name} }}}} in {text:?}"));
        }
        rest = &after[close + 2..];
    }
    Ok(())
}
