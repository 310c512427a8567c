//! The live view on a terminal: a budget bar (elapsed RTO clock against `rto`, steps done)
//! and one spinner per running step with its elapsed and expected time; output, results and
//! warnings scroll above the bars. Without a terminal, [`super::progress::Lines`] is used.

use super::progress::Lines;
use crate::exec::{Note, Observer};
use crate::model::fmt_duration;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Live {
    bars: MultiProgress,
    budget: ProgressBar,
    running: Mutex<HashMap<String, ProgressBar>>,
    done: Mutex<usize>,
    total: usize,
    rto_ms: Option<u64>,
    clock_start_ms: i64,
    lines: Lines,
}

impl Live {
    pub fn new(total: usize, rto_ms: Option<u64>, clock_start_ms: i64, done: usize) -> Live {
        let bars = MultiProgress::new();
        let budget = bars.add(ProgressBar::new(rto_ms.unwrap_or(1).max(1)));
        let style = ProgressStyle::with_template("{prefix:.bold} [{bar:30.cyan/blue}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        budget.set_style(style);
        budget.set_prefix("RTO");
        budget.enable_steady_tick(Duration::from_millis(500));
        let live = Live {
            bars,
            budget,
            running: Mutex::new(HashMap::new()),
            done: Mutex::new(done),
            total,
            rto_ms,
            clock_start_ms,
            lines: Lines::new(false),
        };
        live.refresh(None);
        live
    }

    fn refresh(&self, projected_ms: Option<u64>) {
        let elapsed =
            u64::try_from(crate::model::time::now_ms() - self.clock_start_ms).unwrap_or(0);
        let done = *self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.budget.set_position(elapsed.min(self.budget.length().unwrap_or(1)));
        let budget =
            self.rto_ms.map_or("no budget".to_string(), |r| format!("of {}", fmt_duration(r)));
        let projected = projected_ms
            .map_or(String::new(), |p| format!(", projected {}", fmt_duration(p / 1000 * 1000)));
        self.budget.set_message(format!(
            "{} elapsed {budget}{projected} — {done}/{} steps done",
            fmt_duration(elapsed / 1000 * 1000),
            self.total
        ));
    }

    fn say(&self, n: &Note) {
        let mut text = String::new();
        self.lines.render(n, &mut text);
        if !text.is_empty() && !super::prompt::print_above(&text) {
            // A terminal that went away (SIGHUP) must not turn a print into a panic.
            self.bars.suspend(|| {
                use std::io::Write;
                let _ = writeln!(std::io::stdout(), "{}", crate::diag::escape::escape(&text));
            });
        }
    }

    /// Clears the bars before the final report is printed.
    pub fn finish(&self) {
        for (_, bar) in
            self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain()
        {
            bar.finish_and_clear();
        }
        self.budget.finish_and_clear();
    }
}

impl super::prompt::Screen for Live {
    fn hide(&self) {
        self.bars.set_draw_target(ProgressDrawTarget::hidden());
    }

    fn show(&self) {
        self.bars.set_draw_target(ProgressDrawTarget::stderr());
    }
}

impl Observer for Live {
    fn note(&self, n: Note) {
        let mut running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &n {
            Note::StepStarted { step, attempt, expected_ms } => {
                let bar = self.bars.add(ProgressBar::new_spinner());
                let style = ProgressStyle::with_template("  {spinner} {prefix} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bar.set_style(style);
                bar.set_prefix(step.clone());
                let exp = expected_ms
                    .map_or(String::new(), |e| format!("of {} expected", fmt_duration(e)));
                let again =
                    if *attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
                bar.set_message(format!("{exp}{again}"));
                bar.enable_steady_tick(Duration::from_millis(200));
                if let Some(old) = running.insert(step.clone(), bar) {
                    old.finish_and_clear();
                }
                return;
            }
            Note::StepSucceeded { step, .. }
            | Note::StepSkipped { step, .. }
            | Note::Discussed { step, .. } => {
                if let Some(bar) = running.remove(step) {
                    bar.finish_and_clear();
                }
                *self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
            }
            Note::UndoStarted { step } => {
                let bar = self.bars.add(ProgressBar::new_spinner());
                let style = ProgressStyle::with_template("  {spinner} ↩ {prefix} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bar.set_style(style);
                bar.set_prefix(step.clone());
                bar.set_message("rolling back");
                bar.enable_steady_tick(Duration::from_millis(200));
                if let Some(old) = running.insert(undo_key(step), bar) {
                    old.finish_and_clear();
                }
                return;
            }
            Note::UndoSucceeded { step, .. }
            | Note::UndoFailed { step, .. }
            | Note::UndoInterrupted { step } => {
                if let Some(bar) = running.remove(&undo_key(step)) {
                    bar.finish_and_clear();
                }
            }
            // A prompt hides the bars itself (`Screen`) while it is open.
            Note::StepWaiting { step, .. }
            | Note::UndoWaiting { step, .. }
            | Note::AwaitingApproval { step, .. } => {
                for key in [step.clone(), undo_key(step)] {
                    if let Some(bar) = running.remove(&key) {
                        bar.finish_and_clear();
                    }
                }
            }
            Note::StepFailed { step, retry_in_ms: None, .. } | Note::StepInterrupted { step } => {
                if let Some(bar) = running.remove(step) {
                    bar.finish_and_clear();
                }
            }
            Note::Clock { projected_ms, .. } => {
                drop(running);
                self.refresh(Some(*projected_ms));
                if matches!(n, Note::Clock { over: true, .. }) {
                    self.say(&n);
                }
                return;
            }
            _ => {}
        }
        drop(running);
        self.say(&n);
        self.refresh(None);
    }
}

/// A rollback's spinner, apart from its step's.
fn undo_key(step: &str) -> String {
    format!("undo:{step}")
}
