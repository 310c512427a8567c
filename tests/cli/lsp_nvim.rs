//! `drbook lsp` under a real editor: Neovim's built-in LSP client, run headless by
//! `tests/nvim/lsp_client.lua`, opens a runbook, waits for its diagnostics, asks for hover,
//! definition, completion, symbols and formatting, types a misspelt step id and takes the
//! quick fix. Without Neovim (Debian package `neovim`, which .ci/run installs) the test says
//! SKIPPED; with `DRBOOK_NVIM` set it fails instead when Neovim cannot be run.

use crate::{crate_root, head};
use std::path::PathBuf;
use std::process::Command;

/// The Neovim to use: `DRBOOK_NVIM` (which must work), else `nvim` on PATH, else none, said.
fn nvim() -> Option<PathBuf> {
    let works =
        |p: &PathBuf| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success());
    if let Some(path) = std::env::var_os("DRBOOK_NVIM") {
        let path = PathBuf::from(path);
        assert!(works(&path), "DRBOOK_NVIM={} cannot be run", path.display());
        return Some(path);
    }
    let path = PathBuf::from("nvim");
    if works(&path) {
        return Some(path);
    }
    eprintln!("SKIPPED: nvim not installed (Debian package `neovim`)");
    None
}

#[test]
fn neovim_gets_diagnostics_hover_definition_completion_and_a_quick_fix() {
    let Some(nvim) = nvim() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let runbook = dir.path().join("failover.drbook");
    std::fs::copy(crate_root().join("tests/fixtures/lsp/failover.drbook"), &runbook).expect("copy");
    let log = dir.path().join("lsp.log");
    let script = crate_root().join("tests/nvim/lsp_client.lua");
    let out = Command::new(&nvim)
        .args(["--headless", "--clean", "-u", "NONE", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .current_dir(dir.path())
        .env("DRBOOK_BIN", env!("CARGO_BIN_EXE_drbook"))
        .env("DRBOOK_RUNBOOK", &runbook)
        .env("DRBOOK_LSP_LOG", &log)
        // No user configuration, state or cache is read or written.
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .output()
        .expect("run nvim");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let server = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success() && text.contains("PASS"),
        "nvim exited {:?}\n--- nvim\n{}\n--- drbook lsp stderr\n{}",
        out.status.code(),
        head(&text, 8000),
        head(&server, 4000)
    );
    assert!(text.contains("ok: a quick fix offers `restore`"), "{text}");
}
