//! Actions → [`model::Action`], with their options checked (LANGUAGE.md §5).

use super::cx::Cx;
use super::names::{self, At};
use crate::diag::{suggest, Diagnostic, Span};
use crate::model::{self, SsmTargets, Text};
use crate::syntax::ast::{self, ActionKind, HttpItem, SsmItem, Value, ValueKind};

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

pub fn action(cx: &mut Cx, a: &ast::Action, at: At) -> Option<model::Action> {
    let text =
        |cx: &mut Cx, v: &Value, what: &str| cx.string(v, what).map(|s| names::text(cx, s, at));
    if matches!(
        a.kind,
        ActionKind::SsmPut { .. }
            | ActionKind::SsmCommand { .. }
            | ActionKind::SsmAutomation { .. }
    ) {
        aws_available(cx, a.span);
    }
    Some(match &a.kind {
        ActionKind::Run(v) => {
            let script = text(cx, v, "run")?;
            if let ValueKind::Str(s) = &v.kind {
                super::lints::quoted_interpolation(cx, s);
                super::reparse::reparsed_interpolation(cx, s);
            }
            model::Action::Run { script }
        }
        ActionKind::Wait(v) => model::Action::Wait { millis: cx.duration(v, "wait")? },
        ActionKind::Manual(v) => model::Action::Manual { instructions: text(cx, v, "manual")? },
        ActionKind::Notify { url, text: msg } => {
            let url = text(cx, url, "notify URL");
            let msg = text(cx, msg, "notify message");
            model::Action::Notify { url: url?, text: msg? }
        }
        ActionKind::SsmPut { name, value, secure } => {
            let n = text(cx, name, "ssm put name");
            let v = text(cx, value, "ssm put value");
            model::Action::SsmPut { name: n?, value: v?, secure: *secure }
        }
        ActionKind::Http { method, url, options } => http(cx, method, url, options.as_ref(), at)?,
        ActionKind::SsmCommand { document, options } => {
            ssm(cx, a.span, document, options.as_ref(), at, true)?
        }
        ActionKind::SsmAutomation { document, options } => {
            ssm(cx, a.span, document, options.as_ref(), at, false)?
        }
    })
}

fn http(
    cx: &mut Cx,
    method: &ast::Ident,
    url: &Value,
    options: Option<&ast::Block<HttpItem>>,
    at: At,
) -> Option<model::Action> {
    let upper = method.name.to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        let help = suggest(&upper, METHODS.iter().copied())
            .unwrap_or_else(|| format!("use one of: {}", METHODS.join(", ")));
        cx.error(
            Diagnostic::error(
                "drbook::check::bad_method",
                method.span,
                format!("unknown HTTP method `{}`", method.name),
            )
            .label("not an HTTP method")
            .help(help),
        );
    }
    let url = cx.string(url, "http URL").map(|s| names::text(cx, s, at));
    let mut headers = Vec::new();
    let mut body = None;
    let mut status = vec![(200, 299)];
    let mut body_contains = None;
    let mut seen: Vec<(String, Span)> = Vec::new();
    for item in options.map_or(&[][..], |o| &o.items[..]) {
        match item {
            HttpItem::Header(k, v, _) => {
                let k = cx.string(k, "header name").map(|s| names::text(cx, s, at));
                let v = cx.string(v, "header value").map(|s| names::text(cx, s, at));
                if let (Some(k), Some(v)) = (k, v) {
                    headers.push((k, v));
                }
            }
            HttpItem::Attr(kw, v) => {
                if let Some((_, first)) = seen.iter().find(|(n, _)| *n == *kw.name) {
                    cx.error(
                        Diagnostic::error(
                            "drbook::check::duplicate_attribute",
                            kw.span,
                            format!("`{}` given twice", kw.name),
                        )
                        .label("second one")
                        .related(*first, "first one here")
                        .help("keep one of them"),
                    );
                    continue;
                }
                seen.push((kw.name.to_string(), kw.span));
                match &*kw.name {
                    "body" => body = cx.string(v, "body").map(|s| names::text(cx, s, at)),
                    "body_contains" => {
                        body_contains =
                            cx.string(v, "body_contains").map(|s| names::text(cx, s, at))
                    }
                    _ => status = status_spec(cx, v).unwrap_or(status),
                }
            }
        }
    }
    Some(model::Action::Http { method: upper, url: url?, headers, body, status, body_contains })
}

fn status_spec(cx: &mut Cx, v: &Value) -> Option<Vec<(u16, u16)>> {
    let code = |cx: &mut Cx, n: i64, span: Span| -> Option<u16> {
        if (100..=599).contains(&n) {
            return u16::try_from(n).ok();
        }
        cx.error(
            Diagnostic::error(
                "drbook::check::bad_status",
                span,
                format!("`{n}` is not an HTTP status code"),
            )
            .label("expected 100 to 599")
            .help("write `status 200`, `status [200, 204]` or `status 200..299`"),
        );
        None
    };
    match &v.kind {
        ValueKind::Int(n) => code(cx, *n, v.span).map(|c| vec![(c, c)]),
        ValueKind::Placeholder(_) => {
            let n = cx.integer(v, "status", 100)?;
            code(cx, n, v.span).map(|c| vec![(c, c)])
        }
        ValueKind::Range(a, b) => {
            let (a, b) = (code(cx, *a, v.span)?, code(cx, *b, v.span)?);
            if a > b {
                cx.error(
                    Diagnostic::error("drbook::check::bad_status", v.span, "empty status range")
                        .label(format!("{a} is above {b}"))
                        .help("write the lower bound first: `200..299`"),
                );
                return None;
            }
            Some(vec![(a, b)])
        }
        ValueKind::List(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(status_spec(cx, i)?);
            }
            Some(out)
        }
        _ => {
            cx.expected(v, "status", "a status code, list or range", "status 200..299");
            None
        }
    }
}

