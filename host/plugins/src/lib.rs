//! The adapters a host can call: those linked into it and those loaded from libraries,
//! each checked before it is trusted.

mod builtins;
pub mod loader;
pub mod memory;
pub mod registry;

pub use registry::{Entry, LoadOptions, Origin, Registry};
