//! Positions as the protocol counts them (line, UTF-16 code unit) and byte offsets as drbook
//! counts them, both ways; and document URIs to paths and back (through `url`).

use lsp_types::{Position, Range, Uri};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Line starts of one text, for converting offsets and positions.
#[derive(Debug, Clone)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Lines { starts }
    }

    /// The protocol position of byte `offset` (clamped to the text, and back to a character
    /// boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = text[start..offset].encode_utf16().count();
        Position::new(clamp(line), clamp(col))
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end.max(start)))
    }

    /// The byte offset of a protocol position: past the end of a line is its end, past the
    /// last line is the end of the text.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else { return text.len() };
        let end = self.starts.get(pos.line as usize + 1).map_or(text.len(), |&e| e - 1);
        let mut units = 0u32;
        for (i, c) in text[start..end].char_indices() {
            if units >= pos.character {
                return start + i;
            }
            units += c.len_utf16() as u32;
        }
        end
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The file a `file:` URI names; `None` for other schemes.
pub fn uri_path(uri: &Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

/// The `file:` URI of an absolute path.
pub fn path_uri(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(path).ok()?;
    Uri::from_str(url.as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_round_trip_through_utf16() {
        let text = "ab\nx😀y\n\nlast";
        let lines = Lines::new(text);
        for (offset, line, col) in
            [(0, 0, 0), (2, 0, 2), (3, 1, 0), (4, 1, 1), (8, 1, 3), (10, 2, 0)]
        {
            assert_eq!(lines.position(text, offset), Position::new(line, col), "offset {offset}");
            assert_eq!(lines.offset(text, Position::new(line, col)), offset, "{line}:{col}");
        }
        // Inside the emoji's bytes: back to its start.
        assert_eq!(lines.position(text, 5), Position::new(1, 1));
        // Past the end of a line, past the last line.
        assert_eq!(lines.offset(text, Position::new(0, 99)), 2);
        assert_eq!(lines.offset(text, Position::new(99, 0)), text.len());
    }

    #[test]
    fn file_uris_and_paths_convert_both_ways() {
        let p = Path::new("/tmp/a dir/r ü.drbook");
        let uri = path_uri(p).expect("uri");
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/r%20%C3%BC.drbook");
        assert_eq!(uri_path(&uri).as_deref(), Some(p));
        let other = Uri::from_str("untitled:Untitled-1").expect("uri");
        assert_eq!(uri_path(&other), None);
    }
}
