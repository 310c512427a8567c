//! Read-only copies of the bundled `std/` modules, so an editor can open the definition of a
//! standard template. They live in the user's cache directory (`$XDG_CACHE_HOME`, else
//! `~/.cache`), under `drbook/std/VERSION/`, in a directory only the user can enter (never a
//! shared `/tmp` path someone else could plant), with files made read-only.

use super::text::path_uri;
use lsp_types::Uri;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;

fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("drbook").join("std").join(env!("CARGO_PKG_VERSION")))
}

/// The URI of the copy of module `name` (`std/http`) holding `text`, written when missing or
/// different; `None` when it cannot be written.
pub fn uri(name: &str, text: &str) -> Option<Uri> {
    uri_in(&cache_dir()?, name, text)
}

/// [`uri`] with the copies in `dir`.
pub fn uri_in(dir: &std::path::Path, name: &str, text: &str) -> Option<Uri> {
    let module = name.strip_prefix("std/")?;
    if module.is_empty()
        || !module.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).ok()?;
    let path = dir.join(format!("{module}.drbook"));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        let (tmp, mut f) = crate::journal::fsx::temp_beside(&path, 0o600).ok()?;
        let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
        let done = written
            .and_then(|()| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o444)))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return None;
        }
    }
    path_uri(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundled_module_is_copied_read_only_and_rewritten_when_it_changes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("std");
        let uri = uri_in(&dir, "std/http", "template a() {}\n").expect("copied");
        let path = crate::lsp::text::uri_path(&uri).expect("a file uri");
        assert_eq!(path, dir.join("http.drbook"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "template a() {}\n");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o444, "{mode:o}");
        let dir_mode = std::fs::metadata(&dir).expect("meta").permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700, "{dir_mode:o}");
        uri_in(&dir, "std/http", "template b() {}\n").expect("rewritten");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "template b() {}\n");
        assert!(uri_in(&dir, "std/../x", "").is_none());
        assert!(uri_in(&dir, "./local.drbook", "").is_none());
    }
}
