//! The command a person types to act on a run again, as drbook was started: the program path
//! it was invoked by (`target/release/drbook` after `cargo run --release`, `./drbook`, or
//! `drbook` found on `PATH`) and `--state-dir` when the state dir is not the default. Every
//! `drbook resume …` suggestion is built from it, so it can be pasted as printed.

use crate::exec::Invocation;
use crate::model::shell_word;
use std::path::Path;

/// How this process was invoked, for commands run on `state_dir`.
pub fn invocation(state_dir: &Path) -> Invocation {
    let program = std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .map_or_else(|| "drbook".to_string(), |a| program_word(&a));
    let state_dir =
        (state_dir != Path::new(".drbook")).then(|| shell_word(&state_dir.display().to_string()));
    Invocation { program, state_dir }
}

/// `argv[0]` as a shell word that starts the same program. A bare name was found on `PATH`
/// and is kept; a path is kept as given (relative to the directory the person is in), unless
/// it no longer exists, when the running executable's own path is used.
fn program_word(argv0: &str) -> String {
    let path = if argv0.contains('/') && !Path::new(argv0).exists() {
        std::env::current_exe().map_or_else(|_| argv0.to_string(), |p| p.display().to_string())
    } else {
        argv0.to_string()
    };
    shell_word(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_kept_and_quoted_when_needed() {
        assert_eq!(program_word("drbook"), "drbook");
        assert_eq!(program_word("/bin/sh"), "/bin/sh");
        let exe = std::env::current_exe().expect("the test binary's path");
        assert_eq!(program_word("/no/such/dir/drbook"), shell_word(&exe.display().to_string()));
    }

    #[test]
    fn the_state_dir_is_named_only_when_not_the_default() {
        assert_eq!(invocation(Path::new(".drbook")).state_dir, None);
        let inv = invocation(Path::new("/srv/dr state"));
        assert_eq!(inv.state_dir.as_deref(), Some("'/srv/dr state'"));
        assert!(inv.command("resume r1").ends_with(" resume r1 --state-dir '/srv/dr state'"));
    }
}
