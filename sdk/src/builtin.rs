//! Built-in adapters: linked into the host binary and found through `inventory`.

use crate::abi::AdapterModRef;
use crate::{Adapter, glue};

/// One built-in adapter, submitted by [`crate::export_adapter!`].
///
/// It can only be made for an [`Adapter`] type, whose module the SDK builds: the host
/// relies on a built-in's functions agreeing with each other on what a handle points to
/// (see [`AdapterModule::new`](crate::AdapterModule::new)).
pub struct Builtin {
    root: fn() -> AdapterModRef,
}

impl Builtin {
    #[doc(hidden)]
    pub const fn of<A: Adapter>() -> Self {
        Self {
            root: glue::module::<A>,
        }
    }

    pub fn root(&self) -> AdapterModRef {
        (self.root)()
    }
}

inventory::collect!(Builtin);

/// The root modules of every adapter linked into this binary.
pub fn builtins() -> impl Iterator<Item = AdapterModRef> {
    inventory::iter::<Builtin>.into_iter().map(Builtin::root)
}
