//! Writing the manifest document: compact JSON on one line, as dbt writes
//! it (`json.dump` without an indent), keys in sorted order as a JSON object
//! of dbt's would have them.
//!
//! Node entries dominate a large project's manifest (40,000 of them at 10k
//! models), so they are built on every core, a window at a time: the output
//! is the same as one loop would write, and at most one window of entries
//! is in memory. Owns only the document's layout; what an entry holds is
//! the parent module's.

use super::Manifest;
use crate::par;
use std::io::{Error, Write};

/// Entries built at once: enough to keep both cores busy, few enough that
/// the window's text stays a few megabytes.
const WINDOW: usize = 2048;

/// The top-level keys that are always empty objects, in the document's order
/// relative to the keys written with content.
const EMPTY_BEFORE_EXPOSURES: &[&str] = &["disabled", "docs"];
const EMPTY_BEFORE_METADATA: &[&str] = &["group_map", "groups", "macros"];
const EMPTY_AFTER_PARENT_MAP: &[&str] = &["saved_queries", "selectors", "semantic_models"];

fn json(w: &mut dyn Write, v: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(w, v).map_err(Error::other)
}

/// `{"id":["id",…],…}`: what serde_json writes of the equivalent sorted map.
fn map(w: &mut dyn Write, ids: &[&str], lists: &[Vec<&str>]) -> std::io::Result<()> {
    w.write_all(b"{")?;
    for (i, (id, list)) in ids.iter().zip(lists).enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        json(w, id)?;
        w.write_all(b":")?;
        json(w, list)?;
    }
    w.write_all(b"}")
}

/// Writes the whole manifest to `w`.
pub(super) fn document(m: &Manifest, w: &mut dyn Write) -> std::io::Result<()> {
    windowed(m, w, WINDOW)
}

/// [`document`] with `window` entries built at a time (tests vary it: the
/// output must not depend on it).
pub(super) fn windowed(m: &Manifest, w: &mut dyn Write, window: usize) -> std::io::Result<()> {
    let maps = m.maps();
    w.write_all(b"{\"child_map\":")?;
    map(w, &maps.ids, &maps.children)?;
    for key in EMPTY_BEFORE_EXPOSURES {
        write!(w, ",\"{key}\":{{}}")?;
    }
    w.write_all(b",\"exposures\":")?;
    json(w, &m.exposures)?;
    for key in EMPTY_BEFORE_METADATA {
        write!(w, ",\"{key}\":{{}}")?;
    }
    w.write_all(b",\"metadata\":")?;
    json(w, &m.metadata())?;
    w.write_all(b",\"metrics\":{},\"nodes\":{")?;
    let mut first = true;
    // Run hooks' operations go among the nodes in id order, as a sorted map has them.
    let mut operations = m.operations.iter().peekable();
    let mut entry_sep = |w: &mut dyn Write| if std::mem::take(&mut first) { Ok(()) } else { w.write_all(b",") };
    let operation = |w: &mut dyn Write, id: &str, value: &serde_json::Value| -> std::io::Result<()> {
        json(w, &id)?;
        w.write_all(b":")?;
        json(w, value)
    };
    for window in m.nodes.chunks(window.max(1)) {
        let entries = par::map(window, |node| {
            let mut text = serde_json::to_vec(&node.id)?;
            text.push(b':');
            super::fields::write_object(&m.node_fields(node), &mut text)?;
            Ok::<_, serde_json::Error>(text)
        });
        for (node, entry) in window.iter().zip(entries) {
            while let Some((id, value)) = operations.next_if(|(id, _)| id.as_str() < node.id.as_str()) {
                entry_sep(w)?;
                operation(w, id, value)?;
            }
            entry_sep(w)?;
            w.write_all(&entry.map_err(Error::other)?)?;
        }
    }
    for (id, value) in operations {
        entry_sep(w)?;
        operation(w, id, value)?;
    }
    w.write_all(b"},\"parent_map\":")?;
    map(w, &maps.ids, &maps.parents)?;
    for key in EMPTY_AFTER_PARENT_MAP {
        write!(w, ",\"{key}\":{{}}")?;
    }
    w.write_all(b",\"sources\":")?;
    json(w, &m.sources)?;
    w.write_all(b",\"unit_tests\":")?;
    let units: serde_json::Map<String, serde_json::Value> =
        m.units.iter().map(|n| (n.id.clone(), m.unit_entry(n))).collect();
    json(w, &units)?;
    w.write_all(b"}")?;
    Ok(())
}
