//! Starting and stopping the processes kai runs, as the right OS account:
//! the allow-listed environment every child starts with (`env.rs`), an
//! agent's process and its stderr (`spawn.rs`), the sudo commands that
//! reach another account (`sudo.rs`), and finding and killing a whole
//! process tree (`tree.rs`). The agents, the file helpers (`files/`) and the
//! daemon all use it.

pub(crate) mod env;
pub(crate) mod spawn;
pub mod sudo;
pub mod tree;
