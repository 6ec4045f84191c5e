//! Finished runs kept between requests, so a page over a long history reads
//! only what changed: a finished run's file is rewritten only when the run
//! is cleared (its owner writes a new file and renames it into place), so a
//! file whose length, modification time and inode are those it had when it
//! was read still holds the same run. Running and queued runs are read again
//! on every call (and closed as failed when their process died, as
//! `History::runs` does); files that disappear leave the cache.
//!
//! What is kept of a run is what the list pages show ([`RunHead`]): its
//! record without the attempts, and each task's node and state, with node ids
//! and states shared between runs. A page about one run reads its file
//! again (`History`'s reader), so a long history costs a few KB a run, not
//! its whole record.
//!
//! Owned by the UI server (one per `runner ui`); reads through `History`'s
//! own reader and decides nothing about runs itself.

use crate::history::{read_run, run_order, History, RunRecord, RunState};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp { len: meta.len(), modified: meta.modified().ok(), inode: meta.ino() }
    }
}

/// One run as the DAG list and the grid show it.
#[derive(Debug, PartialEq)]
pub(crate) struct RunHead {
    /// The run's record, with `tasks` left empty.
    pub run: RunRecord,
    /// Each task's node id and state, in the record's order.
    pub tasks: Vec<(Arc<str>, Arc<str>)>,
    /// The run's file, to read the whole record from.
    pub file: PathBuf,
}

impl RunHead {
    /// The whole record, read again from its file (and closed as failed if
    /// its process died since).
    pub(crate) fn full(&self, history: &History) -> Option<RunRecord> {
        let mut run = read_run(&self.file)?;
        history.settle(&mut run);
        Some(run)
    }
}

#[derive(Clone)]
struct Cached {
    stamp: Stamp,
    head: Arc<RunHead>,
}

/// The finished runs of every DAG folder read so far, by file.
#[derive(Default)]
pub(crate) struct RunCache {
    dags: Mutex<HashMap<PathBuf, Arc<HashMap<PathBuf, Cached>>>>,
    /// Node ids and states, one copy each however many runs name them.
    names: Mutex<HashSet<Arc<str>>>,
}

fn finished(state: RunState) -> bool {
    matches!(state, RunState::Success | RunState::Failed)
}

impl RunCache {
    fn intern(&self, s: &str) -> Arc<str> {
        let Ok(mut names) = self.names.lock() else { return Arc::from(s) };
        if let Some(known) = names.get(s) {
            return known.clone();
        }
        let new: Arc<str> = Arc::from(s);
        names.insert(new.clone());
        new
    }

    fn head(&self, mut run: RunRecord, file: PathBuf) -> RunHead {
        let tasks = run.tasks.iter().map(|t| (self.intern(&t.node), self.intern(&t.state))).collect();
        run.tasks = Vec::new();
        RunHead { run, tasks, file }
    }

    /// Every run of `dag_id`, in the order of [`History::runs`].
    pub(crate) fn runs(&self, history: &History, dag_id: &str) -> Vec<Arc<RunHead>> {
        let dir = history.runs_dir(dag_id);
        // This folder's entries as they were (shared, not copied), so reading
        // happens outside the lock and requests do not queue on it.
        let known = self.dags.lock().map(|d| d.get(&dir).cloned().unwrap_or_default()).unwrap_or_default();
        let files: Vec<(PathBuf, Option<Stamp>)> = history
            .run_files(dag_id)
            .into_iter()
            .map(|entry| (entry.path(), entry.metadata().ok().map(|m| Stamp::of(&m))))
            .collect();
        // The stamp is taken before the file is read: a file replaced in
        // between is kept under its old stamp and read again next time.
        let read = crate::par::map(&files, |(file, stamp)| match known.get(file) {
            // (the run, found kept, to keep)
            Some(c) if Some(c.stamp) == *stamp => Some((c.head.clone(), true, true)),
            _ => {
                let mut run = read_run(file)?;
                let keep = finished(run.state) && stamp.is_some();
                if !keep {
                    history.settle(&mut run);
                }
                Some((Arc::new(self.head(run, file.clone())), false, keep))
            }
        });
        // Unchanged when every kept run was found as it was and none is new:
        // the common case, which then builds no new map.
        let hits = read.iter().flatten().filter(|(_, hit, _)| *hit).count();
        let fresh = read.iter().flatten().any(|(_, hit, keep)| !hit && *keep);
        let changed = fresh || hits != known.len();
        let mut kept = HashMap::new();
        let mut runs = Vec::with_capacity(read.len());
        for ((file, stamp), found) in files.into_iter().zip(read) {
            let Some((head, _, keep)) = found else { continue };
            if let (true, true, Some(stamp)) = (changed, keep, stamp) {
                kept.insert(file, Cached { stamp, head: head.clone() });
            }
            runs.push(head);
        }
        if changed {
            if let Ok(mut d) = self.dags.lock() {
                d.insert(dir, Arc::new(kept));
            }
        }
        runs.sort_by(|a, b| run_order(&a.run, &b.run));
        runs
    }