fn ssm(
    cx: &mut Cx,
    span: Span,
    document: &Value,
    options: Option<&ast::Block<SsmItem>>,
    at: At,
    command: bool,
) -> Option<model::Action> {
    let doc = cx.string(document, "ssm document").map(|s| names::text(cx, s, at));
    let mut tags: Option<Vec<(Text, Text)>> = None;
    let mut instances: Option<(Vec<Text>, Span)> = None;
    let mut parameters = Vec::new();
    let (mut max_concurrency, mut max_errors, mut comment) = (None, None, None);
    let what = if command { "ssm command" } else { "ssm automation" };
    for item in options.map_or(&[][..], |o| &o.items[..]) {
        let only_command = |cx: &mut Cx, name: &str, s: Span| {
            if !command {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::bad_option",
                        s,
                        format!("`{name}` is not an option of `ssm automation`"),
                    )
                    .label("only for `ssm command`")
                    .help("an automation takes its targets through `parameters`"),
                );
            }
            command
        };
        match item {
            SsmItem::Targets(block) => {
                if only_command(cx, "targets", block.span) {
                    let mut list = Vec::new();
                    for t in &block.items {
                        let k = cx.string(&t.key, "tag key").map(|s| names::text(cx, s, at));
                        let v = cx.string(&t.value, "tag value").map(|s| names::text(cx, s, at));
                        if let (Some(k), Some(v)) = (k, v) {
                            list.push((k, v));
                        }
                    }
                    if block.items.is_empty() {
                        cx.error(
                            Diagnostic::error(
                                "drbook::check::empty_targets",
                                block.span,
                                "`targets` names no tag",
                            )
                            .label("no instance would match")
                            .help("write `targets { tag \"Role\" = \"api\" }`"),
                        );
                    }
                    tags = Some(list);
                }
            }
            SsmItem::Parameters(block) => {
                for kv in &block.items {
                    if let Some(vals) = strings(cx, &kv.value, "parameter", at) {
                        parameters.push((kv.key.name.to_string(), vals));
                    }
                }
            }
            SsmItem::Attr(kw, v) => match &*kw.name {
                "instances" => {
                    if only_command(cx, "instances", kw.span) {
                        instances = strings(cx, v, "instances", at).map(|l| (l, v.span));
                    }
                }
                "comment" => comment = scalar(cx, v, "comment", at),
                name => {
                    if only_command(cx, name, kw.span) {
                        let t = scalar(cx, v, name, at);
                        if name == "max_concurrency" {
                            max_concurrency = t;
                        } else {
                            max_errors = t;
                        }
                    }
                }
            },
        }
    }
    if !command {
        return Some(model::Action::SsmAutomation { document: doc?, parameters });
    }
    let targets = match (tags, instances) {
        (Some(t), None) => SsmTargets::Tags(t),
        (None, Some((i, _))) => SsmTargets::Instances(i),
        (Some(_), Some((_, s))) => {
            cx.error(
                Diagnostic::error(
                    "drbook::check::bad_option",
                    s,
                    format!("`{what}` takes `targets` or `instances`, not both"),
                )
                .label("second way to pick instances")
                .help("keep one of them"),
            );
            return None;
        }
        (None, None) => {
            cx.error(
                Diagnostic::error(
                    "drbook::check::missing_targets",
                    span,
                    "`ssm command` names no instances",
                )
                .label("which instances?")
                .help("add `targets { tag \"Role\" = \"api\" }` or `instances [\"i-0123\"]`"),
            );
            return None;
        }
    };
    Some(model::Action::SsmCommand {
        document: doc?,
        targets,
        parameters,
        max_concurrency,
        max_errors,
        comment,
    })
}

/// A string, or a number written bare (`max_errors 0`).
fn scalar(cx: &mut Cx, v: &Value, what: &str, at: At) -> Option<Text> {
    match &v.kind {
        ValueKind::Int(n) => Some(Text::literal(n.to_string())),
        _ => cx.string(v, what).map(|s| names::text(cx, s, at)),
    }
}

/// A string or a list of strings.
fn strings(cx: &mut Cx, v: &Value, what: &str, at: At) -> Option<Vec<Text>> {
    match &v.kind {
        ValueKind::List(items) => {
            let mut out = Vec::new();
            for i in items {
                out.push(scalar(cx, i, what, at)?);
            }
            Some(out)
        }
        _ => scalar(cx, v, what, at).map(|t| vec![t]),
    }
}

/// A build without the cargo feature `aws` cannot run `ssm` actions or read `ssm()` secrets:
/// `check` says so where they are written, rather than the run failing later.
pub(super) fn aws_available(cx: &mut Cx, span: crate::diag::Span) {
    if cfg!(not(feature = "aws")) {
        cx.error(
            Diagnostic::error(
                "drbook::check::aws_disabled",
                span,
                "this drbook was built without AWS support",
            )
            .label("needs AWS Systems Manager")
            .help("rebuild with the default features (cargo feature `aws`)"),
        );
    }
}
