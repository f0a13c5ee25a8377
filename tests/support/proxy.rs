//! A small HTTP forward proxy, the kind a runner behind a corporate firewall points
//! `HTTP_PROXY` at, so tests can see which requests went through it.
//!
//! It serves one request per client connection: the absolute-form request line
//! (`GET http://host:port/path HTTP/1.1`) is rewritten to origin-form, sent to the target with
//! `Connection: close` and a `Via` header, and the answer is streamed back until the target
//! closes. `Via` lets a test tell, from the fake server's own records, which requests came
//! through here. `CONNECT` is refused with 405: the fake GitHub speaks plain HTTP only, so a
//! tunnel request means the client picked the wrong proxy variable.
//!
//! Plain threads and blocking sockets: the tests that use it block on the action anyway.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The `Via` value added to every forwarded request.
pub const VIA: &str = "1.1 fetch-artifact-test-proxy";
const MAX_HEAD: usize = 64 * 1024;
/// Long enough for any test's slow body, short enough that a wedged test still ends.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// One request as the proxy received it.
#[derive(Clone, Debug)]
pub struct ProxiedRequest {
    pub method: String,
    /// The request target as sent: an absolute URL, or `host:port` for `CONNECT`.
    pub url: String,
    pub authorization: bool,
}

/// A running proxy on `127.0.0.1`. Dropping it stops accepting; connections in flight finish on
/// their own threads.
pub struct Proxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<ProxiedRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy on 127.0.0.1");
        let addr = listener.local_addr().expect("proxy address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (log.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("test-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let l = l.clone();
                    let _ = std::thread::Builder::new()
                        .name("test-proxy-conn".into())
                        .spawn(move || {
                            let _ = serve(conn, &l);
                        });
                }
            })
            .expect("spawn the proxy thread");
        Proxy {
            addr,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`: the value for `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The requests whose URL starts with `prefix` (an origin such as `http://127.0.0.2:PORT`).
    pub fn requests_to(&self, prefix: &str) -> Vec<ProxiedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.url.starts_with(prefix))
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // `accept` has no timeout: a connection of our own wakes it to see the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(client: TcpStream, log: &Mutex<Vec<ProxiedRequest>>) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut out = client;
    let Some(head) = read_head(&mut reader)? else {
        return Ok(());
    };
    let mut request_line = head[0].split(' ');
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return answer(&mut out, "400 Bad Request");
    };
    let headers: Vec<(String, String)> = head[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ProxiedRequest {
            method: method.to_owned(),
            url: target.to_owned(),
            authorization: headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization")),
        });
    if method.eq_ignore_ascii_case("CONNECT") {
        return answer(&mut out, "405 Method Not Allowed");
    }
    let Some(rest) = target.strip_prefix("http://") else {
        return answer(&mut out, "400 Bad Request");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let Ok(mut upstream) = TcpStream::connect(&authority) else {
        return answer(&mut out, "502 Bad Gateway");
    };
    upstream.set_read_timeout(Some(IO_TIMEOUT))?;
    upstream.set_write_timeout(Some(IO_TIMEOUT))?;

    let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in &headers {
        if !is_hop_by_hop(k) {
            forwarded.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    forwarded.push_str(&format!("Via: {VIA}\r\nConnection: close\r\n\r\n"));
    upstream.write_all(forwarded.as_bytes())?;
    let body_len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .unwrap_or(0);
    io::copy(&mut (&mut reader).take(body_len), &mut upstream)?;

    // The answer's head gets `Connection: close` too, so the client does not try to reuse a
    // connection this proxy is about to close; the body is streamed as it comes.
    let mut from_upstream = BufReader::new(upstream);
    let Some(reply) = read_head(&mut from_upstream)? else {
        return answer(&mut out, "502 Bad Gateway");
    };
    let mut head = format!("{}\r\n", reply[0]);
    for line in &reply[1..] {
        let name = line
            .split_once(':')
            .map_or(line.as_str(), |(k, _)| k.trim());
        if !is_hop_by_hop(name) {
            head.push_str(line);
            head.push_str("\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    out.write_all(head.as_bytes())?;
    io::copy(&mut from_upstream, &mut out)?;
    out.flush()?;
    out.shutdown(Shutdown::Write)
}

/// Headers that describe one connection, not the message, and must not be forwarded.
fn is_hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// The head's lines without their line ends; `None` if the peer closed before sending one.
fn read_head(read: &mut impl BufRead) -> io::Result<Option<Vec<String>>> {
    let mut lines = Vec::new();
    let mut size = 0;
    loop {
        let mut line = Vec::new();
        if read.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        size += line.len();
        if size > MAX_HEAD {
            return Err(io::Error::other("request head too large"));
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        if line.is_empty() {
            if lines.is_empty() {
                continue;
            }
            return Ok(Some(lines));
        }
        lines.push(line);
    }
}

fn answer(out: &mut TcpStream, status: &str) -> io::Result<()> {
    out.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    out.shutdown(Shutdown::Write)
}
