//! The header's `approvals typed | os | signed` and `signers "./allowed_signers"`, and the
//! checks on them: `signed` needs `signers`; the file must exist and parse; a two-person gate
//! left to the default `typed` is a warning (a typed name proves nothing); an explicit
//! `approvals typed` says the weaker mode is meant.

use super::cx::Cx;
use crate::diag::{Diagnostic, Span};
use crate::journal::sign::Signers;
use crate::model::{ApprovalMode, Runbook};
use crate::syntax::ast;

const MODES: &[&str] = &["typed", "os", "signed"];

/// `approvals typed | os | signed`.
pub fn mode(cx: &mut Cx, v: &ast::Value) -> Option<ApprovalMode> {
    Some(match cx.choice(v, "approvals", MODES)?.as_str() {
        "os" => ApprovalMode::Os,
        "signed" => ApprovalMode::Signed,
        _ => ApprovalMode::Typed,
    })
}

/// `signers "./allowed_signers"`: the file (relative to the runbook), read and parsed.
pub fn signers(cx: &mut Cx, v: &ast::Value) -> Option<String> {
    let rel = cx.plain(v, "signers")?;
    let path = match &cx.base_dir {
        Some(d) => d.join(&rel),
        None => rel.clone().into(),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            cx.error(
                Diagnostic::error(
                    "drbook::check::signers_unreadable",
                    v.span,
                    format!("cannot read the signers file `{rel}`: {e}"),
                )
                .label("an OpenSSH allowed_signers file, relative to the runbook")
                .help("create it with one line per approver: `alice ssh-ed25519 AAAA...`"),
            );
            return None;
        }
    };
    if let Err((line, why)) = Signers::parse(&text) {
        cx.error(
            Diagnostic::error(
                "drbook::check::bad_signers",
                v.span,
                format!("the signers file `{rel}` does not parse: line {line}: {why}"),
            )
            .label("this file")
            .help("each line: PRINCIPALS [namespaces=\"drbook\"] KEYTYPE BASE64 [COMMENT]"),
        );
        return None;
    }
    Some(text)
}

/// After the header is read: `signed` without `signers`, and two-person gates left `typed`.
pub fn lint(cx: &mut Cx, rb: &Runbook, header: Span, approvals_span: Option<Span>) {
    if rb.approvals == ApprovalMode::Signed && rb.signers.is_none() {
        cx.error(
            Diagnostic::error(
                "drbook::check::signed_without_signers",
                approvals_span.unwrap_or(header),
                "`approvals signed` needs a `signers` file",
            )
            .label("whose signatures count?")
            .help("add `signers \"./allowed_signers\"` to the runbook header"),
        );
    }
    // An explicit `approvals typed` says the weaker mode is meant; only the default warns.
    if rb.approvals != ApprovalMode::Typed || approvals_span.is_some() {
        return;
    }
    for s in &rb.steps {
        let Some(a) = &s.approval else { continue };
        if a.roles.len() >= 2 {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::typed_two_person",
                    s.span,
                    format!(
                        "step `{}` needs {} people, but approvals default to `typed`, which trusts a typed name",
                        s.id,
                        a.roles.len()
                    ),
                )
                .label("one person can approve as anyone")
                .help(
                    "write `approvals signed` (with `signers`) or `approvals os` in the header, or `approvals typed` if a typed name is enough",
                ),
            );
        }
    }
}
