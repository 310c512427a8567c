//! The `http` and `notify` actions (LANGUAGE.md §5): one HTTP request per attempt, through one
//! client per run (its connection pool is shared by every step and rollback of the run).
//!
//! Input: the action, the per-attempt `timeout` (the step's, or the rollback's), the values of
//! the moment. Output: an [`Attempt`] whose `Ok` text is the response body — at most
//! [`KEEP_STDOUT`] bytes, decoded as UTF-8 with invalid bytes replaced — which is what
//! `capture` reads.
//!
//! Invariants:
//! - The URL, header names and values and the body are rendered as plain text (no shell
//!   quoting). Every text that leaves this module — the observer line, error messages — is
//!   scrubbed of secret values; the body is scrubbed *before* it is cut to a snippet, so a cut
//!   never leaves half a secret. Header values holding a secret are marked sensitive.
//! - `timeout` bounds the whole attempt: connecting, TLS, redirects and reading the body.
//!   Without one, only connecting is bounded ([`CONNECT_TIMEOUT`]).
//! - A stop (Ctrl-C, SIGTERM) drops the request at once: the attempt is `Stopped`.
//! - Up to [`MAX_REDIRECTS`] redirects are followed; reqwest drops `Authorization` and cookies
//!   when one leads to another host, and no `Referer` is sent.
//! - Proxies come from `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their
//!   lower-case forms); `NO_PROXY=*` turns them off for every host, IP addresses included.
//! - TLS is rustls with the aws-lc-rs provider, verified against the operating system's trust
//!   store (on Linux the CA bundle that `SSL_CERT_FILE` / `SSL_CERT_DIR` or the distribution's
//!   default point at). Without one, `http://` still works and `https://` fails saying why.

use super::client::{root_cause, CONNECT_TIMEOUT, MAX_REDIRECTS};
use super::env::{begin, ActionEnv, Attempt};
use super::process::{Stream, KEEP_STDOUT};
use crate::exec::secrets::Secrets;
use crate::exec::values::Values;
use crate::model::{fmt_duration, Action, Text};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use std::time::{Duration, Instant};

/// Characters of the body shown in a failure message.
const SNIPPET: usize = 200;
/// What a response must answer when the action says nothing.
const ANY_2XX: &[(u16, u16)] = &[(200, 299)];

/// A request ready to go.
struct Request {
    method: reqwest::Method,
    url: reqwest::Url,
    /// The URL as written after interpolation, secrets masked: what messages show.
    shown: String,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    expect: Vec<(u16, u16)>,
    contains: Option<String>,
}

/// Performs an `http` or `notify` action.
pub(super) async fn run(env: &ActionEnv<'_>, action: &Action) -> Attempt {
    let (secrets, vals) = (env.secrets, env.vals);
    let request = match action {
        Action::Http { method, url, headers, body, status, body_contains } => {
            http_request(secrets, vals, method, url, headers, body.as_ref(), status).and_then(
                |mut r| {
                    r.contains =
                        body_contains.as_ref().map(|t| vals.render(t, false)).transpose()?;
                    Ok(r)
                },
            )
        }
        Action::Notify { url, text } => notify_request(secrets, vals, url, text),
        other => Err(format!("`{}` is not an http action", other.kind())),
    };
    match request {
        Ok(r) => send(env, r).await,
        Err(e) => Attempt::Failed(secrets.scrub(&e)),
    }
}

fn http_request(
    secrets: &Secrets,
    vals: &Values<'_>,
    method: &str,
    url: &Text,
    headers: &[(Text, Text)],
    body: Option<&Text>,
    status: &[(u16, u16)],
) -> Result<Request, String> {
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let (url, shown) = parse_url(secrets, &vals.render(url, false)?)?;
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        let (k, v) = (vals.render(k, false)?, vals.render(v, false)?);
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| format!("`{}` is not a valid HTTP header name", secrets.scrub(&k)))?;
        let mut value = HeaderValue::from_bytes(v.as_bytes()).map_err(|_| {
            format!(
                "the value of header `{name}` holds a character HTTP does not allow (a newline?)"
            )
        })?;
        if secrets.scrub(&v) != v {
            value.set_sensitive(true);
        }
        map.append(name, value);
    }
    let body = body.map(|b| vals.render(b, false)).transpose()?.map(String::into_bytes);
    let expect = if status.is_empty() { ANY_2XX.to_vec() } else { status.to_vec() };
    Ok(Request { method, url, shown, headers: map, body, expect, contains: None })
}

