//! The caller's side of the ABI: a safe handle on a root module, whether it is a
//! built-in or came from a dynamic library. The host and the conformance kit both call
//! adapters through this, so the two paths never drift apart.

use std::fmt;
use std::sync::Arc;

use abi_stable::std_types::{RSlice, RStr};
use tradewire_core::{Diagnostic, Diagnostics};

use crate::abi::{
    ABI_VERSION, AbiVersion, AdapterModRef, ByteSink, InstanceHandle, STATUS_OK, STATUS_REJECTED,
};
use crate::{CallContext, Manifest};

/// A root module whose ABI version and manifest have been checked.
#[derive(Clone)]
pub struct AdapterModule {
    root: AdapterModRef,
    /// What the library reports: no function of a later minor version is called.
    abi: AbiVersion,
    manifest: Arc<Manifest>,
}

impl fmt::Debug for AdapterModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdapterModule")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .finish()
    }
}

/// Why a root module cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// Built against a contract of another major version, or of a newer minor one.
    AbiVersion {
        library: AbiVersion,
        host: AbiVersion,
    },
    /// The manifest is empty or not the expected JSON.
    Manifest(String),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AbiVersion { library, host } => write!(
                f,
                "built for adapter ABI {library}; this host loads ABI {}.0 to {host}",
                host.major
            ),
            Self::Manifest(why) => write!(f, "unreadable manifest: {why}"),
        }
    }
}

impl std::error::Error for ModuleError {}

impl AdapterModule {
    /// Checks the module's ABI version and reads its manifest.
    ///
    /// # Safety
    ///
    /// The module's functions keep [`AdapterMod`](crate::abi::AdapterMod)'s contract with
    /// each other: those that take an instance accept every handle its `create` writes.
    /// Modules the SDK builds for one adapter type ([`Self::of`], the built-ins, the root
    /// module `export_adapter!` exports) do; one put together from the functions of
    /// different modules does not, and calling it would read one adapter's instance as
    /// another's.
    pub unsafe fn new(root: AdapterModRef) -> Result<Self, ModuleError> {
        let library = (root.abi_version())();
        if library.major != ABI_VERSION.major || library.minor > ABI_VERSION.minor {
            return Err(ModuleError::AbiVersion {
                library,
                host: ABI_VERSION,
            });
        }
        let mut json = Vec::new();
        (root.manifest())(ByteSink::new(&mut json));
        if json.is_empty() {
            return Err(ModuleError::Manifest(
                "the library wrote no manifest (its describe() panicked?)".into(),
            ));
        }
        let manifest: Manifest =
            serde_json::from_slice(&json).map_err(|e| ModuleError::Manifest(e.to_string()))?;
        if manifest.name.trim().is_empty() {
            return Err(ModuleError::Manifest("the adapter has no name".into()));
        }
        Ok(Self {
            root,
            abi: library,
            manifest: Arc::new(manifest),
        })
    }

    /// The contract version the library was built against: which calls it has.
    pub fn abi(&self) -> AbiVersion {
        self.abi
    }

    /// The module of adapter type `A`, called through the same ABI as a loaded library:
    /// how tests and the conformance kit reach an adapter they link.
    pub fn of<A: crate::Adapter>() -> Result<Self, ModuleError> {
        // SAFETY: every function of the module is the SDK's glue for `A`.
        unsafe { Self::new(crate::glue::module::<A>()) }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Creates an instance from a JSON config (`{}` or empty for the defaults).
    ///
    /// The host validates the config against the manifest's schema before this; the
    /// adapter checks it again as it deserialises it.
    pub fn instantiate(&self, config: &[u8]) -> Result<AdapterInstance, CallError> {
        let mut handle = InstanceHandle::NULL;
        let mut diagnostics = Vec::new();
        let status = (self.root.create())(
            RSlice::from_slice(config),
            &mut handle,
            ByteSink::new(&mut diagnostics),
        );
        let diagnostics = parse_diagnostics(&diagnostics);
        if status != STATUS_OK || handle.is_null() {
            return Err(CallError::from_status(status, diagnostics));
        }
        Ok(AdapterInstance {
            module: self.clone(),
            handle,
        })
    }
}

/// A configured adapter, ready for calls from any thread. Dropping it frees it in its
/// library.
pub struct AdapterInstance {
    module: AdapterModule,
    handle: InstanceHandle,
}

impl fmt::Debug for AdapterInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdapterInstance")
            .field("adapter", &self.module.manifest.name)
            .finish()
    }
}

/// What a successful call produced: bytes, and the warnings that came with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub warnings: Diagnostics,
}

