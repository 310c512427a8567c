//! The one preparation path of `run`, `resume` and `rollback`, from what was asked to a run a
//! runner can drive:
//!
//! ```text
//! RunRequest --load--> Book --connect--> Ready --take(store, run)--> Prepared --> drive
//!   file, params,        checked           + AWS client, secrets,      + store, the run's
//!   flags, who           runbook, graph,     the runtime                locked journal,
//!                        param values                                   RTO clock, Job
//! ```
//!
//! `resume` and `rollback` start from an [`ExistingRun`], whose journal gives the file and the
//! params; between the stages each command makes its own checks (`--approve` names, the step
//! definitions against the journal's, the confirmation), in the order that keeps refusals
//! before anything is written.
//!
//! Invariants: these stages write nothing (loading reads the runbook; connecting reaches AWS
//! and reads secrets), and each refuses with a [`CliError`]. The run itself is taken by the
//! command (`run` creates it, `resume` and `rollback` lock it) and handed to [`Ready::take`],
//! so a `Prepared` always holds its run's lock, and every secret resolved before any step
//! starts.

use super::args::RunFlags;
use super::input;
use super::outcome::CliError;
use super::term::eprint;
use crate::check::Options;
use crate::exec::{Aws, AwsOptions, Job, Secrets};
use crate::graph::Dag;
use crate::journal::{Decision, RunHandle, RunState, StepState, Store};
use crate::model::hash;
use crate::model::{Action, ParamValue, Runbook, SecretSource, Step};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `run` is asked, and what `resume` and `rollback` read back from a run's journal.
pub struct RunRequest<'a> {
    pub file: PathBuf,
    pub params: Vec<(String, String)>,
    pub flags: &'a RunFlags,
    /// Who is acting (`--as`).
    pub user: String,
    pub color: bool,
}

/// `resume RUN` and `rollback RUN`: which run, and what the person says about it.
pub struct ExistingRun<'a> {
    pub run_id: &'a str,
    pub flags: &'a RunFlags,
    /// `--file`: the runbook moved since the run started.
    pub file: Option<&'a Path>,
    /// `--interrupted STEP=DECISION`, as given.
    pub interrupted: &'a [String],
    pub allow_edited: bool,
    pub user: String,
    pub color: bool,
    /// `resume --reopen STEP`: denied gates to ask again.
    pub reopen: &'a [String],
    /// `resume --reason`: why, for the `--interrupted` decisions and the re-opened gates.
    pub reason: Option<&'a str>,
    /// `--force` (resume): answers stand against what a step's probe saw.
    pub force: bool,
    /// `resume --notify URL`: where a drill posts its summary when it ends.
    pub notify: Option<&'a str>,
}

impl<'a> ExistingRun<'a> {
    /// The runbook the run was started from (or `--file`), with the run's params.
    pub fn request(&self, state: &RunState) -> RunRequest<'a> {
        RunRequest {
            file: self.file.map_or_else(|| PathBuf::from(&state.path), Path::to_path_buf),
            params: state.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            flags: self.flags,
            user: self.user.clone(),
            color: self.color,
        }
    }
}

/// The checked runbook, its graph and param values, and the file it came from.
pub struct Book {
    pub rb: Arc<Runbook>,
    pub dag: Arc<Dag>,
    pub values: HashMap<String, ParamValue>,
    /// The file's bytes, for the journal's content hash.
    pub bytes: Vec<u8>,
    /// The file's canonical path, as the journal keeps it.
    pub abs: PathBuf,
}

impl RunRequest<'_> {
    /// Loads and checks the runbook with every required param given; warnings are printed.
    pub fn load(&self) -> Result<Book, CliError> {
        let opts = Options {
            today: input::today(),
            params: self.params.clone(),
            require_params: true,
            strict: false,
        };
        let (_, checked) =
            input::checked_runbook(&self.file, self.flags.root.as_deref(), &opts, self.color)?;
        let bytes = std::fs::read(&self.file).map_err(|e| {
            CliError::invalid(format!("cannot read `{}`: {e}", self.file.display()))
        })?;
        let abs = std::fs::canonicalize(&self.file).unwrap_or_else(|_| self.file.clone());
        let (Some(rb), Some(dag)) = (checked.runbook, checked.dag) else {
            return Err(CliError::invalid(format!(
                "`{}` has no runbook to run",
                self.file.display()
            )));
        };
        Ok(Book { rb: Arc::new(rb), dag: Arc::new(dag), values: checked.values, bytes, abs })
    }
}

