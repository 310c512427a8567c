//! The source map: every file that was read (runbooks, imports, bundled stdlib modules) with
//! its text, and byte spans into them. Line and column numbers are computed here, 1-based,
//! counting columns in characters.

use std::path::PathBuf;
use std::sync::Arc;

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one file. Spans compare equal to each other regardless of position, so that
/// AST nodes compare by structure (the formatter's round-trip test relies on it); compare the
/// fields to test positions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start: clamp(start), end: clamp(end) }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A file's text, shared by every stage and thread that reads it. It is made from a `String`
/// without copying it: an `Arc<str>` would copy the whole file once more, which for a large
/// runbook costs as much fresh memory as the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceText(Arc<String>);

impl std::ops::Deref for SourceText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for SourceText {
    fn from(s: String) -> SourceText {
        SourceText(Arc::new(s))
    }
}

impl From<&str> for SourceText {
    fn from(s: &str) -> SourceText {
        SourceText(Arc::new(s.to_string()))
    }
}

/// One file's text and the name it is shown under.
#[derive(Debug)]
pub struct SourceFile {
    /// Shown in diagnostics: the path as given, or `std/NAME` for bundled modules.
    pub name: String,
    /// Where it lives on disk, if anywhere (bundled modules have none).
    pub path: Option<PathBuf>,
    pub text: SourceText,
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(name: String, path: Option<PathBuf>, text: SourceText) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| clamp(i + 1)));
        SourceFile { name, path, text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&clamp(offset)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// Byte range of the 1-based line containing `offset`, without its newline.
    pub fn line_range(&self, offset: usize) -> std::ops::Range<usize> {
        let (line, _) = self.line_col(offset);
        let start = self.line_starts[line - 1] as usize;
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e as usize - 1);
        start..end.max(start)
    }
}

/// All files of one invocation.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    pub fn add(&mut self, name: String, path: Option<PathBuf>, text: SourceText) -> FileId {
        self.files.push(SourceFile::new(name, path, text));
        FileId(clamp(self.files.len() - 1))
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        self.files.get(id.0 as usize).expect("invariant: FileId comes from this Sources")
    }

    pub fn text(&self, span: Span) -> &str {
        self.get(span.file).text.get(span.range()).unwrap_or("")
    }

    pub fn find(&self, path: &std::path::Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path.as_deref() == Some(path)).map(|i| FileId(clamp(i)))
    }

    /// Every file, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = FileId> {
        (0..self.files.len()).map(|i| FileId(clamp(i)))
    }

    pub fn find_name(&self, name: &str) -> Option<FileId> {
        self.files.iter().position(|f| f.name == name).map(|i| FileId(clamp(i)))
    }
}
