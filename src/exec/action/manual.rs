//! The `manual` action: nothing runs; the instructions, rendered, go to a person (the
//! executor's person loop asks at the terminal or waits for `drbook approve|deny`).

use super::env::{ActionEnv, Attempt};
use crate::model::Text;

pub(super) fn run(env: &ActionEnv<'_>, instructions: &Text) -> Attempt {
    match env.vals.render(instructions, false) {
        Ok(text) => Attempt::Person(text),
        Err(e) => Attempt::Failed(e),
    }
}
