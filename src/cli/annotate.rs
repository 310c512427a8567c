//! `check --format github` and `check --format sarif`: diagnostics as CI systems and code
//! scanning read them. Both render the [`JsonDiagnostic`]s of `--format json`, so the three
//! formats always carry the same facts and positions.
//!
//! GitHub workflow commands are one line each; their properties and message are escaped as the
//! runner requires (`%`, `\r`, `\n`, and in properties also `:` and `,`), after control
//! characters are made visible like in every text shown to people. SARIF is 2.1.0, one run,
//! one rule per diagnostic code used.

use super::report::JsonDiagnostic;
use crate::diag::escape::escape;
use crate::diag::Severity;
use serde_json::{json, Value};

/// The `$schema` of a SARIF 2.1.0 log: the schema's own id.
const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The value of a workflow command's message.
fn escape_data(s: &str) -> String {
    let s = s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    escape(&s).into_owned()
}

/// The value of a workflow command's property (`file=`, `title=`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` or `::warning` command line per diagnostic, each ending in a newline.
pub fn github(diags: &[JsonDiagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        out.push_str(&format!(
            "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(&d.file),
            d.line,
            d.column,
            d.end_line,
            d.end_column,
            escape_property(d.code),
            escape_data(&message),
        ));
    }
    out
}

/// A file name as a relative URI reference: every byte outside the unreserved set and `/`
/// percent-encoded.
fn uri(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn location(file: &str, line: usize, column: usize, end_line: usize, end_column: usize) -> Value {
    let mut artifact = json!({ "uri": uri(file) });
    if !file.starts_with('/') {
        artifact["uriBaseId"] = json!("%SRCROOT%");
    }
    json!({
        "artifactLocation": artifact,
        "region": {
            "startLine": line,
            "startColumn": column,
            "endLine": end_line,
            "endColumn": end_column,
        },
    })
}

/// A SARIF 2.1.0 log of one run.
pub fn sarif(diags: &[JsonDiagnostic]) -> Value {
    let mut codes: Vec<&'static str> = Vec::new();
    let mut rules = Vec::new();
    for d in diags {
        if codes.contains(&d.code) {
            continue;
        }
        codes.push(d.code);
        let mut rule = json!({ "id": d.code, "shortDescription": { "text": d.code } });
        // The help of the code's first diagnostic that has one.
        if let Some(h) = diags.iter().filter(|x| x.code == d.code).find_map(|x| x.help.as_ref()) {
            rule["help"] = json!({ "text": h });
        }
        rules.push(rule);
    }
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let related: Vec<Value> = d
                .labels
                .iter()
                .filter(|l| !l.primary)
                .enumerate()
                .map(|(i, l)| {
                    json!({
                        "id": i,
                        "message": { "text": l.message },
                        "physicalLocation":
                            location(&l.file, l.line, l.column, l.end_line, l.end_column),
                    })
                })
                .collect();
            let mut message = d.message.clone();
            if let Some(h) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(h);
            }
            let mut r = json!({
                "ruleId": d.code,
                "ruleIndex": codes.iter().position(|c| *c == d.code),
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": { "text": message },
                "locations": [{
                    "physicalLocation":
                        location(&d.file, d.line, d.column, d.end_line, d.end_column),
                }],
            });
            if !related.is_empty() {
                r["relatedLocations"] = json!(related);
            }
            r
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "drbook",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            } },
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escapes_what_the_runner_would_parse() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("drbook::check::x, y%"), "drbook%3A%3Acheck%3A%3Ax%2C y%25");
        // A terminal escape from the input is shown, not obeyed.
        assert_eq!(escape_data("a\u{1b}[2Kb"), "a\\e[2Kb");
    }

    #[test]
    fn sarif_uris_are_percent_encoded() {
        assert_eq!(uri("dir/my runbook#1.drbook"), "dir/my%20runbook%231.drbook");
    }
}
