//! Built-in adapters: linked into the host binary and found through `inventory`.

use crate::abi::AdapterModRef;

/// One built-in adapter, submitted by [`crate::export_adapter!`].
pub struct Builtin {
    root: fn() -> AdapterModRef,
}

impl Builtin {
    #[doc(hidden)]
    pub const fn new(root: fn() -> AdapterModRef) -> Self {
        Self { root }
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