/// `notify URL TEXT`: a Slack-compatible webhook call, `{"text": TEXT}` as JSON.
fn notify_request(
    secrets: &Secrets,
    vals: &Values<'_>,
    url: &Text,
    text: &Text,
) -> Result<Request, String> {
    let (url, shown) = parse_url(secrets, &vals.render(url, false)?)?;
    let text = vals.render(text, false)?;
    let body = serde_json::json!({ "text": text }).to_string().into_bytes();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(Request {
        method: reqwest::Method::POST,
        url,
        shown,
        headers,
        body: Some(body),
        expect: ANY_2XX.to_vec(),
        contains: None,
    })
}

/// The URL and how messages show it (secrets masked). Only `http://` and `https://`.
fn parse_url(secrets: &Secrets, raw: &str) -> Result<(reqwest::Url, String), String> {
    let shown = secrets.scrub(raw.trim());
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| format!("`{shown}` is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{shown}`: only http:// and https:// URLs can be requested"));
    }
    Ok((url, shown))
}

/// Sends the request, reads the body (bounded) and judges the answer.
async fn send(env: &ActionEnv<'_>, r: Request) -> Attempt {
    let (secrets, timeout) = (env.secrets, env.timeout);
    let client = match env.http.get(&r.url) {
        Ok(c) => c,
        Err(e) => return Attempt::Failed(e),
    };
    let what = format!("{} {}", r.method, r.shown);
    let place = place(&r.url, &r.shown);
    let mut builder = client.request(r.method, r.url).headers(r.headers);
    if let Some(body) = r.body {
        builder = builder.body(body);
    }
    if let Some(a) = begin(env, None).await {
        return a;
    }
    let began = Instant::now();
    let exchange = async {
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let (body, cut) = read_body(response).await?;
        Ok::<_, reqwest::Error>((status, body, cut))
    };
    let bounded = async {
        match timeout {
            Some(ms) => tokio::time::timeout(Duration::from_millis(ms), exchange).await.ok(),
            None => Some(exchange.await),
        }
    };
    let mut stop = env.stop.clone();
    let answer = tokio::select! {
        a = bounded => a,
        _ = stop.wait_for(|s| *s) => return Attempt::Stopped,
    };
    let (status, body, cut) = match answer {
        None => {
            let limit = fmt_duration(timeout.unwrap_or(0));
            return Attempt::Failed(secrets.scrub(&format!("{what} timed out after {limit}")));
        }
        Some(Err(e)) => {
            return Attempt::Failed(secrets.scrub(&format!("{what}: {}", explain(&e, &place))))
        }
        Some(Ok(answer)) => answer,
    };
    env.hooks.answered();
    let took = began.elapsed().as_millis();
    let size = if cut { format!("first {} kept", size(body.len())) } else { size(body.len()) };
    let line = secrets.scrub(&format!("{what} → {status} ({took} ms, {size})"));
    (env.out)(Stream::Stdout, &line);
    let body = String::from_utf8_lossy(&body).into_owned();
    if !r.expect.iter().any(|&(lo, hi)| (lo..=hi).contains(&status)) {
        let expected = expected(&r.expect);
        let shown = snippet(&secrets.scrub(&body));
        let tail = if shown.is_empty() { ", empty body".to_string() } else { format!(": {shown}") };
        return Attempt::Failed(
            secrets.scrub(&format!("HTTP {status} from {what} (expected {expected}){tail}")),
        );
    }
    if let Some(needle) = &r.contains {
        if !body.contains(needle.as_str()) {
            let shown = snippet(&secrets.scrub(&body));
            return Attempt::Failed(secrets.scrub(&format!(
                "the body of {what} (HTTP {status}) does not contain {needle:?}: {shown}"
            )));
        }
    }
    Attempt::Ok(body)
}

/// One `{"text": TEXT}` POST to `url` (the drill notification, `exec::announce`), bounded by
/// `timeout` as a whole; any 2xx answer is success. Errors name what failed with the URL masked
/// by `secrets` (the caller masks them again with the URL itself).
pub(in crate::exec) async fn post_text(
    http: &super::Client,
    secrets: &Secrets,
    url: &str,
    text: &str,
    timeout: Duration,
) -> Result<(), String> {
    post_json(http, secrets, url, &serde_json::json!({ "text": text }), timeout).await
}

