//! The runner's terminal prompts: manual steps, approval gates, interrupted steps, and a
//! tabletop drill's steps up for discussion.
//!
//! One prompt at a time (a process-wide lock), so two steps never ask at once. Lines are read
//! from standard input with `poll`, a fifth of a second at a time, so a prompt can be
//! withdrawn when its question was answered elsewhere (an approval from another shell) and
//! nothing typed later goes to a question that no longer stands. While a prompt is open the
//! live view is hidden.

use crate::diag::escape::escape;
use crate::exec::{ApprovalAnswer, ApprovalAsk, DiscussAnswer, DiscussAsk, Person};
use crate::model::fmt_duration;
use std::io::Write;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Serializes prompts; holds bytes read past the end of the last line.
static INPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The question being asked right now, shown again below any line printed meanwhile.
static QUESTION: Mutex<Option<String>> = Mutex::new(None);

/// Prints `text` above the open question, if a question is open: the line being typed is
/// cleared, the text printed, and the question shown again. `false` when no question is open.
pub fn print_above(text: &str) -> bool {
    let q = QUESTION.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(question) = q.as_ref() else { return false };
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K{}\n{}", escape(text), escape(question));
    let _ = err.flush();
    true
}

/// Asks `question` and reads the answer; the question stays registered while it is open.
fn ask_line(question: &str, buf: &mut Vec<u8>, cancel: &AtomicBool) -> Result<String, NoLine> {
    {
        let mut q = QUESTION.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        say(question);
        *q = Some(question.to_string());
    }
    let answer = read_line(buf, cancel);
    *QUESTION.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    answer
}

/// Something to hide while a prompt is open (the live view).
pub trait Screen: Send + Sync {
    fn hide(&self);
    fn show(&self);
}

/// Asks at the terminal.
#[derive(Default)]
pub struct Terminal {
    pub screen: Option<Arc<dyn Screen>>,
}

/// Why no line came.
#[derive(Debug, PartialEq, Eq)]
enum NoLine {
    Cancelled,
    Eof,
}

/// Reads one line from standard input (without its newline), giving up when `cancel` is set.
fn read_line(buf: &mut Vec<u8>, cancel: &AtomicBool) -> Result<String, NoLine> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            return Ok(String::from_utf8_lossy(&line[..pos]).trim_end_matches('\r').to_string());
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(NoLine::Cancelled);
        }
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(200u16)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return Err(NoLine::Eof),
        }
        let mut chunk = [0u8; 1024];
        match nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&stdin), &mut chunk) {
            Ok(0) => {
                if buf.is_empty() {
                    return Err(NoLine::Eof);
                }
                buf.push(b'\n');
            }
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(_) => return Err(NoLine::Eof),
        }
    }
}

