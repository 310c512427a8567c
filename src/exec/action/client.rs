//! The run's HTTP client, shared by every `http` and `notify` action of the run (one
//! connection pool), built on first use.

use std::sync::OnceLock;
use std::time::Duration;

/// Connecting (TCP and TLS) gives up after this, whatever the step's `timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before the attempt fails.
pub const MAX_REDIRECTS: usize = 10;

/// The run's HTTP client, built on first use (a run without `http` or `notify` never builds
/// one). A failure to build is kept and reported by every attempt.
#[derive(Default)]
pub struct Client(OnceLock<Result<Built, String>>);

struct Built {
    client: reqwest::Client,
    /// Why no trust store could be loaded: the client then speaks plain `http://` only.
    no_tls: Option<String>,
}

impl Client {
    pub(super) fn get(&self, url: &reqwest::Url) -> Result<&reqwest::Client, String> {
        let built = self.0.get_or_init(build).as_ref().map_err(Clone::clone)?;
        match &built.no_tls {
            Some(why) if url.scheme() == "https" => Err(format!(
                "cannot verify TLS certificates: {why} (install the CA bundle, e.g. the \
                 `ca-certificates` package, or point SSL_CERT_FILE at one)"
            )),
            _ => Ok(&built.client),
        }
    }
}

/// The client; without a usable trust store, one for plain `http://` (an `https://` request
/// then fails saying why, see [`Client::get`]).
fn build() -> Result<Built, String> {
    let failed = |e: reqwest::Error| format!("cannot set up the HTTP client: {}", root_cause(&e));
    match builder().build() {
        Ok(client) => Ok(Built { client, no_tls: None }),
        Err(e) => {
            let no_roots = Vec::<reqwest::Certificate>::new();
            let client = builder().tls_certs_only(no_roots).build().map_err(failed)?;
            Ok(Built { client, no_tls: Some(root_cause(&e)) })
        }
    }
}

fn builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("drbook/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        // A `Referer` would carry the previous URL, secrets in its query included, to the
        // next host of a redirect.
        .referer(false);
    if proxies_off() {
        builder.no_proxy()
    } else {
        builder
    }
}

/// `NO_PROXY=*` (or an entry `*` in it) means no proxy for any host, as in curl. reqwest
/// applies `*` to host names only, so `http://127.0.0.1/` would still go through the proxy.
fn proxies_off() -> bool {
    let no_proxy = std::env::var("NO_PROXY").or_else(|_| std::env::var("no_proxy"));
    no_proxy.is_ok_and(|v| v.split(',').any(|entry| entry.trim() == "*"))
}

pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