/// POSTs `body` as JSON to `url` within `timeout` (a watcher's transition, `watch.rs`); an
/// error says why, with secrets masked.
pub(in crate::exec) async fn post_json(
    http: &super::Client,
    secrets: &Secrets,
    url: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(), String> {
    let (url, shown) = parse_url(secrets, url)?;
    let client = http.get(&url)?;
    let place = place(&url, &shown);
    let body = body.to_string();
    let send = client.post(url).header(CONTENT_TYPE, "application/json").body(body).send();
    let limit = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let response = tokio::time::timeout(timeout, send)
        .await
        .map_err(|_| format!("POST {shown} timed out after {}", fmt_duration(limit)))?
        .map_err(|e| format!("POST {shown}: {}", explain(&e, &place)))?;
    let status = response.status().as_u16();
    if !(200..=299).contains(&status) {
        return Err(format!("HTTP {status} from POST {shown} (expected 200..299)"));
    }
    Ok(())
}

/// The body, up to [`KEEP_STDOUT`] bytes; `true` when there was more (left unread).
async fn read_body(mut response: reqwest::Response) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = KEEP_STDOUT - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// `host:port` for connection errors, or the masked URL when the host is part of a secret.
fn place(url: &reqwest::Url, shown: &str) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) if shown.contains(host) => format!("{host}:{port}"),
        _ => shown.to_string(),
    }
}

/// A transport error in a few words: what failed, and the innermost cause.
fn explain(e: &reqwest::Error, place: &str) -> String {
    let io = io_cause(e).map(std::io::Error::kind);
    if e.is_connect() {
        return match io {
            Some(std::io::ErrorKind::ConnectionRefused) => format!("connection refused to {place}"),
            _ if e.is_timeout() => {
                format!(
                    "cannot connect to {place}: no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )
            }
            _ => format!("cannot connect to {place}: {}", root_cause(e)),
        };
    }
    if e.is_redirect() {
        return format!("{} (at most {MAX_REDIRECTS} redirects are followed)", root_cause(e));
    }
    if e.is_body() || e.is_decode() {
        return format!("reading the body failed: {}", root_cause(e));
    }
    root_cause(e)
}

fn io_cause<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e std::io::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// `200`, `200..299`, `[200, 204]`: the expectation as a runbook writes it.
fn expected(ranges: &[(u16, u16)]) -> String {
    let one = |&(lo, hi): &(u16, u16)| {
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}..{hi}")
        }
    };
    match ranges {
        [r] => one(r),
        _ => format!("[{}]", ranges.iter().map(one).collect::<Vec<_>>().join(", ")),
    }
}

/// The start of a body for a message: control characters escaped, `…` when cut.
fn snippet(body: &str) -> String {
    let mut out = String::new();
    let mut chars = body.trim().chars();
    for c in chars.by_ref().take(SNIPPET) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// `512 B`, `2.1 KB`, `4.0 MB` (powers of 1024).
fn size(bytes: usize) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.1} KB", b / K)
    } else {
        format!("{:.1} MB", b / (K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_read_as_the_runbook_writes_them() {
        assert_eq!(expected(&[(200, 299)]), "200..299");
        assert_eq!(expected(&[(200, 200)]), "200");
        assert_eq!(expected(&[(200, 200), (204, 204), (300, 399)]), "[200, 204, 300..399]");
    }

    #[test]
    fn snippets_escape_control_characters_and_mark_the_cut() {
        assert_eq!(snippet("  {\"a\":\n1}\u{1b}[0m \n"), "{\"a\":\\n1}\\u{1b}[0m");
        let long = "é".repeat(300);
        let s = snippet(&long);
        assert_eq!(s.chars().count(), SNIPPET + 1);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(""), "");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(2150), "2.1 KB");
        assert_eq!(size(4 << 20), "4.0 MB");
    }

    #[test]
    fn a_host_inside_a_secret_is_not_shown() {
        let url = reqwest::Url::parse("https://hooks.example.com/T0/B1").expect("a URL");
        assert_eq!(place(&url, "https://hooks.example.com/<secret:t>"), "hooks.example.com:443");
        assert_eq!(place(&url, "<secret:webhook>"), "<secret:webhook>");
    }
}
