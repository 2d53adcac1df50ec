//! The binary contract between the host and an adapter library.
//!
//! What crosses the boundary is bytes: canonical documents as contract-tagged JSON,
//! protocol bytes, a manifest as JSON, diagnostics as JSON. No Rust struct, enum,
//! future or allocator-owned buffer crosses it: output goes through a [`ByteSink`]
//! that the caller owns, so each side frees only what it allocated.
//!
//! The library exports one root module, an `abi_stable` prefix type ([`AdapterMod`]),
//! under a symbol named [`ROOT_SYMBOL_PREFIX`] + the crate name. The crate name makes it
//! unique, so any number of adapter crates can also link into one binary as built-ins;
//! the loader finds the symbol by its prefix. `abi_stable` checks the module's layout at
//! load time. Functions added later are appended after the last prefix field: an old host
//! does not see them, and a new host finds them absent (`None`) in an older library.
//!
//! | ABI | appended functions |
//! |-----|--------------------|
//! | 1.0 | `abi_version`, `manifest`, `create`, `decode`, `encode`, `destroy` |
//! | 1.1 | `decode_in_context`, `encode_in_context`: the calls with a [`CallContext`](crate::CallContext) |
//!
//! A library is checked against the layout of the version it reports ([`init_root_module`]),
//! and the host calls no function of a later version than that one.
//!
//! Every call is synchronous and CPU-bound; no runtime handle crosses.

use std::ffi::c_void;
use std::marker::PhantomData;

use abi_stable::StableAbi;
use abi_stable::library::{LibHeader, LibraryError, RootModule};
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RSlice, RStr};

/// The version of this contract. A host loads libraries of the same major version; the
/// minor version counts functions appended to [`AdapterMod`] since.
pub const ABI_VERSION: AbiVersion = AbiVersion { major: 1, minor: 1 };

/// The exported root module symbol starts with this; the crate name follows.
pub const ROOT_SYMBOL_PREFIX: &str = "tradewire_adapter_root__";

/// Status of a call: the output sink holds the result.
pub const STATUS_OK: u32 = 0;
/// Status of a call: the input was refused; the diagnostics sink says why.
pub const STATUS_REJECTED: u32 = 1;
/// Status of a call: the adapter failed (it panicked, or broke the contract); the
/// diagnostics sink says how.
pub const STATUS_FAILED: u32 = 2;

/// Major and minor version of the contract.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AbiVersion {
    pub major: u16,
    pub minor: u16,
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Where a callee writes its output: the caller's buffer behind a write function.
///
/// The callee may call `write` any number of times; the caller appends. Nothing is
/// returned for the caller to free.
#[repr(C)]
#[derive(StableAbi)]
pub struct ByteSink<'a> {
    context: *mut c_void,
    write: unsafe extern "C" fn(context: *mut c_void, bytes: *const u8, len: usize),
    _buffer: PhantomData<&'a mut ()>,
}

impl<'a> ByteSink<'a> {
    /// A sink that appends to `buffer`.
    pub fn new(buffer: &'a mut Vec<u8>) -> Self {
        unsafe extern "C" fn append(context: *mut c_void, bytes: *const u8, len: usize) {
            if len == 0 {
                return;
            }
            // SAFETY: `context` is the `&mut Vec<u8>` this sink was built from, alive for
            // 'a; `bytes` points to `len` readable bytes, as `ByteSink::write` guarantees.
            unsafe {
                let buffer = &mut *context.cast::<Vec<u8>>();
                buffer.extend_from_slice(std::slice::from_raw_parts(bytes, len));
            }
        }
        Self {
            context: std::ptr::from_mut(buffer).cast(),
            write: append,
            _buffer: PhantomData,
        }
    }

    /// Writes `bytes` to the caller's buffer.
    pub fn write(&mut self, bytes: &[u8]) {
        // SAFETY: the sink was built by `ByteSink::new` on the caller's side, whose
        // `write` reads exactly `bytes.len()` bytes from a valid slice.
        unsafe { (self.write)(self.context, bytes.as_ptr(), bytes.len()) }
    }
}

/// An adapter instance, opaque to the host: a pointer only its library interprets.
///
/// Only the SDK makes one (its `create` serves every library), so safe code outside it
/// cannot forge a handle to pass to [`AdapterMod::decode`] and the other functions that
/// dereference it.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct InstanceHandle(*mut c_void);

