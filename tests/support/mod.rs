//! A loopback HTTP/1.1 capture server for the client tests.
//!
//! It records every request exactly as it arrived (method, raw target,
//! headers, body bytes) and answers from a script: first the queue of
//! [`Reply`]s pushed with [`CaptureServer::push`], then the responder set with
//! [`CaptureServer::respond_with`], then the longest matching per-path-prefix
//! default, then the fallback (`204 No Content`, or what
//! [`CaptureServer::set_fallback`] set). Connections are kept alive: reqwest
//! reuses them, so one connection may carry several requests.
//!
//! ```ignore
//! mod support;
//! let capture = support::CaptureServer::start().await;
//! capture.push(support::Reply::json(200, &serde_json::json!({"a": 1})));
//! // ... a client with .base_url(capture.base_url()) ...
//! assert_eq!(capture.requests().len(), 1);
//! ```
#![allow(dead_code)] // Each test file uses a different part of this module.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target exactly as sent: path and query, percent-encoding untouched.
    pub target: String,
    /// Every header in arrival order, names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes (after de-chunking, if the body was chunked).
    pub body: Vec<u8>,
}

impl Captured {
    /// `METHOD /path?query`.
    pub fn request_line(&self) -> String {
        format!("{} {}", self.method, self.target)
    }

    /// The path part of the target.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The raw query (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The raw (still percent-encoded) values of a query parameter.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query()
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key == name).then_some(value)
            })
            .collect()
    }

    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }

    /// Every value of a header (name case-insensitive).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; `None` if it is empty. Panics if it is not JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        if self.body.is_empty() {
            return None;
        }
        Some(serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body of {} is not JSON ({e}): {}",
                self.request_line(),
                self.body_text()
            )
        }))
    }
}

