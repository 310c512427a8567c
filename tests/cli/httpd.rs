//! A small HTTP/1.1 server for the `http` and `notify` tests, std only: it listens on
//! 127.0.0.1 (port 0), serves each connection on its own thread, answers by path with a
//! scripted [`Reply`], and records every request so tests can assert what drbook sent.
//!
//! One request per connection (`Connection: close`); bodies are read by `Content-Length`.
//! Dropping the [`Server`] stops its accept loop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server answers one path.
#[derive(Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Arc<Vec<u8>>,
    delay: Duration,
    /// Answer `503` to the first N requests, counting in the second field.
    unhealthy_first: Option<(u32, Arc<AtomicU32>)>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Arc::new(body.into()),
            delay: Duration::ZERO,
            unhealthy_first: None,
        }
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::new(302, "").header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Waits this long before answering (the request is recorded at once).
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Answers `503 {"status":"starting"}` to the first `n` requests, then as scripted.
    pub fn unhealthy_first(mut self, n: u32) -> Reply {
        self.unhealthy_first = Some((n, Arc::new(AtomicU32::new(0))));
        self
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// With the query string.
    pub path: String,
    /// Names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    requests: Mutex<Vec<Request>>,
    stop: AtomicBool,
}

pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
        let addr = listener.local_addr().expect("the listener's address");
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        Server { addr, shared }
    }

    /// Answers requests for `path` (query string ignored) with `reply`.
    pub fn route(&self, path: &str, reply: Reply) -> &Server {
        lock(&self.shared.routes).insert(path.to_string(), reply);
        self
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// The requests for `path` (query string ignored).
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| strip_query(&r.path) == path).collect()
    }

    /// Polls until a request for `path` arrived; panics after `limit`.
    #[track_caller]
    pub fn wait_for(&self, path: &str, limit: Duration) {
        let start = Instant::now();
        while self.requests_to(path).is_empty() {
            assert!(start.elapsed() < limit, "no request for {path} within {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

/// Reads one request, records it, answers it, closes the connection. A client that goes away
/// or sends garbage just ends the thread.
fn serve(conn: TcpStream, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(write_half) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    let Some(request) = read_request(&mut reader) else { return };
    let reply = lock(&shared.routes).get(strip_query(&request.path)).cloned();
    lock(&shared.requests).push(request);
    let reply = reply.unwrap_or_else(|| Reply::new(404, "no such route"));
    std::thread::sleep(reply.delay);
    let _ = respond(write_half, &reply);
}

fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request { method, path, headers, body })
}

fn respond(mut w: TcpStream, reply: &Reply) -> std::io::Result<()> {
    let starting = reply.unhealthy_first.as_ref().is_some_and(|(n, seen)| {
        let before = seen.fetch_add(1, Ordering::SeqCst);
        before < *n
    });
    let (status, body): (u16, &[u8]) =
        if starting { (503, br#"{"status":"starting"}"#) } else { (reply.status, &reply.body) };
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
