//! JSON renderer: the [`Plan`] as one pretty-printed object and a newline. CI and editors
//! consume it, so the shape is the `Plan` struct's field names and nothing else.
//!
//! Output is streamed into the writer (no intermediate `String`), so a 100,000-step plan
//! costs one pass.

use std::io::{self, BufWriter, Write};

use super::Plan;

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::new(out);
    serde_json::to_writer_pretty(&mut w, plan)?;
    writeln!(w)?;
    w.flush()
}