/// A canned answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers to send (`content-length` is added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply with a status and no body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON reply.
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::status(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// A `text/plain` reply.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply::status(status)
            .header("content-type", "text/plain")
            .body(body.into())
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    fn to_bytes(&self) -> Vec<u8> {
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown");
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("content-length") {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        // 1xx, 204 and 304 answers carry no body and no Content-Length.
        let bodiless = self.status < 200 || self.status == 204 || self.status == 304;
        if !bodiless {
            head.push_str(&format!("content-length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if !bodiless {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

type Responder = Box<dyn Fn(&Captured) -> Option<Reply> + Send + Sync>;

struct Script {
    requests: Vec<Captured>,
    queue: VecDeque<Reply>,
    responder: Option<Responder>,
    prefix_defaults: Vec<(String, Reply)>,
    fallback: Reply,
}

impl Script {
    fn answer(&mut self, request: &Captured) -> Reply {
        if let Some(reply) = self.queue.pop_front() {
            return reply;
        }
        if let Some(reply) = self.responder.as_ref().and_then(|r| r(request)) {
            return reply;
        }
        self.prefix_defaults
            .iter()
            .filter(|(prefix, _)| request.target.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, reply)| reply.clone())
            .unwrap_or_else(|| self.fallback.clone())
    }
}

/// The capture server. Dropping it stops it.
pub struct CaptureServer {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    task: JoinHandle<()>,
}

impl Drop for CaptureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CaptureServer {
    /// Starts a server on `127.0.0.1` on a free port.
    pub async fn start() -> CaptureServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let script = Arc::new(Mutex::new(Script {
            requests: Vec::new(),
            queue: VecDeque::new(),
            responder: None,
            prefix_defaults: Vec::new(),
            fallback: Reply::status(204),
        }));
        let shared = Arc::clone(&script);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let script = Arc::clone(&shared);
                tokio::spawn(async move {
                    // A malformed request or a closed connection ends this
                    // connection only; what was captured stays.
                    let _ = serve(stream, script).await;
                });
            }
        });
        CaptureServer { addr, script, task }
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        // A panicking responder must not hide the requests from the test.
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:PORT`, for a client's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a reply: replies are used once each, in order, before anything else.
    pub fn push(&self, reply: Reply) {
        self.lock().queue.push_back(reply);
    }

    /// Queues a reply given as parts.
    pub fn push_response(&self, status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) {
        let mut reply = Reply::status(status).body(body);
        for (name, value) in headers {
            reply = reply.header(*name, *value);
        }
        self.push(reply);
    }

    /// Answers from a closure once the queue is empty (`None` falls through
    /// to the defaults).
    pub fn respond_with(
        &self,
        responder: impl Fn(&Captured) -> Option<Reply> + Send + Sync + 'static,
    ) {
        self.lock().responder = Some(Box::new(responder));
    }

    /// The answer for targets starting with `prefix` when nothing else
    /// answered; the longest matching prefix wins.
    pub fn default_for(&self, prefix: impl Into<String>, reply: Reply) {
        self.lock().prefix_defaults.push((prefix.into(), reply));
    }

    /// The answer when nothing else answers (initially `204`, empty).
    pub fn set_fallback(&self, reply: Reply) {
        self.lock().fallback = reply;
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Captured> {
        self.lock().requests.clone()
    }

    /// The one request received; panics unless exactly one arrived.
    pub fn only_request(&self) -> Captured {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request, got {:#?}",
            requests
                .iter()
                .map(Captured::request_line)
                .collect::<Vec<_>>()
        );
        requests.into_iter().next().unwrap()
    }

    /// Forgets the requests received so far.
    pub fn clear(&self) {
        self.lock().requests.clear();
    }
}

/// A base URL on a loopback port nothing listens on: connecting is refused.
pub async fn refusing_base_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}")
}

/// Serves one connection: requests one after another until it closes.
async fn serve(mut stream: TcpStream, script: Arc<Mutex<Script>>) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer).await? else {
            return Ok(());
        };
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let reply = {
            let mut script = script.lock().unwrap_or_else(|e| e.into_inner());
            script.requests.push(request.clone());
            script.answer(&request)
        };
        stream.write_all(&reply.to_bytes()).await?;
        stream.flush().await?;
        if close {
            return Ok(());
        }
    }
}

fn invalid(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.into())
}

/// Reads more bytes into `buffer`; `false` at end of stream.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request; `None` if the connection closed before one began.
async fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<Captured>> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at;
        }
        if !fill(stream, buffer).await? {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(invalid("connection closed inside a request head"))
            };
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!("bad request line {request_line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("not HTTP/1.x: {request_line:?}")));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid(format!("bad header line {line:?}")));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut request = Captured {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body: Vec::new(),
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        request.body = read_chunked(stream, buffer).await?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| invalid(format!("bad content-length {length:?}")))?;
        while buffer.len() < length {
            if !fill(stream, buffer).await? {
                return Err(invalid("connection closed inside a body"));
            }
        }
        request.body = buffer.drain(..length).collect();
    }
    Ok(Some(request))
}

async fn read_chunked(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(at) = find(buffer, b"\r\n") {
                break at;
            }
            if !fill(stream, buffer).await? {
                return Err(invalid("connection closed inside a chunk size"));
            }
        };
        let size_text = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
        buffer.drain(..line_end + 2);
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                if let Some(at) = find(buffer, b"\r\n") {
                    let empty = at == 0;
                    buffer.drain(..at + 2);
                    if empty {
                        return Ok(body);
                    }
                } else if !fill(stream, buffer).await? {
                    return Err(invalid("connection closed inside trailers"));
                }
            }
        }
        while buffer.len() < size + 2 {
            if !fill(stream, buffer).await? {
                return Err(invalid("connection closed inside a chunk"));
            }
        }
        body.extend(buffer.drain(..size));
        buffer.drain(..2);
    }
}

/// The base URL a `ccs serve` child announces on its first line of stdout
/// (`listening on http://...`); its stdout must be piped, and is consumed.
pub async fn listening_base_url(child: &mut std::process::Child) -> String {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().expect("ccs serve's stdout is piped");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .expect("reader")
    .expect("first line");
    line.trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}