/// Runs `f` holding the prompt lock, with the screen hidden; gives up waiting for the lock
/// when `cancel` is set.
fn exclusive<T>(
    screen: Option<&Arc<dyn Screen>>,
    cancel: &AtomicBool,
    f: impl FnOnce(&mut Vec<u8>) -> Option<T>,
) -> Option<T> {
    let mut input = loop {
        match INPUT.try_lock() {
            Ok(g) => break g,
            Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                if cancel.load(Ordering::SeqCst) {
                    return None;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    };
    if let Some(s) = screen {
        s.hide();
    }
    let out = f(&mut input);
    if let Some(s) = screen {
        s.show();
    }
    out
}

fn say(text: &str) {
    let mut err = std::io::stderr();
    let _ = write!(err, "{}", escape(text));
    let _ = err.flush();
}

/// Asks one question at the terminal; `None` at the end of input.
pub fn ask(question: &str) -> Option<String> {
    let never = AtomicBool::new(false);
    exclusive(None, &never, |buf| ask_line(question, buf, &never).ok())
}

/// Asks `question` until `pick` knows the (trimmed, lower-case) answer. `None` when the prompt
/// was withdrawn (answered elsewhere: said so) or input ended.
fn choose<T>(
    question: &str,
    buf: &mut Vec<u8>,
    cancel: &AtomicBool,
    pick: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    loop {
        let answer = match ask_line(question, buf, cancel) {
            Ok(a) => a,
            Err(NoLine::Cancelled) => {
                say("\n(answered elsewhere)\n");
                return None;
            }
            Err(NoLine::Eof) => return None,
        };
        if let Some(t) = pick(answer.trim().to_ascii_lowercase().as_str()) {
            return Some(t);
        }
    }
}

impl Person for Terminal {
    fn manual(
        &self,
        step: &str,
        instructions: &str,
        cancel: &AtomicBool,
    ) -> Option<Result<(), String>> {
        exclusive(self.screen.as_ref(), cancel, |buf| {
            say(&format!("\n── manual step `{step}` ──\n{instructions}\n"));
            let done = choose("Done? [d]one / [f]ailed: ", buf, cancel, |a| match a {
                "d" | "done" => Some(true),
                "f" | "fail" | "failed" => Some(false),
                _ => None,
            })?;
            if done {
                return Some(Ok(()));
            }
            let reason = ask_line("What went wrong? ", buf, cancel).ok()?;
            let reason = reason.trim();
            Some(Err(if reason.is_empty() { "marked failed".into() } else { reason.to_string() }))
        })
    }

    fn decide(
        &self,
        step: &str,
        undo: bool,
        retry: bool,
        cancel: &AtomicBool,
    ) -> Option<crate::journal::Decision> {
        let ask = crate::exec::DecideAsk {
            step: step.to_string(),
            undo,
            retry,
            ..crate::exec::DecideAsk::default()
        };
        self.decide_about(&ask, cancel)
    }

    fn decide_about(
        &self,
        ask: &crate::exec::DecideAsk,
        cancel: &AtomicBool,
    ) -> Option<crate::journal::Decision> {
        use crate::journal::Decision;
        let (step, undo, retry) = (ask.step.as_str(), ask.undo && !ask.was_done, ask.retry);
        exclusive(self.screen.as_ref(), cancel, |buf| {
            if let Some(why) = &ask.refusal {
                say(&format!("\n{why}\n"));
            }
            let question = if undo {
                say(&format!("\nthe rollback of step `{step}` was interrupted or waits for a person; it never runs twice.\n"));
                "Was it undone? [d]one / [f]ailed: "
            } else if ask.was_done {
                say(&format!("\nstep `{step}` failed after its action began, and the run rolls back: its effect may be in place.\n"));
                "Was it done anyway? [d]one (undo it) / [f]ailed (nothing to undo): "
            } else if retry {
                say(&format!("\nstep `{step}` was running when the runner stopped; it may have had effects.\n"));
                "[r]etry it / mark it [d]one / mark it [f]ailed: "
            } else {
                say(&format!("\nstep `{step}` was running when the runner stopped; it may have had effects.\n"));
                "the run is rolling back: mark it [d]one (it is undone) / [f]ailed: "
            };
            if let Some(p) = &ask.probe {
                say(&format!("its probe says the effect is {p}\n"));
            }
            choose(question, buf, cancel, |a| match a {
                "r" | "retry" if retry && !undo => Some(Decision::Retry),
                "d" | "done" => Some(Decision::Done),
                "f" | "fail" | "failed" => Some(Decision::Fail),
                _ => None,
            })
        })
    }

    fn discuss(&self, ask: &DiscussAsk, cancel: &AtomicBool) -> Option<DiscussAnswer> {
        exclusive(self.screen.as_ref(), cancel, |buf| {
            say(&discuss_card(ask));
            let answer = discuss_dialogue(ask, buf, cancel);
            if answer.is_none() && cancel.load(Ordering::SeqCst) {
                say("\n(answered elsewhere)\n");
            }
            answer
        })
    }

    fn approve(&self, ask: &ApprovalAsk, cancel: &AtomicBool) -> Option<ApprovalAnswer> {
        exclusive(self.screen.as_ref(), cancel, |buf| {
            say(&approval_card(ask));
            let answer = approval_dialogue(ask, buf, cancel);
            if answer.is_none() && cancel.load(Ordering::SeqCst) {
                say("\n(answered elsewhere)\n");
            }
            answer
        })
    }
}

/// The card shown before the approval questions.
pub fn approval_card(ask: &ApprovalAsk) -> String {
    let mut s = String::new();
    let title = ask.title.as_deref().map_or(String::new(), |t| format!(" — {t}"));
    s.push_str(&format!("\n── approval needed: step `{}`{title} ──\n", ask.step));
    if let Some(o) = &ask.owner {
        s.push_str(&format!("  owner     {o}\n"));
    }
    if let Some(e) = ask.expected_ms {
        s.push_str(&format!("  expected  {}\n", fmt_duration(e)));
    }
    let mut lines = ask.action.lines();
    s.push_str(&format!("  action    {}\n", lines.next().unwrap_or("")));
    for l in lines {
        s.push_str(&format!("            {l}\n"));
    }
    s.push_str(&format!("  budget    {}\n", ask.budget));
    for (role, members, by) in &ask.roles {
        let who = members.as_ref().map_or("anyone".to_string(), |m| m.join(", "));
        let state = by.as_ref().map_or("MISSING".to_string(), |b| format!("approved by {b}"));
        s.push_str(&format!("  role      {role:<16} {state:<24} (may approve: {who})\n"));
    }
    if let Some(r) = &ask.refusal {
        s.push_str(&format!("  refused:  {r}\n"));
    }
    s
}

/// The card a tabletop drill shows for a step: what it would do, nothing evaluated or run.
pub fn discuss_card(ask: &DiscussAsk) -> String {
    let mut s = String::new();
    let title = ask.title.as_deref().map_or(String::new(), |t| format!(" — {t}"));
    let finally = if ask.finally { " (finally step)" } else { "" };
    s.push_str(&format!("\n── tabletop: discuss step `{}`{title}{finally} ──\n", ask.step));
    let mut row = |label: &str, text: &str| {
        let mut lines = text.lines();
        s.push_str(&format!("  {label:<9} {}\n", lines.next().unwrap_or("")));
        for l in lines {
            s.push_str(&format!("            {l}\n"));
        }
    };
    row("owner", ask.owner.as_deref().unwrap_or("(none)"));
    row("expected", &ask.expected_ms.map_or("(no duration)".into(), fmt_duration));
    if !ask.needs.is_empty() {
        row("needs", &ask.needs.join(", "));
    }
    if let Some(w) = &ask.when {
        row("when", &format!("{w} (shown, not evaluated)"));
    }
    row("action", &ask.action);
    if !ask.approvals.is_empty() {
        row("approval", &format!("by {} (not asked: nothing runs)", ask.approvals.join(", ")));
    }
    row("rollback", ask.rollback.as_deref().unwrap_or("(none)"));
    if let Some(r) = &ask.refusal {
        row("refused:", r);
    }
    s
}

/// Ready or an issue found, then the update needed, the name and a comment.
fn discuss_dialogue(
    ask: &DiscussAsk,
    buf: &mut Vec<u8>,
    cancel: &AtomicBool,
) -> Option<DiscussAnswer> {
    let mut line =
        |q: &str| -> Option<String> { ask_line(q, buf, cancel).ok().map(|l| l.trim().to_string()) };
    let issue_found = loop {
        match line("[r]eady / [i]ssue found: ")?.to_ascii_lowercase().as_str() {
            "r" | "ready" | "y" | "yes" => break false,
            "i" | "issue" => break true,
            _ => {}
        }
    };
    let issue = if issue_found {
        loop {
            let r = line("Issue found (required): ")?;
            if !r.is_empty() {
                break Some(r);
            }
        }
    } else {
        None
    };
    let update = line("Runbook update needed (optional): ")?;
    let name = line(&format!("Your name [{}]: ", ask.default_name))?;
    let by = if name.is_empty() { ask.default_name.clone() } else { name };
    let comment = if issue.is_none() { line("Comment (optional): ")? } else { String::new() };
    Some(DiscussAnswer {
        by,
        issue,
        update: (!update.is_empty()).then_some(update),
        comment: (!comment.is_empty()).then_some(comment),
    })
}

/// Approve or deny, then name, role and comment (or reason).
fn approval_dialogue(
    ask: &ApprovalAsk,
    buf: &mut Vec<u8>,
    cancel: &AtomicBool,
) -> Option<ApprovalAnswer> {
    let mut line =
        |q: &str| -> Option<String> { ask_line(q, buf, cancel).ok().map(|l| l.trim().to_string()) };
    let deny = loop {
        match line("[a]pprove / [d]eny: ")?.to_ascii_lowercase().as_str() {
            "a" | "approve" | "y" | "yes" => break false,
            "d" | "deny" | "n" | "no" => break true,
            _ => {}
        }
    };
    let name = line(&format!("Your name [{}]: ", ask.default_name))?;
    let by = if name.is_empty() { ask.default_name.clone() } else { name };
    if deny {
        let reason = loop {
            let r = line("Reason (required): ")?;
            if !r.is_empty() {
                break r;
            }
        };
        return Some(ApprovalAnswer::Deny { by, reason });
    }
    let missing: Vec<&str> =
        ask.roles.iter().filter(|(_, _, b)| b.is_none()).map(|(r, _, _)| r.as_str()).collect();
    let role = if missing.len() > 1 {
        let r = line(&format!("Role ({}) [first you may hold]: ", missing.join(" / ")))?;
        (!r.is_empty()).then_some(r)
    } else {
        None
    };
    let comment = line("Comment (optional): ")?;
    Some(ApprovalAnswer::Approve { by, role, comment: (!comment.is_empty()).then_some(comment) })
}
