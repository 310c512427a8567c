//! Opening files inside a state dir (and the files drbook writes for people: reports, `fmt`'s
//! output) without ever following a symbolic link.
//!
//! Input: paths drbook itself built. Output: opened files, or an error that names the link.
//!
//! Invariants: every open adds `O_NOFOLLOW` (a link at the last component fails with `ELOOP`,
//! reported as [`linked`]); new files are created with `O_EXCL` where they must be new;
//! directories drbook creates or reuses are checked with `lstat`, so a link planted in place of
//! `logs/` or `inbox/` is refused too; atomic writes go through a temporary file with a random
//! name in the target's own directory, created `O_EXCL`, and refuse a link at the target. A
//! refused link is never written through and its target never touched.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The error for a symbolic link found where drbook opens a file or directory.
pub fn linked(path: &Path) -> io::Error {
    io::Error::other(format!(
        "`{}` is a symbolic link, which drbook never follows here; nothing was written through it",
        path.display()
    ))
}

/// Whether `e` is what `O_NOFOLLOW` gives for a link (`ELOOP`).
fn is_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(nix::libc::ELOOP)
}

/// `Err` when `path` is a symbolic link; `Ok` when it is anything else or absent.
pub fn refuse_link(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(linked(path)),
        _ => Ok(()),
    }
}

/// Opens `path` with `opts` and `O_NOFOLLOW`; a link there is [`linked`].
pub fn open(opts: &mut OpenOptions, path: &Path) -> io::Result<File> {
    opts.custom_flags(nix::libc::O_NOFOLLOW).open(path).map_err(|e| {
        if is_loop(&e) {
            linked(path)
        } else {
            e
        }
    })
}

/// Opens `path` for appending, creating it owner-only (0600), never through a link.
pub fn append(path: &Path) -> io::Result<File> {
    open(OpenOptions::new().create(true).append(true).mode(0o600), path)
}

/// Reads all of `path`, never through a link.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = open(OpenOptions::new().read(true), path)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Creates directory `path` (`mode`) if it is missing; an existing one must be a real
/// directory, not a link to one.
pub fn dir(path: &Path, mode: u32) -> io::Result<()> {
    match DirBuilder::new().mode(mode).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let m = fs::symlink_metadata(path)?;
            if m.file_type().is_symlink() {
                Err(linked(path))
            } else if !m.is_dir() {
                Err(io::Error::new(io::ErrorKind::NotADirectory, "not a directory"))
            } else {
                Ok(())
            }
        }
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` readable by its owner only (0600: a report names people, errors
/// and captured values), never through a symbolic link planted at `path`.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = open(OpenOptions::new().write(true).create(true).truncate(true).mode(0o600), path)?;
    // An existing file keeps its mode on open: narrow it.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// 16 random hex digits (from `/dev/urandom`; the clock and pid if it cannot be read).
fn random_hex() -> String {
    let mut buf = [0u8; 8];
    if File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        buf = (nanos ^ (u64::from(std::process::id()) << 32)).to_le_bytes();
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new, empty file `.<name>.<random>.tmp` next to `path`, created `O_EXCL` with `mode`.
pub fn temp_beside(path: &Path, mode: u32) -> io::Result<(PathBuf, File)> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tries = 0;
    loop {
        let tmp = dir.join(format!(".{name}.{}.tmp", random_hex()));
        match open(OpenOptions::new().write(true).create_new(true).mode(mode), &tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Replaces `path` with `bytes` atomically and durably (a fresh temporary file beside it,
/// fsync, rename, fsync of the directory), refusing a link at `path`. `mode` is the new file's.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    refuse_link(path)?;
    let (tmp, mut f) = temp_beside(path, mode)?;
    let done = f.write_all(bytes).and_then(|()| f.sync_all()).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = done {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_open_goes_through_a_link_and_its_target_is_untouched() {
        let d = tempfile::tempdir().expect("tempdir");
        let target = d.path().join("target");
        fs::write(&target, "mine\n").expect("write");
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let named = |e: io::Error| assert!(e.to_string().contains("symbolic link"), "{e}");
        named(append(&link).expect_err("append"));
        named(read(&link).expect_err("read"));
        named(write_private(&link, b"x").expect_err("write_private"));
        named(write_atomic(&link, b"x", 0o600).expect_err("write_atomic"));
        named(dir(&link, 0o700).expect_err("dir"));
        assert_eq!(fs::read_to_string(&target).expect("read"), "mine\n");
        write_atomic(&d.path().join("new"), b"ok", 0o600).expect("atomic write");
        assert_eq!(fs::read(d.path().join("new")).expect("read"), b"ok");
    }
}