/// Why a call produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The input was refused.
    Rejected(Diagnostics),
    /// The adapter failed: it panicked or broke the contract. The host keeps serving.
    Failed(Diagnostics),
    /// The library was built against an older ABI that lacks this call (code
    /// `adapter.call_unsupported`); nothing was called. The call without a context is
    /// the fallback.
    Unsupported(Diagnostics),
}

impl CallError {
    fn from_status(status: u32, diagnostics: Diagnostics) -> Self {
        let diagnostics = if diagnostics.is_empty() {
            Diagnostic::error(
                "",
                "adapter.failed",
                format!("the adapter returned status {status} and no diagnostics"),
            )
            .into()
        } else {
            diagnostics
        };
        if status == STATUS_REJECTED {
            Self::Rejected(diagnostics)
        } else {
            Self::Failed(diagnostics)
        }
    }

    fn unsupported(call: &str, library: AbiVersion, needs: AbiVersion) -> Self {
        Self::Unsupported(
            Diagnostic::error(
                "",
                "adapter.call_unsupported",
                format!(
                    "`{call}` is not supported by this library (ABI {library}; it needs {needs})"
                ),
            )
            .into(),
        )
    }

    pub fn diagnostics(&self) -> &Diagnostics {
        match self {
            Self::Rejected(d) | Self::Failed(d) | Self::Unsupported(d) => d,
        }
    }

    pub fn into_diagnostics(self) -> Diagnostics {
        match self {
            Self::Rejected(d) | Self::Failed(d) | Self::Unsupported(d) => d,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(d) => write!(f, "input rejected:\n{d}"),
            Self::Failed(d) => write!(f, "adapter failed:\n{d}"),
            Self::Unsupported(d) => write!(f, "call not supported:\n{d}"),
        }
    }
}

impl std::error::Error for CallError {}

impl AdapterInstance {
    pub fn manifest(&self) -> &Manifest {
        self.module.manifest()
    }

    /// Protocol bytes of `message` → canonical document JSON (contract-tagged).
    pub fn decode(&self, message: &str, input: &[u8]) -> Result<Reply, CallError> {
        let decode = self.module.root.decode();
        self.call(|handle, out, diagnostics| {
            // SAFETY: `call` passes this instance's live handle.
            unsafe {
                decode(
                    handle,
                    RStr::from_str(message),
                    RSlice::from_slice(input),
                    out,
                    diagnostics,
                )
            }
        })
    }

    /// Canonical document JSON (contract-tagged) → protocol bytes of `message`.
    pub fn encode(&self, message: &str, document: &[u8]) -> Result<Reply, CallError> {
        let encode = self.module.root.encode();
        self.call(|handle, out, diagnostics| {
            // SAFETY: `call` passes this instance's live handle.
            unsafe {
                encode(
                    handle,
                    RStr::from_str(message),
                    RSlice::from_slice(document),
                    out,
                    diagnostics,
                )
            }
        })
    }

    /// [`decode`](Self::decode) with the call's context (ABI 1.1). A library built
    /// against ABI 1.0 returns [`CallError::Unsupported`]: call `decode` instead.
    pub fn decode_in_context(
        &self,
        message: &str,
        input: &[u8],
        context: &CallContext,
    ) -> Result<Reply, CallError> {
        let decode = self
            .since(ABI_1_1, |root| root.decode_in_context())
            .ok_or_else(|| CallError::unsupported("decode_in_context", self.module.abi, ABI_1_1))?;
        let context = context.to_json();
        self.call(|handle, out, diagnostics| {
            // SAFETY: `call` passes this instance's live handle.
            unsafe {
                decode(
                    handle,
                    RStr::from_str(message),
                    RSlice::from_slice(&context),
                    RSlice::from_slice(input),
                    out,
                    diagnostics,
                )
            }
        })
    }

    /// [`encode`](Self::encode) with the call's context (ABI 1.1). A library built
    /// against ABI 1.0 returns [`CallError::Unsupported`]: call `encode` instead.
    pub fn encode_in_context(
        &self,
        message: &str,
        document: &[u8],
        context: &CallContext,
    ) -> Result<Reply, CallError> {
        let encode = self
            .since(ABI_1_1, |root| root.encode_in_context())
            .ok_or_else(|| CallError::unsupported("encode_in_context", self.module.abi, ABI_1_1))?;
        let context = context.to_json();
        self.call(|handle, out, diagnostics| {
            // SAFETY: `call` passes this instance's live handle.
            unsafe {
                encode(
                    handle,
                    RStr::from_str(message),
                    RSlice::from_slice(&context),
                    RSlice::from_slice(document),
                    out,
                    diagnostics,
                )
            }
        })
    }

