//! Just enough HTTP/1.1 for the explorer: one request per connection, read within bounds
//! (header and body sizes, a read timeout set on the socket), answered with a whole body or a
//! body streamed until the connection closes. Nothing in a request is trusted: every way it can
//! be malformed is an error with a status and a message, never a panic.
//!
//! Owns: [`Request`], [`read_request`], [`respond`], [`Stream`]. Reads: the socket. Never: the
//! engine.

use std::io::{Read, Write};

/// Bytes of a request's line and headers at most.
pub const MAX_HEAD: usize = 16 * 1024;

/// Time to read a whole request at most.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// A request as read: method, path (without the query), query, `Host` header and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, `/api/run`.
    pub path: String,
    /// The query string after `?`, empty when none.
    pub query: String,
    /// The `Host` header, empty when none.
    pub host: String,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

/// Why a request could not be read: a status and a message for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The HTTP status: 400, 408, 411, 413, 431, 505.
    pub status: u16,
    /// What was wrong and what to do.
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// Reads one request: its head up to [`MAX_HEAD`] bytes, then a body of at most `max_body`
/// bytes (`Content-Length` only: a chunked body is refused), all of it within [`DEADLINE`]
/// (a client that trickles bytes is cut off). `Ok(None)` when the client closed the
/// connection before sending anything.
pub fn read_request(stream: &mut impl Read, max_body: usize) -> Result<Option<Request>, Refusal> {
    let deadline = std::time::Instant::now() + DEADLINE;
    let late = || std::time::Instant::now() > deadline;
    let mut head = Vec::with_capacity(1024);
    let mut byte = [0u8; 1024];
    let end = loop {
        if let Some(k) = find(&head, b"\r\n\r\n") {
            break k;
        }
        if late() {
            return Err(refuse(408, "the request took too long"));
        }
        if head.len() > MAX_HEAD {
            return Err(refuse(
                431,
                format!("the request's head is over {MAX_HEAD} bytes"),
            ));
        }
        let n = match stream.read(&mut byte) {
            Ok(0) if head.is_empty() => return Ok(None),
            Ok(0) => return Err(refuse(400, "the request ended inside its head")),
            Ok(n) => n,
            Err(e) if is_timeout(&e) => return Err(refuse(408, "the request took too long")),
            Err(_) => return Ok(None),
        };
        head.extend_from_slice(&byte[..n]);
    };
    let rest = head.split_off(end + 4);
    let text = std::str::from_utf8(&head[..end])
        .map_err(|_| refuse(400, "the request's head is not UTF-8 text"))?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if !m.is_empty() && t.starts_with('/') => (m, t, v),
        _ => return Err(refuse(400, format!("not an HTTP request line: {line:?}"))),
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(refuse(505, format!("{version:?} is not HTTP/1.1")));
    }
    let (mut length, mut host) = (None, String::new());
    for h in lines {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| refuse(400, format!("not a header: {h:?}")))?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                let n: usize = value.parse().map_err(|_| {
                    refuse(400, format!("Content-Length {value:?} is not a number"))
                })?;
                if length.is_some_and(|l| l != n) {
                    return Err(refuse(400, "two different Content-Length headers"));
                }
                length = Some(n);
            }
            "transfer-encoding" => {
                return Err(refuse(
                    411,
                    "send the body with a Content-Length, not chunked",
                ))
            }
            "host" => host = value.to_string(),
            _ => {}
        }
    }
    let length = length.unwrap_or(0);
    if length > max_body {
        return Err(refuse(
            413,
            format!("the body is {length} bytes; at most {max_body} are accepted"),
        ));
    }
    let mut body = rest;
    if body.len() > length {
        return Err(refuse(400, "more bytes than Content-Length says"));
    }
    let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
    while body.len() < length {
        if late() {
            return Err(refuse(408, "the body took too long"));
        }
        let want = (length - body.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(refuse(400, "the body is shorter than Content-Length")),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => return Err(refuse(408, "the body took too long")),
            Err(_) => return Err(refuse(400, "the connection broke inside the body")),
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        host,
        body,
    }))
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// The headers every answer carries: no caching, no sniffing, nothing from elsewhere.
fn head(status: u16, content_type: &str, extra: &[(&str, String)]) -> String {
    let mut h = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'self'\r\n\
         Connection: close\r\n",
        reason(status)
    );
    for (name, value) in extra {
        h.push_str(&format!("{name}: {value}\r\n"));
    }
    h
}

/// Writes a whole answer. A client that went away is not an error here.
pub fn respond(
    stream: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &[u8],
    extra: &[(&str, String)],
) {
    let mut h = head(status, content_type, extra);
    h.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let _ = stream.write_all(h.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// An answer whose body is written a line at a time and ends when the connection closes.
pub struct Stream<'a, W: Write> {
    out: &'a mut W,
}

impl<'a, W: Write> Stream<'a, W> {
    /// Writes the head of a `200` answer of `content_type`.
    pub fn start(out: &'a mut W, content_type: &str) -> std::io::Result<Self> {
        let mut h = head(200, content_type, &[]);
        h.push_str("\r\n");
        out.write_all(h.as_bytes())?;
        out.flush()?;
        Ok(Stream { out })
    }

    /// Writes one line and flushes it; an error means the client is gone.
    pub fn line(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], max: usize) -> Result<Option<Request>, Refusal> {
        read_request(&mut &bytes[..], max)
    }

    #[test]
    fn requests_are_read_within_their_bounds() {
        let r = read(
            b"POST /api/run?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
            10,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_str()),
            ("POST", "/api/run", "x=1")
        );
        assert_eq!((r.host.as_str(), r.body.as_slice()), ("a", &b"abc"[..]));
        assert_eq!(read(b"", 10), Ok(None));
        let status = |b: &[u8]| read(b, 10).unwrap_err().status;
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"),
            413
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"),
            400
        );
        assert_eq!(status(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411
        );
        assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status(b"GET nowhere HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a"), 400);
        assert_eq!(status(b"\xff\xfe / HTTP/1.1\r\n\r\n"), 400);
        let long = [b"GET / HTTP/1.1\r\nX: ".to_vec(), vec![b'a'; MAX_HEAD + 10]].concat();
        assert_eq!(status(&long), 431);
    }
}
