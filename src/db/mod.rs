//! Access to the DuckDB file: the cross-process lock that serializes `runner`
//! processes, and the in-process registry that opens each database file once.
//!
//! Owns nothing but the wiring of its submodules (the lock and its queue, the
//! registry, the spare instance and attaching, the C-API reader, profile setup). It must not run models,
//! print to the console, or know about DAGs; callers decide what to say while
//! waiting and which lock mode a command needs. The order callers follow is:
//! [`acquire`] the lock, [`open`] the database, drop every connection and the
//! [`Database`], then drop the [`LockGuard`].

mod attach;
pub mod liveness;
pub mod lock;
pub mod queue;
pub mod raw;
pub mod registry;
pub mod setup;
mod spare;

pub use lock::{acquire, lock_path, read_holder, Holder, LockError, LockGuard, LockMode, LockRequest};
pub use registry::{open, Database, OpenError};
pub use setup::{attach, check_path, check_profile, create_secrets, load_extensions, ProfileError, SetupError};
pub use spare::{discard as discard_spare, prestart, prestart_and_wait};