impl InstanceHandle {
    /// No instance: what a caller passes to `create` to be filled.
    pub(crate) const NULL: Self = Self(std::ptr::null_mut());

    pub(crate) fn from_ptr(pointer: *mut c_void) -> Self {
        Self(pointer)
    }

    pub(crate) fn as_ptr(self) -> *mut c_void {
        self.0
    }

    pub(crate) fn is_null(self) -> bool {
        self.0.is_null()
    }
}

// SAFETY: an instance is an `Adapter`, which is `Send + Sync`; the handle is only ever
// dereferenced by the library that created it.
unsafe impl Send for InstanceHandle {}
unsafe impl Sync for InstanceHandle {}

/// The root module every adapter library exports.
///
/// # Safety contract of the functions
///
/// `abi_version`, `manifest` and `create` are safe to call: what they take cannot be
/// invalid (a [`ByteSink`] is only made from a live buffer, and its lifetime ends with
/// the call). The functions that take an [`InstanceHandle`] are `unsafe`; their caller
/// guarantees that:
///
/// - the handle was written by this same module's `create`, which returned [`STATUS_OK`];
/// - `destroy` has not been called on it, and is not called while another call on it runs.
///
/// Calls on one handle may run at the same time from any threads: an instance is an
/// `Adapter`, which is `Send + Sync`.
///
/// # Versions
///
/// Fields after `destroy` were appended by a later minor version: their accessors return
/// `None` for a library that lacks them. Call them only through
/// [`AdapterModule`](crate::AdapterModule), which also refuses them to a library whose
/// reported version predates them.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = AdapterModRef)))]
#[sabi(missing_field(option))]
pub struct AdapterMod {
    /// The contract version the library was built against.
    pub abi_version: extern "C" fn() -> AbiVersion,
    /// Writes the manifest as JSON (see [`crate::Manifest`]).
    pub manifest: extern "C" fn(out: ByteSink<'_>),
    /// Creates an instance from a JSON config. On [`STATUS_OK`] `instance` is set.
    pub create: extern "C" fn(
        config: RSlice<'_, u8>,
        instance: &mut InstanceHandle,
        diagnostics: ByteSink<'_>,
    ) -> u32,
    /// Protocol bytes of `message` in, a canonical document (contract-tagged JSON) out.
    ///
    /// # Safety
    /// `instance` is live, as the [type's contract](AdapterMod#safety-contract-of-the-functions) says.
    pub decode: unsafe extern "C" fn(
        instance: InstanceHandle,
        message: RStr<'_>,
        input: RSlice<'_, u8>,
        out: ByteSink<'_>,
        diagnostics: ByteSink<'_>,
    ) -> u32,
    /// A canonical document (contract-tagged JSON) in, protocol bytes of `message` out.
    ///
    /// # Safety
    /// `instance` is live, as the [type's contract](AdapterMod#safety-contract-of-the-functions) says.
    pub encode: unsafe extern "C" fn(
        instance: InstanceHandle,
        message: RStr<'_>,
        document: RSlice<'_, u8>,
        out: ByteSink<'_>,
        diagnostics: ByteSink<'_>,
    ) -> u32,
    /// Frees an instance.
    ///
    /// # Safety
    /// `instance` is live, as the [type's contract](AdapterMod#safety-contract-of-the-functions)
    /// says, no other call on it is running, and it is not used again.
    #[sabi(last_prefix_field)]
    pub destroy: unsafe extern "C" fn(instance: InstanceHandle),

    // ABI 1.1
    /// [`decode`](Self::decode) with the call's `context`: a [`CallContext`](crate::CallContext) as JSON
    /// (empty for the default one).
    ///
    /// # Safety
    /// `instance` is live, as the [type's contract](AdapterMod#safety-contract-of-the-functions) says.
    pub decode_in_context: unsafe extern "C" fn(
        instance: InstanceHandle,
        message: RStr<'_>,
        context: RSlice<'_, u8>,
        input: RSlice<'_, u8>,
        out: ByteSink<'_>,
        diagnostics: ByteSink<'_>,
    ) -> u32,
    /// [`encode`](Self::encode) with the call's `context`: a [`CallContext`](crate::CallContext) as JSON
    /// (empty for the default one).
    ///
    /// # Safety
    /// `instance` is live, as the [type's contract](AdapterMod#safety-contract-of-the-functions) says.
    pub encode_in_context: unsafe extern "C" fn(
        instance: InstanceHandle,
        message: RStr<'_>,
        context: RSlice<'_, u8>,
        document: RSlice<'_, u8>,
        out: ByteSink<'_>,
        diagnostics: ByteSink<'_>,
    ) -> u32,
}

impl RootModule for AdapterModRef {
    abi_stable::declare_root_module_statics! {AdapterModRef}