impl Book {
    /// The directory relative `workdir`s and `file()` secrets start from.
    pub fn base_dir(&self) -> PathBuf {
        self.abs.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// `--report FILE` is never written through a symbolic link: one planted there is refused
    /// before anything runs; a `--sign KEY` that cannot sign is refused then too.
    pub fn check_report_flag(&self, flags: &RunFlags) -> Result<(), CliError> {
        if let Some(path) = &flags.sign {
            // `--sign KEY` must be able to sign when the runner stops.
            crate::journal::sign::read_key(path)
                .map_err(|e| CliError::invalid(format!("`--sign`: {e}")))?;
        }
        match &flags.report {
            Some(path) => crate::journal::fsx::refuse_link(path)
                .map_err(|e| CliError::invalid(format!("`--report`: {e}"))),
            None => Ok(()),
        }
    }

    /// `--approve STEP` must name a gated step: a typo never passes silently. Every wrong name
    /// is reported.
    pub fn check_approve_flags(&self, flags: &RunFlags) -> Result<(), CliError> {
        let mut errors = Vec::new();
        for name in &flags.approve {
            match self.rb.steps.iter().find(|s| &s.id == name) {
                Some(s) if s.approval.is_some() => {}
                Some(_) => {
                    errors.push(format!("`--approve {name}`: step `{name}` has no approval gate"))
                }
                None => {
                    let ids = self.rb.steps.iter().map(|s| s.id.as_str());
                    let hint = crate::diag::did_you_mean(name, ids)
                        .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                    errors.push(format!("`--approve {name}`: there is no step `{name}`{hint}"));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CliError::Invalid { errors, then: None })
        }
    }

    /// A partial drill's `--only` must name steps of the runbook: every wrong name is
    /// reported (with the closest step), before anything is written.
    pub fn check_drill_targets(&self, drill: &crate::journal::DrillInfo) -> Result<(), CliError> {
        let ids = || self.rb.steps.iter().map(|s| s.id.as_str());
        let errors: Vec<String> = drill
            .targets
            .iter()
            .filter(|t| self.rb.step_index(t).is_none())
            .map(|t| {
                let hint = crate::diag::did_you_mean(t, ids())
                    .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                format!("`--only {t}`: there is no step `{t}`{hint}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CliError::Invalid { errors, then: Some("nothing was run".into()) })
        }
    }

    /// The runbook may have changed since the run started only in steps that have not started
    /// (and then only with `--allow-edited`): see [`compare_definitions`].
    pub fn compare_definitions(
        &self,
        state: &RunState,
        allow_edited: bool,
    ) -> Result<(), CliError> {
        compare_definitions(&self.rb.steps, state, allow_edited)
    }

    /// Whether the runbook reaches AWS: an `ssm` action or rollback, or an `ssm()` secret.
    fn needs_aws(&self) -> bool {
        let ssm = |a: &Action| {
            matches!(
                a,
                Action::SsmCommand { .. } | Action::SsmAutomation { .. } | Action::SsmPut { .. }
            )
        };
        self.rb.steps.iter().any(|s| {
            s.action.as_ref().is_some_and(ssm)
                || s.rollback.as_ref().is_some_and(|r| ssm(&r.action))
        }) || self.rb.secrets.iter().any(|s| matches!(s.source, SecretSource::Ssm(_)))
    }
}

/// The runbook may have changed since the run started only in steps that have not started
/// (and then only with `--allow-edited`). Steps are compared by their definition hashes
/// ([`hash`]); hashes of another format (a run started by another drbook) cannot be, and
/// are accepted only with `--allow-edited`, after the person checked.
pub fn compare_definitions(
    steps: &[Step],
    state: &RunState,
    allow_edited: bool,
) -> Result<(), CliError> {
    let now: BTreeMap<String, String> = hash::step_hashes(steps).into_iter().collect();
    let started = |id: &str| state.step(id).is_some_and(|r| r.state != StepState::Pending);
    let foreign = state
        .step_hashes
        .iter()
        .map(|(_, h)| hash::version_of(h))
        .find(|v| *v != Some(hash::VERSION));
    let mut edited = Vec::new();
    for (id, old) in &state.step_hashes {
        match now.get(id) {
            Some(_) if foreign.is_some() => {}
            Some(h) if h == old => {}
            _ if started(id) => {
                return Err(CliError::invalid(format!(
                    "the runbook changed in step `{id}`, which already started in this run; restore it, or start a new run"
                )))
            }
            _ => edited.push(id.clone()),
        }
    }
    for id in now.keys() {
        if !state.step_hashes.iter().any(|(s, _)| s == id) {
            return Err(CliError::invalid(format!(
                "the runbook adds step `{id}`, which this run does not know; start a new run"
            )));
        }
    }
    if let Some(version) = foreign {
        let by = match version {
            None => "an older drbook, whose step hashes have no version".to_string(),
            Some(v) => format!("a drbook that hashes steps as `{v}`"),
        };
        let run = &state.run_id;
        if !allow_edited {
            return Err(CliError::invalid(format!(
                "run `{run}` was started by {by} (this one: `{}`), so its steps cannot be compared with the runbook; check that the runbook is unchanged since the run started (or changed only in steps that have not started), then pass --allow-edited",
                hash::VERSION
            )));
        }
        eprint(&format!(
            "warning: run `{run}` was started by {by}: its steps were not compared with the runbook (--allow-edited)"
        ));
        return Ok(());
    }
    if !edited.is_empty() && !allow_edited {
        return Err(CliError::invalid(format!(
            "the runbook changed in step(s) {} since the run started; pass --allow-edited to accept changes to steps that have not started",
            edited.join(", ")
        )));
    }
    Ok(())
}

/// A checked runbook with what its actions need: the runtime, AWS when it uses SSM, and every
/// secret resolved.
pub struct Ready<'a> {
    pub req: RunRequest<'a>,
    pub book: Book,
    pub aws: Option<Arc<Aws>>,
    pub secrets: Arc<Secrets>,
    pub rt: &'static tokio::runtime::Runtime,
    /// The header's `shell`, found (`sh` by default).
    pub shell: PathBuf,
}

impl<'a> RunRequest<'a> {
    /// Connects to AWS when the runbook needs it and resolves every secret: all of them before
    /// the first step starts, or nothing runs.
    pub fn connect(self, book: Book) -> Result<Ready<'a>, CliError> {
        let rt = runtime()?;
        // Before AWS and secrets: a runbook whose shell is missing cannot run any step.
        let shell = crate::exec::find_shell(book.rb.shell.as_deref()).map_err(|e| {
            CliError::invalid(e).then("nothing was run: `run` actions need the runbook's `shell`")
        })?;
        let aws = if book.needs_aws() {
            let flags = self.flags;
            let opts =
                AwsOptions { profile: flags.aws_profile.clone(), region: flags.aws_region.clone() };
            match rt.block_on(Aws::connect(&opts)) {
                Ok(aws) => Some(Arc::new(aws)),
                Err(e) => {
                    return Err(CliError::invalid(e.to_string())
                        .then("nothing was run: this runbook uses AWS Systems Manager"))
                }
            }
        } else {
            None
        };
        let ssm = |name: &str| match &aws {
            Some(aws) => rt.block_on(aws.get_parameter(name)),
            None => Err("AWS is not configured".to_string()),
        };
        let env = |v: &str| std::env::var(v).ok();
        let secrets =
            Secrets::resolve(&book.rb.secrets, env, ssm, &book.base_dir()).map_err(|errs| {
                CliError::Invalid {
                    errors: errs.iter().map(ToString::to_string).collect(),
                    then: Some(
                        "nothing was run: every secret must resolve before the first step starts"
                            .into(),
                    ),
                }
            })?;
        Ok(Ready { req: self, book, aws, secrets: Arc::new(secrets), rt, shell })
    }
}

impl<'a> RunRequest<'a> {
    /// A tabletop drill executes nothing: no AWS client, no shell looked for, and no step's
    /// secret resolved (its steps are shown with secrets as `<secret:NAME>`). Only the secrets
    /// the header's `notify_drills` names are, for the drill's own notification, unless
    /// `--notify URL` (`notify_given`) replaces it; from the environment or a file, before
    /// anything starts, as a run resolves its secrets.
    pub fn executing_nothing(self, book: Book, notify_given: bool) -> Result<Ready<'a>, CliError> {
        use crate::model::Ref;
        let rt = runtime()?;
        let shell = PathBuf::from(book.rb.shell.as_deref().unwrap_or("sh"));
        let named: Vec<&str> = match (&book.rb.notify_drills, notify_given) {
            (Some(t), false) => t
                .refs()
                .into_iter()
                .filter_map(|r| if let Ref::Secret(n) = r { Some(n.as_str()) } else { None })
                .collect(),
            _ => Vec::new(),
        };
        let wanted: Vec<crate::model::Secret> =
            book.rb.secrets.iter().filter(|s| named.contains(&s.name.as_str())).cloned().collect();
        let env = |v: &str| std::env::var(v).ok();
        let no_ssm = |name: &str| {
            Err(format!(
                "SSM parameter `{name}` is not read by a tabletop drill, which reaches no AWS"
            ))
        };
        let secrets = Secrets::resolve(&wanted, env, no_ssm, &book.base_dir()).map_err(|errs| {
            CliError::Invalid {
                errors: errs.iter().map(ToString::to_string).collect(),
                then: Some(
                    "nothing was run: the secret of `notify_drills` must resolve before the drill starts (or give `--notify URL`)"
                        .into(),
                ),
            }
        })?;
        Ok(Ready { req: self, book, aws: None, secrets: Arc::new(secrets), rt, shell })
    }
}

/// The process's one tokio runtime: AWS clients made before a run are used by its executor.
/// It is never dropped, so a prompt left blocking on standard input never holds up the exit.
fn runtime() -> Result<&'static tokio::runtime::Runtime, CliError> {
    static RT: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    rt.as_ref().map_err(|e| CliError::invalid(format!("cannot start the executor: {e}")))
}

