//! A state dir nobody else controls (issue 11 §2, like git's `safe.directory` and OpenSSH's
//! `StrictModes`). `resume` runs the runbook a journal names, and a journal says who approved:
//! whoever can write the state dir, a run dir or a journal can make drbook run anything and
//! claim anything. So before anything in it is read, [`check`] requires that the state dir,
//! its `runs/`, the run's directory, its journal and its lock are each owned by the account
//! drbook runs as and writable by nobody else (no group or world write bit). A symlink in
//! their place is refused too.
//!
//! The shared-group layout keeps to these rules: the state dir may be shared with a group
//! (setgid, group-readable), but only each run's `inbox/` is group-writable, and it is not
//! checked here: what lies in it is parsed as untrusted input (`inbox.rs`).

use super::JournalError;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Refuses `path` unless it is owned by this process's account and not group- or
/// world-writable. `follow`: whether a symlink at `path` is followed (only the state dir
/// itself, which a person names, may be reached through one). A missing path passes: there
/// is nothing to trust yet, and whoever creates it creates it owner-only.
pub(super) fn check(path: &Path, follow: bool) -> Result<(), JournalError> {
    let meta = if follow { fs::metadata(path) } else { fs::symlink_metadata(path) };
    let meta = match meta {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(JournalError::io(path, e)),
    };
    let me = nix::unistd::geteuid().as_raw();
    let mode = meta.mode() & 0o7777;
    let why = if meta.file_type().is_symlink() {
        Some("it is a symbolic link".to_string())
    } else if meta.uid() != me {
        Some(format!(
            "it is owned by {}, not by {} (who runs drbook)",
            account(meta.uid()),
            account(me)
        ))
    } else if mode & 0o022 != 0 {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "its group and everyone",
            (true, false) => "its group",
            _ => "everyone",
        };
        Some(format!("its mode {mode:04o} lets {who} write it"))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(JournalError::Untrusted {
            path: path.to_path_buf(),
            why,
            fix: fix(path, &meta, me),
        }),
    }
}

/// `uid 1001 (bob)`.
fn account(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => format!("uid {uid} ({})", u.name),
        _ => format!("uid {uid}"),
    }
}

fn fix(path: &Path, meta: &fs::Metadata, me: u32) -> String {
    let p = path.display();
    if meta.file_type().is_symlink() {
        format!("remove the symlink `{p}`, or pass the real directory with `--state-dir`")
    } else if meta.uid() != me {
        let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(me))
            .ok()
            .flatten()
            .map_or_else(|| me.to_string(), |u| u.name);
        format!(
            "run drbook as the account that owns it, or take it over (`chown -R {name} {p}`) \
             if you trust everything in it"
        )
    } else {
        format!("`chmod go-w {p}` once you have checked nobody changed what is in it")
    }
}
