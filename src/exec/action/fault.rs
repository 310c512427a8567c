//! Test-only fault switches: the runner kills itself at a named point, so tests can prove
//! what a crash there leaves behind. Off unless `DRBOOK_TEST_KILL` is set.

/// Test-only fault switch (`DRBOOK_TEST_KILL=POINT:STEP`): the runner kills itself with
/// SIGKILL at `point` of step `step`'s attempt, to prove what a crash there leaves behind.
/// Points: `after_spawn` (the step's process exists, nothing about it is journaled yet),
/// `after_go` (its record is durable and the script was released) and `after_exit` (the
/// script ended, its end is not journaled yet: it acted, and the journal says it is running).
pub(crate) fn crash_point(point: &str, step: &str) {
    static WANTED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("DRBOOK_TEST_KILL").ok());
    if let Some(w) = wanted {
        if w.split_once(':') == Some((point, step)) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::SIGKILL);
        }
    }
}
