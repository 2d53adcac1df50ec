//! The Tradewire host: the adapter registry, the plugin loader and the `tradewire` CLI.

mod builtins;
pub mod cli;
pub mod loader;
pub mod memory;
pub mod registry;

pub use registry::{Entry, LoadOptions, Origin, Registry};
