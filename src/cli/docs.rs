//! `drbook completions SHELL` and `drbook man`: shell completion scripts (clap_complete) and
//! man pages (clap_mangen), both generated from the one clap definition in `args.rs`, so they
//! always name the real subcommands and flags.

use super::args::Cli;
use super::outcome::{CliError, Outcome};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;
use std::path::Path;

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: Shell) -> Result<Outcome, CliError> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "drbook", &mut out);
    write_stdout(&out)?;
    Ok(Outcome::Succeeded)
}

/// Writes `drbook.1` to stdout, or, with `dir`, `drbook.1` and one `drbook-COMMAND.1` per
/// subcommand into `dir` (created if missing), and names the files written.
pub fn man(dir: Option<&Path>) -> Result<Outcome, CliError> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        let mut out = Vec::new();
        render(&cmd, &mut out)?;
        write_stdout(&out)?;
        return Ok(Outcome::Succeeded);
    };
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        CliError::Failed(format!("cannot {what} `{}`: {e}", p.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("create", dir, e))?;
    let mut pages = vec![("drbook".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("drbook-{}", sub.get_name());
        let synopsis = format!("drbook {}", sub.get_name());
        pages.push((name.clone(), sub.clone().display_name(name).bin_name(synopsis)));
    }
    for (name, page) in pages {
        let mut out = Vec::new();
        render(&page, &mut out)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, out).map_err(|e| fail("write", &path, e))?;
        println!("{}", path.display());
    }
    Ok(Outcome::Succeeded)
}

fn render(cmd: &clap::Command, out: &mut Vec<u8>) -> Result<(), CliError> {
    clap_mangen::Man::new(cmd.clone())
        .render(out)
        .map_err(|e| CliError::Failed(format!("cannot render the man page: {e}")))
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        // `drbook completions bash | head` closes the pipe early: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Failed(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}