/// A run ready to drive: the runbook, what its actions need, and the run's journal, locked.
pub struct Prepared<'a> {
    pub flags: &'a RunFlags,
    pub user: String,
    pub book: Book,
    pub aws: Option<Arc<Aws>>,
    pub secrets: Arc<Secrets>,
    pub rt: &'static tokio::runtime::Runtime,
    pub shell: PathBuf,
    pub store: Store,
    pub run_id: String,
    pub handle: RunHandle,
    /// When the RTO clock started (ms since the epoch).
    pub clock_start: i64,
    /// Steps a person decided `fail` just now: not run again in this session.
    pub keep_failed: Vec<usize>,
    /// `--interrupted` decisions that stand (see `decide::settle_steps`).
    pub decisions: BTreeMap<String, Decision>,
    /// `resume --reason`: why, journaled with those decisions.
    pub decision_reason: Option<String>,
    /// `--force` (resume): answers stand against what a step's probe saw.
    pub force: bool,
    /// `drill --notify URL`, `resume --notify URL`: where a drill's summary is posted when it
    /// ends (else the runbook's `notify_drills`). Never journaled.
    pub notify: Option<String>,
}

impl<'a> Ready<'a> {
    /// The run is taken: `handle` holds its lock (a new run's, or one resumed).
    pub fn take(
        self,
        store: Store,
        run_id: String,
        handle: RunHandle,
        clock_start: i64,
    ) -> Prepared<'a> {
        Prepared {
            flags: self.req.flags,
            user: self.req.user,
            book: self.book,
            aws: self.aws,
            secrets: self.secrets,
            rt: self.rt,
            shell: self.shell,
            store,
            run_id,
            handle,
            clock_start,
            keep_failed: Vec::new(),
            decisions: BTreeMap::new(),
            decision_reason: None,
            force: false,
            notify: None,
        }
    }
}

