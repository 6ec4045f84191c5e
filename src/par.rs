//! Order-preserving parallel map over a slice, for work that is
//! independent from item to item: reading and parsing a project's files,
//! planning its generic tests, building manifest entries.
//!
//! Plain `std::thread::scope`: no pool outlives the call, nothing is shared
//! but the input slice, and results come back in input order, so whatever is
//! built from them is the same as a sequential loop would build.

/// Fewer items than this per thread are not worth a thread's start-up.
const MIN_PER_THREAD: usize = 32;

/// The stack of every thread that may render templates. A nested project
/// macro call takes about 6 KB of stack, more through filters and `call`
/// blocks; at the deepest nesting allowed (`limits`) a spawned
/// thread's default 2 MB leaves too little room. Only touched pages are
/// committed, so a large reservation costs nothing.
pub const STACK_SIZE: usize = 16 * 1024 * 1024;

/// `scope.spawn(f)`, on a thread with a [`STACK_SIZE`] stack.
pub fn spawn_scoped<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    spawn_named(scope, std::thread::Builder::new(), f)
}

/// [`spawn_scoped`] on a thread named `name` (node workers carry dbt's names).
pub fn spawn_scoped_named<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: String,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    spawn_named(scope, std::thread::Builder::new().name(name), f)
}

fn spawn_named<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    builder: std::thread::Builder,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    // As `Scope::spawn` does, a thread that cannot start is a panic.
    builder.stack_size(STACK_SIZE).spawn_scoped(scope, f).unwrap_or_else(|e| panic!("cannot start a thread: {e}"))
}

/// `items.iter().map(f).collect()`, on up to the machine's parallelism.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = cores.min(items.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| spawn_scoped(s, move || part.iter().map(f).collect::<Vec<R>>())).collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            // A panic in `f` is a bug: re-raise it on the calling thread.
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_input_order_across_threads() {
        let items: Vec<usize> = (0..1000).collect();
        let out = super::map(&items, |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(super::map(&items[..3], |i| i + 1), vec![1, 2, 3]);
        assert!(super::map(&[] as &[usize], |i| *i).is_empty());
    }
}