    const BASE_NAME: &'static str = "tradewire_adapter";
    const NAME: &'static str = "tradewire adapter";
    // Tied to the contract's major version, not to the SDK's crate version: an SDK
    // release that keeps the contract must not make abi_stable refuse its libraries.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

/// The root module of a library loaded from `header`, checked against the layout of the
/// ABI version the library reports.
///
/// abi_stable refuses a library whose prefix type has fewer fields than the host's, so a
/// 1.0 library could not load into a 1.1 host by its checks alone. Every library of
/// major version 1 has the 1.0 layout ([`v1_0::AdapterMod`]) as its prefix: that is
/// checked first, which makes `abi_version` safe to call; a library that reports a later
/// minor version is then checked against the whole of this host's layout (a later
/// library only appends to it). [`AdapterModule`](crate::AdapterModule) calls no
/// function of a version later than the library's, so what was not checked is not called.
///
/// Appending functions for ABI 1.2 means freezing today's layout as `v1_1` beside
/// [`v1_0`], and checking a library that reports 1.1 against it.
pub fn init_root_module(header: &LibHeader) -> Result<AdapterModRef, LibraryError> {
    header.ensure_layout::<v1_0::AdapterModRef>()?;
    // SAFETY: the 1.0 layout, `AdapterModRef`'s prefix, was checked just above; the
    // fields after it are read only when the whole layout is checked below, or not at all
    // (see `AdapterModule`).
    let root = unsafe { header.init_root_module_with_unchecked_layout::<AdapterModRef>() }?;
    let reported = (root.abi_version())();
    if reported.major == ABI_VERSION.major && reported.minor > 0 {
        header.ensure_layout::<AdapterModRef>()?;
    }
    Ok(root)
}

/// The root module as ABI 1.0 froze it: the layout every library of major version 1
/// starts with. The loader checks libraries against it ([`init_root_module`]), and a
/// test library exports it to stand for a library built before 1.1. Never changes.
///
/// Same type name and package as the current [`AdapterMod`](crate::abi::AdapterMod), which
/// abi_stable compares, so that the two layouts are comparable.
#[doc(hidden)]
pub mod v1_0 {
    use abi_stable::StableAbi;
    use abi_stable::library::RootModule;
    use abi_stable::sabi_types::VersionStrings;
    use abi_stable::std_types::{RSlice, RStr};

    use super::{AbiVersion, ByteSink, InstanceHandle};

    /// The fields of [`super::AdapterMod`] up to `destroy`, with the same contract.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = AdapterModRef)))]
    #[sabi(missing_field(option))]
    pub struct AdapterMod {
        pub abi_version: extern "C" fn() -> AbiVersion,
        pub manifest: extern "C" fn(out: ByteSink<'_>),
        pub create: extern "C" fn(
            config: RSlice<'_, u8>,
            instance: &mut InstanceHandle,
            diagnostics: ByteSink<'_>,
        ) -> u32,
        pub decode: unsafe extern "C" fn(
            instance: InstanceHandle,
            message: RStr<'_>,
            input: RSlice<'_, u8>,
            out: ByteSink<'_>,
            diagnostics: ByteSink<'_>,
        ) -> u32,
        pub encode: unsafe extern "C" fn(
            instance: InstanceHandle,
            message: RStr<'_>,
            document: RSlice<'_, u8>,
            out: ByteSink<'_>,
            diagnostics: ByteSink<'_>,
        ) -> u32,
        #[sabi(last_prefix_field)]
        pub destroy: unsafe extern "C" fn(instance: InstanceHandle),
    }

    impl RootModule for AdapterModRef {
        abi_stable::declare_root_module_statics! {AdapterModRef}

        const BASE_NAME: &'static str = "tradewire_adapter";
        const NAME: &'static str = "tradewire adapter";
        const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
    }
}
