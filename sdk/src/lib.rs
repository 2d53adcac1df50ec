//! The Tradewire adapter SDK.
//!
//! Implement [`Adapter`] for a type, export it with [`export_adapter!`], build the crate
//! as `cdylib` (and `rlib` to link it as a built-in), and the host can load it. The
//! canonical model is re-exported as [`core`], so an adapter depends on
//! this crate alone.
//!
//! - [`abi`]: the binary contract (what crosses the library boundary).
//! - [`AdapterModule`] / [`AdapterInstance`]: the caller's safe side of it.
//! - [`form`], [`xml`], [`check`]: helpers every protocol adapter needs.
//! - [`conformance`]: the kit that checks an adapter against fixtures.
//! - [`pipe`]: the same calls over stdin/stdout, for adapters in a child process.

pub mod abi;
mod adapter;
mod builtin;
pub mod check;
pub mod conformance;
mod context;
mod export;
pub mod form;
#[doc(hidden)]
pub mod glue;
mod manifest;
mod module;
pub mod pipe;
pub mod xml;

pub use adapter::Adapter;
pub use builtin::{Builtin, builtins};
pub use context::CallContext;
pub use manifest::{AdapterInfo, Direction, Manifest, MessageSpec};
pub use module::{AdapterInstance, AdapterModule, CallError, ModuleError, Reply};
pub use tradewire_core as core;
pub use tradewire_core::{Accepted, Diagnostic, Diagnostics, Document, DocumentKind, Outcome};

#[doc(hidden)]
pub mod __private {
    pub use abi_stable::library::{
        __call_root_module_loader as call_root_module_loader, CheckTypeLayout, LibHeader,
        RootModuleResult,
    };
    pub use inventory;
}