    /// A function appended to the root module in ABI `version`, when the library has it.
    /// Both must hold: the library reports that version (only then was its layout checked
    /// that far, see [`crate::abi::init_root_module`]) and the field exists.
    fn since<F>(
        &self,
        version: AbiVersion,
        field: impl FnOnce(AdapterModRef) -> Option<F>,
    ) -> Option<F> {
        if self.module.abi.minor >= version.minor {
            field(self.module.root)
        } else {
            None
        }
    }

    /// Runs `function` with this instance's handle and two fresh sinks, and reads its
    /// status and sinks into the result.
    ///
    /// The handle passed to `function` came from this module's `create` with STATUS_OK
    /// and is destroyed only when `self` drops, after every call on it has returned.
    fn call(
        &self,
        function: impl FnOnce(InstanceHandle, ByteSink<'_>, ByteSink<'_>) -> u32,
    ) -> Result<Reply, CallError> {
        let mut out = Vec::new();
        let mut diagnostics = Vec::new();
        let status = function(
            self.handle,
            ByteSink::new(&mut out),
            ByteSink::new(&mut diagnostics),
        );
        let diagnostics = parse_diagnostics(&diagnostics);
        if status == STATUS_OK {
            Ok(Reply {
                bytes: out,
                warnings: diagnostics,
            })
        } else {
            Err(CallError::from_status(status, diagnostics))
        }
    }
}

/// The version that appended the calls with a context.
const ABI_1_1: AbiVersion = AbiVersion { major: 1, minor: 1 };

impl Drop for AdapterInstance {
    fn drop(&mut self) {
        // SAFETY: the handle came from this module's `create`; `&mut self` means no call
        // on it is running, and it is not used again.
        unsafe { (self.module.root.destroy())(self.handle) }
    }
}

fn parse_diagnostics(bytes: &[u8]) -> Diagnostics {
    if bytes.is_empty() {
        return Diagnostics::new();
    }
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        Diagnostic::error(
            "",
            "adapter.bad_diagnostics",
            format!("the adapter wrote unreadable diagnostics: {e}"),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use abi_stable::prefix_type::PrefixTypeTrait;

    use super::*;
    use crate::abi::{AdapterMod, STATUS_FAILED};

    extern "C" fn newer_minor() -> AbiVersion {
        AbiVersion {
            major: ABI_VERSION.major,
            minor: ABI_VERSION.minor + 1,
        }
    }

    extern "C" fn same_version() -> AbiVersion {
        ABI_VERSION
    }

    extern "C" fn no_manifest(_: ByteSink<'_>) {}

    extern "C" fn create(_: RSlice<'_, u8>, _: &mut InstanceHandle, _: ByteSink<'_>) -> u32 {
        STATUS_FAILED
    }

    unsafe extern "C" fn call(
        _: InstanceHandle,
        _: RStr<'_>,
        _: RSlice<'_, u8>,
        _: ByteSink<'_>,
        _: ByteSink<'_>,
    ) -> u32 {
        STATUS_FAILED
    }

    unsafe extern "C" fn call_in_context(
        _: InstanceHandle,
        _: RStr<'_>,
        _: RSlice<'_, u8>,
        _: RSlice<'_, u8>,
        _: ByteSink<'_>,
        _: ByteSink<'_>,
    ) -> u32 {
        STATUS_FAILED
    }

    unsafe extern "C" fn destroy(_: InstanceHandle) {}

    /// A module whose functions all fail, reporting the version `abi_version` returns.
    fn module_reporting(abi_version: extern "C" fn() -> AbiVersion) -> AdapterModRef {
        AdapterMod {
            abi_version,
            manifest: no_manifest,
            create,
            decode: call,
            encode: call,
            destroy,
            decode_in_context: call_in_context,
            encode_in_context: call_in_context,
        }
        .leak_into_prefix()
    }

    #[test]
    fn a_library_of_a_newer_minor_version_is_refused_and_one_of_this_version_is_not() {
        // SAFETY (both calls): the module's functions never read a handle.
        let refused =
            unsafe { AdapterModule::new(module_reporting(newer_minor)) }.expect_err("newer");
        assert_eq!(
            refused,
            ModuleError::AbiVersion {
                library: newer_minor(),
                host: ABI_VERSION
            }
        );
        assert!(
            refused
                .to_string()
                .contains(&format!("this host loads ABI 1.0 to {ABI_VERSION}")),
            "{refused}"
        );
        // Past the version check, this module fails only for having no manifest.
        assert!(matches!(
            unsafe { AdapterModule::new(module_reporting(same_version)) },
            Err(ModuleError::Manifest(_))
        ));
    }
}
