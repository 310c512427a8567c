//! Formatter placeholder, replaced by the real formatter.
pub fn format(text: &str, _parsed: &super::Parsed) -> String {
    text.to_string()
}
