//! Table tests of check findings on small runbooks written as text: which codes come out, and
//! what their help says.

use super::{check, Options};
use crate::diag::Diagnostic;
use crate::load::load_text;
use crate::model::Date;

fn diags(src: &str) -> Vec<Diagnostic> {
    let mut loaded = load_text("t.drbook", None, src.into());
    let opts = Options {
        today: Date { year: 2026, month: 11, day: 23 },
        params: Vec::new(),
        require_params: false,
        strict: false,
    };
    check(&mut loaded, &opts).diags
}

fn codes(src: &str) -> Vec<&'static str> {
    diags(src).into_iter().map(|d| d.code).collect()
}

/// A runbook with one `run` step around `script` (written as the inside of a `"""` string).
fn with_script(script: &str) -> String {
    format!(
        "runbook \"t\" {{\n  owner \"o\"\n  rto 1h\n  param x = \"v\"\n  step a {{\n    duration 1m\n    idempotent\n    run \"\"\"\n{script}\n\"\"\"\n  }}\n}}\n"
    )
}

#[test]
fn quoted_interpolation_only_where_the_shell_quotes() {
    let lint = "drbook::lint::quoted_interpolation";
    let table: &[(&str, bool)] = &[
        ("echo '${x}'", true),
        ("echo \"${x}\"", true),
        ("echo \"a ${x} b\"", true),
        ("echo ${x}", false),
        ("# don't panic\necho ${x}", false),
        ("echo hi # it's fine\necho ${x}", false),
        ("echo \"$(cat ${x})\"", false),
        ("echo \"$(printf '%s' ${x})\"", false),
        ("echo \"$(cat ${x})\" \"${x}\"", true),
        ("echo \"$(echo '${x}')\"", true),
        ("echo a#b '${x}'", true),
        ("echo \\'${x}", false),
    ];
    for (script, warns) in table {
        let found = codes(&with_script(script)).contains(&lint);
        assert_eq!(found, *warns, "script {script:?}");
    }
}
