//! The HTTP edges of `runner ui`: splitting and decoding request paths,
//! parsing query strings and form bodies, encoding URL segments, and the
//! checks every request passes (which hosts may ask, which may act).
//!
//! Pure string work: no files, no history, no HTML.

use std::collections::BTreeMap;

/// `%XX` decoding of one URL part; `+` is a space only in forms. `None` for
/// bytes that are not UTF-8 or a malformed escape.
pub(crate) fn decode(part: &str, plus_is_space: bool) -> Option<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// One path segment, percent-encoded so any run id or node id survives a
/// round trip (`:`, `+`, `/`, `%`, spaces, `..`).
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => out.push(b as char),
            // A lone `.` segment part is kept, but never as `.` or `..` alone.
            b'.' if segment != "." && segment != ".." => out.push('.'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A request's path split into decoded segments, and its query. Segments
/// that decode to `.`, `..`, or hold `/`, `\` or NUL are refused (`None`):
/// no URL names a file, but no segment may look like a way out either.
pub(crate) fn split(url: &str) -> Option<(Vec<String>, BTreeMap<String, String>)> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut segments = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let s = decode(raw, false)?;
        if s == "." || s == ".." || s.contains(['/', '\\', '\0']) {
            return None;
        }
        segments.push(s);
    }
    Some((segments, form(query)))
}

/// `a=1&b=two+words`: later keys win; undecodable pairs are dropped.
pub(crate) fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k, true)?, decode(v, true)?))
        })
        .collect()
}

/// Whether an address is on this machine only.
pub(crate) fn is_loopback(host: &str) -> bool {
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Whether a request's `Host` header names this server as bound to a
/// loopback address. Refusing other names stops DNS rebinding: a page on
/// `evil.example` resolved to 127.0.0.1 would otherwise be same-origin.
pub(crate) fn host_allowed(header: Option<&str>, port: u16) -> bool {
    let Some(h) = header else { return false };
    let (name, p) = match h.rsplit_once(':') {
        // `[::1]:8080`, `127.0.0.1:8080`, `localhost:8080`
        Some((n, p)) if !p.contains(']') => (n, p.parse::<u16>().ok()),
        _ => (h, Some(80)),
    };
    p == Some(port) && is_loopback(name)
}

/// Equal without telling, by timing, how much of a secret was right.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A value of a `Cookie` header.
pub(crate) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// 16 random bytes as hex, from the kernel; a time-and-pid hash stands in
/// only where `/dev/urandom` is missing.
pub(crate) fn random_token() -> String {
    use std::io::Read;
    let mut buf = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        h.write_u32(std::process::id());
        buf[..8].copy_from_slice(&h.finish().to_le_bytes());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_decode_and_ways_out_are_refused() {
        let (segs, q) = split("/dags/my_dag/runs/manual__2025-01-01T00%3A00%3A00%2B00%3A00?x=1&y=a+b").expect("ok");
        assert_eq!(segs, ["dags", "my_dag", "runs", "manual__2025-01-01T00:00:00+00:00"]);
        assert_eq!(q.get("y").map(String::as_str), Some("a b"));
        for bad in [
            "/dags/..",
            "/dags/%2e%2e/x",
            "/dags/%2E%2e",
            "/a/..%2f..%2fetc",
            "/a/%2fetc",
            "/a/b%5cc",
            "/a/%00",
            "/a/%zz",
            "/a/%c3%28",
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn encoded_segments_round_trip() {
        for s in ["manual__2025-01-01T00:00:00.123456+00:00", "a/b", "..", ".", "a b%", "test.shop.x.1a2b"] {
            let url = format!("/x/{}", encode(s));
            assert_eq!(
                split(&url).map(|(segs, _)| segs),
                if s == ".." || s == "." || s.contains('/') {
                    None
                } else {
                    Some(vec!["x".to_string(), s.to_string()])
                }
            );
        }
        assert_eq!(encode(".."), "%2E%2E");
    }

    #[test]
    fn only_loopback_names_of_this_port_may_ask() {
        assert!(host_allowed(Some("127.0.0.1:8080"), 8080));
        assert!(host_allowed(Some("localhost:8080"), 8080));
        assert!(host_allowed(Some("[::1]:8080"), 8080));
        assert!(!host_allowed(Some("evil.example:8080"), 8080));
        assert!(!host_allowed(Some("127.0.0.1:9999"), 8080));
        assert!(!host_allowed(None, 8080));
        assert!(host_allowed(Some("localhost"), 80));
    }

    #[test]
    fn cookies_forms_and_secrets() {
        assert_eq!(cookie("a=1; runner_ui_token=abc", "runner_ui_token"), Some("abc"));
        assert_eq!(cookie("runner_ui_tokenx=1", "runner_ui_token"), None);
        assert_eq!(form("csrf=a%2Bb&vars=%7Bx%3A+1%7D").get("vars").map(String::as_str), Some("{x: 1}"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
        let t = random_token();
        assert_eq!(t.len(), 32);
        assert_ne!(t, random_token());
    }
}