    /// How many runs are kept (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.dags.lock().map(|d| d.values().map(|m| m.len()).sum()).unwrap_or(0)
    }
}

/// The project's `target/manifest.json`, parsed once per version of the
/// file (a 10,000-node manifest takes longer to parse than a page to render).
#[derive(Default)]
pub(crate) struct ManifestCache {
    parsed: Mutex<Option<(PathBuf, Stamp, Arc<serde_json::Value>)>>,
}

impl ManifestCache {
    /// The manifest of `project_dir`, or `None` while there is none (or it
    /// does not parse).
    pub(crate) fn get(&self, project_dir: &Path) -> Option<Arc<serde_json::Value>> {
        let stamp = std::fs::metadata(project_dir.join(super::data::MANIFEST)).ok().map(|m| Stamp::of(&m))?;
        if let Ok(parsed) = self.parsed.lock() {
            if let Some((dir, s, m)) = parsed.as_ref() {
                if dir == project_dir && *s == stamp {
                    return Some(m.clone());
                }
            }
        }
        // Stamped before reading, as runs are: a newer file is read again next time.
        let fresh = Arc::new(super::data::manifest(project_dir)?);
        if let Ok(mut parsed) = self.parsed.lock() {
            *parsed = Some((project_dir.to_path_buf(), stamp, fresh.clone()));
        }
        Some(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::TaskRecord;

    fn run(id: &str, state: RunState) -> RunRecord {
        let t = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").expect("time").to_utc();
        RunRecord {
            run_id: id.into(),
            dag_id: "d".into(),
            run_type: "manual".into(),
            logical_date: t,
            data_interval_start: t,
            data_interval_end: t,
            state,
            start: None,
            end: None,
            pid: std::process::id(),
            host: crate::db::Holder::current(String::new(), None, None).host,
            message: None,
            tasks: vec![TaskRecord { node: "model.p.a".into(), state: "success".into(), attempts: vec![] }],
        }
    }

    #[test]
    fn finished_runs_are_parsed_once_and_changes_are_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = History::new(dir.path());
        let cache = RunCache::default();
        drop(h.create(&run("manual__a", RunState::Success)).expect("create"));
        let first = cache.runs(&h, "d");
        let whole = h.runs("d");
        assert_eq!(first[0].full(&h).as_ref(), whole.first(), "the whole record, read again");
        assert_eq!(first[0].run, RunRecord { tasks: vec![], ..whole[0].clone() });
        assert_eq!(first[0].tasks, [(Arc::from("model.p.a"), Arc::from("success"))]);
        let again = cache.runs(&h, "d");
        assert!(Arc::ptr_eq(&first[0], &again[0]), "a finished run is not read again");

        // A cleared run is rewritten by its owner: the new file is read.
        let mut cleared = run("manual__a", RunState::Failed);
        cleared.message = Some("cleared and failed".into());
        h.update(&cleared).expect("update");
        assert_eq!(cache.runs(&h, "d")[0].run.message, cleared.message);

        // A running run (its owner alive) is read every time, never kept.
        let alive = h.create(&run("manual__b", RunState::Running)).expect("create").expect("created");
        let now = cache.runs(&h, "d");
        assert_eq!(now.len(), 2);
        assert_eq!(cache.len(), 1, "only the finished run is kept");
        let mut done = run("manual__b", RunState::Success);
        done.message = Some("done".into());
        h.update(&done).expect("update");
        drop(alive);
        assert_eq!(cache.runs(&h, "d")[1].run.message, done.message);

        // A deleted run leaves the cache.
        std::fs::remove_file(h.runs_dir("d").join("manual__a.json")).expect("remove");
        assert_eq!(cache.runs(&h, "d").len(), 1);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_running_run_of_a_dead_process_is_closed_as_history_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = History::new(dir.path());
        let cache = RunCache::default();
        drop(h.create(&run("manual__x", RunState::Running)).expect("create"));
        let runs = cache.runs(&h, "d");
        assert_eq!(runs[0].run.state, RunState::Failed);
        assert_eq!(h.runs("d")[0].state, RunState::Failed, "persisted");
    }

    #[test]
    fn the_manifest_is_parsed_once_per_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = ManifestCache::default();
        assert!(cache.get(dir.path()).is_none(), "no manifest yet");
        std::fs::create_dir_all(dir.path().join("target")).expect("mkdir");
        let path = dir.path().join("target/manifest.json");
        std::fs::write(&path, r#"{"nodes": {"model.p.a": {}}}"#).expect("write");
        let first = cache.get(dir.path()).expect("parsed");
        assert!(Arc::ptr_eq(&first, &cache.get(dir.path()).expect("again")), "not parsed again");
        // Commands write the manifest aside and rename it into place.
        let tmp = dir.path().join("target/manifest.json.tmp");
        std::fs::write(&tmp, r#"{"nodes": {"model.p.b": {}}}"#).expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
        assert!(cache.get(dir.path()).expect("new")["nodes"].get("model.p.b").is_some());
    }
}