impl Prepared<'_> {
    /// What the executor is handed.
    pub fn job(&self) -> Job {
        let (book, flags) = (&self.book, self.flags);
        Job {
            aws: self.aws.clone(),
            rb: book.rb.clone(),
            dag: book.dag.clone(),
            values: Arc::new(book.values.clone()),
            secrets: self.secrets.clone(),
            run_id: self.run_id.clone(),
            base_dir: book.base_dir(),
            parallel: flags.parallel.unwrap_or(book.rb.parallel as usize),
            clock_start_ms: self.clock_start,
            user: self.user.clone(),
            keep_failed: self.keep_failed.clone(),
            decisions: self.decisions.clone(),
            decision_reason: self.decision_reason.clone(),
            approve: flags.approve.clone(),
            wait: flags.wait,
            invocation: super::again::invocation(&flags.state_dir),
            force: self.force,
            shell: self.shell.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{replay, Event, VERSION};
    use crate::model::tests_support::runbook_with_durations;

    /// A run of steps `s0 -> s1` with these step hashes, nothing started.
    fn run_with(hashes: Vec<(String, String)>) -> RunState {
        let at = "2026-11-23T22:15:30.000Z".to_string();
        replay(&[Event::RunStarted {
            v: VERSION,
            run_id: "r1".into(),
            runbook: "t".into(),
            file: "t.drbook".into(),
            path: "/srv/t.drbook".into(),
            content_hash: "ab".repeat(32),
            step_hashes: hashes,
            params: BTreeMap::new(),
            at: at.clone(),
            clock_start: at,
            rto_ms: None,
            rpo_ms: None,
            user: "ana".into(),
            pid: 42,
            drill: None,
            trigger: None,
        }])
        .expect("a run_started record replays")
    }

    fn steps() -> Vec<Step> {
        runbook_with_durations(&[1000, 1000], &[&[], &[0]]).steps
    }

    #[test]
    fn an_unchanged_runbook_resumes_and_an_edited_pending_step_needs_allow_edited() {
        let mut steps = steps();
        let state = run_with(hash::step_hashes(&steps));
        assert!(compare_definitions(&steps, &state, false).is_ok());
        steps[1].duration = Some(9000);
        let refused = compare_definitions(&steps, &state, false).expect_err("edited");
        assert!(refused.to_string().contains("changed in step(s) s1"), "{refused}");
        assert!(compare_definitions(&steps, &state, true).is_ok());
    }

    #[test]
    fn hashes_of_an_older_drbook_are_refused_with_what_to_do() {
        let steps = steps();
        let bare = |id: &str| (id.to_string(), "ab".repeat(32));
        let state = run_with(vec![bare("s0"), bare("s1")]);
        let refused = compare_definitions(&steps, &state, false).expect_err("not comparable");
        let text = refused.to_string();
        assert!(text.starts_with("error: run `r1` was started by an older drbook"), "{text}");
        assert!(text.contains("cannot be compared") && text.contains("--allow-edited"), "{text}");
        assert_eq!(refused.outcome(), crate::cli::Outcome::Invalid);
        assert!(compare_definitions(&steps, &state, true).is_ok(), "the person checked");
    }

    #[test]
    fn a_step_the_run_does_not_know_is_refused_whatever_hashed_the_run() {
        let steps = steps();
        for hashed in ["ab".repeat(32), format!("{}:ab", hash::VERSION), "v1:ab".into()] {
            let state = run_with(vec![("s0".into(), hashed)]);
            let refused = compare_definitions(&steps, &state, true).expect_err("s1 is new");
            assert!(refused.to_string().contains("adds step `s1`"), "{refused}");
        }
    }

    #[test]
    fn hashes_of_another_version_name_it() {
        let steps = steps();
        let state = run_with(vec![("s0".into(), "v7:ab".into()), ("s1".into(), "v7:cd".into())]);
        let refused = compare_definitions(&steps, &state, false).expect_err("v7");
        assert!(refused.to_string().contains("hashes steps as `v7` (this one: `v2`)"), "{refused}");
    }
}
