//! A small HTTP/1.1 server over `std::net`: one request per connection
//! (`Connection: close`), bounded heads and bodies, a read and write timeout,
//! a fixed set of worker threads each accepting from the one listener.
//!
//! Why not a crate: `tiny_http` (the obvious well-kept synchronous server)
//! depends on `log`, and adding `log` to runner's dependencies changes the
//! build of `libduckdb-sys` (its build dependencies use `log` too), which
//! rebuilds DuckDB's C++ (30+ minutes on 2 cores) on every machine. The UI
//! needs only GET and form POSTs on loopback, which this file covers.
//!
//! Knows HTTP framing only: no routes, no pages, no files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The most bytes of a request line and headers together.
const MAX_HEAD: usize = 16 * 1024;
/// The largest body accepted (forms are small).
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// A client that sends nothing for this long is dropped.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub method: String,
    /// The request target as sent: path and query, still percent-encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Reads one request; `Err(status)` says how it was malformed.
pub(crate) fn read_request(r: &mut impl BufRead) -> Result<Request, u16> {
    let mut head = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r.by_ref().take((MAX_HEAD - head.len()) as u64 + 1).read_until(b'\n', &mut line).map_err(|_| 400u16)?;
        if n == 0 {
            return Err(400);
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD || !line.ends_with(b"\n") {
            return Err(431);
        }
        let text = String::from_utf8(line).map_err(|_| 400u16)?;
        let text = text.trim_end_matches(['\r', '\n']).to_string();
        if text.is_empty() {
            if lines.is_empty() {
                continue; // tolerated: a blank line before the request line
            }
            break;
        }
        lines.push(text);
    }
    let mut first = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) = (first.next(), first.next(), first.next(), first.next())
    else {
        return Err(400);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') || method.is_empty() {
        return Err(400);
    }
    let mut headers = Vec::new();
    for l in &lines[1..] {
        let (k, v) = l.split_once(':').ok_or(400u16)?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    if header("Transfer-Encoding").is_some() {
        return Err(411);
    }
    let length: usize = match header("Content-Length") {
        Some(n) => n.parse().map_err(|_| 400u16)?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(413);
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body).map_err(|_| 400u16)?;
    let body = String::from_utf8(body).map_err(|_| 400u16)?;
    Ok(Request { method: method.to_ascii_uppercase(), target: target.to_string(), headers, body })
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Writes a whole response and ends the exchange.
pub(crate) fn write_response(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head =
        format!("HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n", reason(status), body.len());
    for (k, v) in headers {
        // Header values come from this program, but never let one split the head.
        if !v.contains(['\r', '\n']) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// What a handler answers.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

fn connection(stream: TcpStream, handle: &(dyn Fn(Result<Request, u16>) -> Answer + Sync)) {
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let Ok(mut out) = stream.try_clone() else { return };
    let answer = handle(read_request(&mut BufReader::new(stream)));
    // A client that went away is no error of ours.
    let _ = write_response(&mut out, answer.status, &answer.headers, &answer.body);
    let _ = out.shutdown(std::net::Shutdown::Both);
}

/// Answers requests on `listener` with `workers` threads until the process
/// ends (Ctrl-C exits it: nothing is left half-written by a page).
pub(crate) fn run(
    listener: TcpListener,
    workers: usize,
    handle: std::sync::Arc<dyn Fn(Result<Request, u16>) -> Answer + Send + Sync>,
) {
    let threads: Vec<_> = (0..workers.max(1))
        .filter_map(|_| {
            let listener = listener.try_clone().ok()?;
            let handle = std::sync::Arc::clone(&handle);
            Some(std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    connection(stream, &*handle);
                }
            }))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Request, u16> {
        read_request(&mut BufReader::new(raw.as_bytes()))
    }

    #[test]
    fn requests_are_framed_and_bounded() {
        let r = parse("POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcdef").expect("ok");
        assert_eq!((r.method.as_str(), r.target.as_str(), r.body.as_str()), ("POST", "/a?b=1", "abc"));
        assert_eq!(r.headers, [("Host".to_string(), "x".to_string()), ("Content-Length".into(), "3".into())]);
        assert_eq!(parse("GET / HTTP/1.0\n\n").expect("bare newlines").target, "/");
        assert_eq!(parse("GET http://x/ HTTP/1.1\r\n\r\n"), Err(400), "absolute targets are not served");
        assert_eq!(parse("GET / HTTP/1.1 extra\r\n\r\n"), Err(400));
        assert_eq!(parse("GET / HTTP/1.1\r\nbad header\r\n\r\n"), Err(400));
        assert_eq!(parse("GET / HTTP/1.1\r\n"), Err(400), "cut short");
        assert_eq!(parse("POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"), Err(413));
        assert_eq!(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Err(411));
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse(&huge), Err(431));
    }

    #[test]
    fn responses_have_a_length_and_no_injected_headers() {
        let mut out = Vec::new();
        write_response(&mut out, 303, &[("Location", "/x".into()), ("X-Bad", "a\r\nSet-Cookie: y".into())], b"hi")
            .expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "HTTP/1.1 303 See Other\r\nContent-Length: 2\r\nConnection: close\r\nLocation: /x\r\n\r\nhi"
        );
    }
}
