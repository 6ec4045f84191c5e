//! Bounds on the Jinja work of one render: how deeply project macros nest,
//! and how many template instructions run. Every Jinja environment of
//! `runner` takes its budget from here: `template`'s, and the small ones
//! rendering `profiles.yml` (`project::profile`) and `packages.yml`
//! (`deps::render`). It knows minijinja and nothing of the crate.
//!
//! minijinja bounds both itself, but per render state: its recursion limit
//! and its fuel start afresh in every state. A call to a project macro
//! renders the macro's file in a new state (`template::macros::MacroRef`), so
//! a macro calling itself reset both at every call and overflowed the
//! thread's stack (an abort, with no file named), and a loop calling a macro
//! that loops ran for ever. This module carries both counts across those
//! re-entries, per thread (a render never leaves its thread), and words the
//! errors. The limits sit far above what projects do: dbt itself stops at
//! Python's recursion limit, about 140 nested macro calls; dbt_utils'
//! `date_spine` over ten years or a loop over a few thousand columns costs
//! well under a million instructions.

use minijinja::{Error, ErrorKind, State};
use std::cell::Cell;

/// Project macro calls nested in one render, a macro calling itself included.
pub(crate) const MAX_MACRO_DEPTH: usize = 200;

/// Template instructions one render may run, in its own file and every macro
/// it calls (each loop iteration costs a few).
pub(crate) const MAX_INSTRUCTIONS: u64 = 200_000_000;

/// The counts of the render running on this thread.
#[derive(Debug, Clone, Copy, Default)]
struct Work {
    /// Project macro calls in progress.
    depth: usize,
    /// Instructions of the macro states that have finished.
    done: u64,
    /// Instructions of the states waiting on a macro call, at the call.
    waiting: u64,
}

thread_local! {
    static WORK: Cell<Work> = const { Cell::new(Work { depth: 0, done: 0, waiting: 0 }) };
}

/// Runs one top-level render (a model, a test, a config string, …) with an
/// instruction budget of its own. The depth carries on: it is balanced by
/// each call's guard, and nothing renders a template inside a macro call.
pub(crate) fn render<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Work);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0;
            WORK.with(|w| w.set(Work { depth: w.get().depth, ..outer }));
        }
    }
    let _restore = Restore(WORK.with(|w| w.replace(Work { done: 0, waiting: 0, ..w.get() })));
    f()
}

/// Instructions a state has run so far.
pub(crate) fn consumed(state: &State<'_, '_>) -> u64 {
    state.fuel_levels().map_or(0, |(used, _)| used)
}

/// One project macro call in progress; dropping it ends the call.
#[derive(Debug)]
pub(crate) struct Call {
    /// The calling state's instructions at the call.
    caller: u64,
}

impl Call {
    /// Starts a call of macro `name` from `state`, unless it nests too deep or
    /// the render has spent its budget.
    pub(crate) fn enter(state: &State<'_, '_>, name: &str) -> Result<Call, Error> {
        let caller = consumed(state);
        WORK.with(|w| {
            let mut work = w.get();
            if work.depth >= MAX_MACRO_DEPTH {
                return Err(too_deep(name));
            }
            if work.done + work.waiting + caller > MAX_INSTRUCTIONS {
                return Err(Error::from(ErrorKind::OutOfFuel));
            }
            work.depth += 1;
            work.waiting += caller;
            w.set(work);
            Ok(Call { caller })
        })
    }

    /// Ends the call, whose own state ran `used` instructions; an error when
    /// that spent the render's budget.
    pub(crate) fn finish(self, used: u64) -> Result<(), Error> {
        WORK.with(|w| {
            let mut work = w.get();
            work.done = work.done.saturating_add(used);
            w.set(work);
            if work.done + work.waiting > MAX_INSTRUCTIONS {
                return Err(Error::from(ErrorKind::OutOfFuel));
            }
            Ok(())
        })
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        WORK.with(|w| {
            let mut work = w.get();
            work.depth = work.depth.saturating_sub(1);
            work.waiting = work.waiting.saturating_sub(self.caller);
            w.set(work);
        });
    }
}

fn too_deep(name: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "macro calls nested more than {MAX_MACRO_DEPTH} deep (runner's limit) at `{name}` \
             (hint: a macro that calls itself needs a condition that stops the recursion)"
        ),
    )
}

/// What running out of instructions means, for the error message.
pub(crate) fn out_of_fuel_message() -> String {
    format!(
        "jinja work limit reached: more than {} template instructions in one render \
         (hint: look for a loop that never ends or runs far more often than intended; \
         the limit is runner's, far above what dbt projects need)",
        group_thousands(MAX_INSTRUCTIONS)
    )
}

/// `200000000` → `200,000,000`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group_thousands(200_000_000), "200,000,000");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
    }

    #[test]
    fn a_render_starts_with_a_fresh_budget_and_restores_the_outer_one() {
        WORK.with(|w| w.set(Work { depth: 3, done: 7, waiting: 1 }));
        render(|| {
            let inner = WORK.with(Cell::get);
            assert_eq!((inner.depth, inner.done, inner.waiting), (3, 0, 0));
            WORK.with(|w| w.set(Work { depth: 3, done: 99, waiting: 0 }));
        });
        let outer = WORK.with(Cell::get);
        assert_eq!((outer.depth, outer.done, outer.waiting), (3, 7, 1));
        WORK.with(|w| w.set(Work::default()));
    }
}
