//! Render errors in the project's one voice, and the run's identity
//! (`invocation_id`, `run_started_at`).
//!
//! A failure inside a macro travels up as a chain of "in macro" frames
//! ([`InMacro`]); [`describe`] turns it into one line: the innermost message
//! (`compilation error: …` for `exceptions.raise_compiler_error`), then where
//! it happened, innermost macro first.

use super::context::{Raised, Returned};
use super::macros::InMacro;
use chrono::{DateTime, Utc};
use minijinja::value::Value;
use minijinja::{Error, ErrorKind};
use std::error::Error as _;

fn own_text(e: &Error) -> String {
    if e.kind() == ErrorKind::OutOfFuel {
        return super::limits::out_of_fuel_message();
    }
    let text = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.detail().and_then(|d| d.strip_suffix(" is unknown")).filter(|_| e.kind() == ErrorKind::UnknownFunction) {
        Some(name) if MATERIALIZATION_ONLY.contains(&name) => format!(
            "{text}: dbt gives `{name}` to custom materializations, and runner does not run those \
             (it builds models itself)"
        ),
        _ => text,
    }
}

/// dbt context members that only a materialization uses; runner leaves
/// them undefined and says why.
const MATERIALIZATION_ONLY: &[&str] = &["write", "load_agate_table", "submit_python_job"];

/// One line for a render error, with the macro frames it passed through.
pub fn describe(e: &Error) -> String {
    let mut frames = Vec::new();
    let mut innermost = own_text(e);
    let mut extra = Vec::new();
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(f) = s.downcast_ref::<InMacro>() {
            frames.push(f.to_string());
            innermost = own_text(&f.inner);
        } else if let Some(r) = s.downcast_ref::<Raised>() {
            innermost = format!("compilation error: {}", r.0);
        } else if s.downcast_ref::<Returned>().is_some() {
            innermost = s.to_string();
        } else if let Some(inner) = s.downcast_ref::<Error>() {
            innermost = own_text(inner);
        } else {
            extra.push(s.to_string());
        }
        src = s.source();
    }
    let mut msg = innermost;
    for x in extra {
        msg.push_str(&format!(": {x}"));
    }
    if !frames.is_empty() {
        frames.reverse();
        msg.push_str(&format!(" ({})", shown_frames(frames).join(", called from ")));
    }
    msg
}

/// At most this many frames are listed, the innermost and outermost ones.
const MAX_FRAMES: usize = 8;

/// The frames of a deep recursion in a line: repeats of one frame become
/// `… ×N`, and a long chain keeps its ends around a count of the rest.
fn shown_frames(frames: Vec<String>) -> Vec<String> {
    let mut runs: Vec<(String, usize)> = Vec::new();
    for f in frames {
        match runs.last_mut() {
            Some((last, n)) if *last == f => *n += 1,
            _ => runs.push((f, 1)),
        }
    }
    let mut shown: Vec<String> = runs.into_iter().map(|(f, n)| if n > 1 { format!("{f} ×{n}") } else { f }).collect();
    if shown.len() > MAX_FRAMES {
        let outer = shown.split_off(shown.len() - MAX_FRAMES / 2);
        let hidden = shown.len() - MAX_FRAMES / 2;
        shown.truncate(MAX_FRAMES / 2);
        shown.push(format!("{hidden} more macro calls"));
        shown.extend(outer);
    }
    shown
}

/// A version-4 UUID from the standard library's per-process random keys.
fn new_uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut b = [0u8; 16];
    for (i, chunk) in b.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_usize(i);
        h.write_u32(std::process::id());
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `invocation_id` and `run_started_at`: from the run's values when it
/// supplies them (so artifacts and templates agree), else a new UUID and now.
pub fn run_identity(run_values: &[(&'static str, Value)]) -> (String, DateTime<Utc>) {
    let get = |k: &str| run_values.iter().find(|(n, _)| *n == k).and_then(|(_, v)| v.as_str().map(str::to_string));
    let id = get("invocation_id").unwrap_or_else(new_uuid);
    let at = get("run_started_at")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    (id, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_frames_are_counted_and_long_chains_cut() {
        let f = |s: &str| s.to_string();
        assert_eq!(shown_frames(vec![f("a"), f("a"), f("a"), f("b")]), vec![f("a ×3"), f("b")]);
        let long: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let shown = shown_frames(long);
        assert_eq!(shown.len(), MAX_FRAMES + 1);
        assert_eq!((shown[0].as_str(), shown[4].as_str(), shown[8].as_str()), ("f0", "12 more macro calls", "f19"));
    }

    #[test]
    fn a_materialization_only_member_says_why_it_is_missing() {
        let env = minijinja::Environment::new();
        let e = env.render_str("{{ write('x') }}", ()).expect_err("no write");
        assert!(describe(&e).contains("dbt gives `write` to custom materializations"), "{}", describe(&e));
        let e = env.render_str("{{ nope('x') }}", ()).expect_err("no nope");
        assert_eq!(describe(&e), "unknown function: nope is unknown");
    }

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (new_uuid(), new_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn run_values_override_the_identity() {
        let vals = [("invocation_id", Value::from("inv-1")), ("run_started_at", Value::from("2025-01-02T03:04:05Z"))];
        let (id, at) = run_identity(&vals);
        assert_eq!(id, "inv-1");
        assert_eq!(at.to_rfc3339(), "2025-01-02T03:04:05+00:00");
    }
}
