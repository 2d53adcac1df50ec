//! The caller's side of the ABI: a safe handle on a root module, whether it is a
//! built-in or came from a dynamic library. The host and the conformance kit both call
//! adapters through this, so the two paths never drift apart.

use std::fmt;
use std::sync::Arc;

use abi_stable::std_types::{RSlice, RStr};
use tradewire_core::{Diagnostic, Diagnostics};

use crate::Manifest;
use crate::abi::{
    ABI_VERSION, AbiVersion, AdapterModRef, ByteSink, InstanceHandle, STATUS_OK, STATUS_REJECTED,
};

/// A root module whose ABI version and manifest have been checked.
#[derive(Clone)]
pub struct AdapterModule {
    root: AdapterModRef,
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
    pub fn new(root: AdapterModRef) -> Result<Self, ModuleError> {
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
            manifest: Arc::new(manifest),
        })
    }

    /// The module of adapter type `A`, called through the same ABI as a loaded library:
    /// how tests and the conformance kit reach an adapter they link.
    pub fn of<A: crate::Adapter>() -> Result<Self, ModuleError> {
        Self::new(crate::glue::module::<A>())
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

    pub fn diagnostics(&self) -> &Diagnostics {
        match self {
            Self::Rejected(d) | Self::Failed(d) => d,
        }
    }

    pub fn into_diagnostics(self) -> Diagnostics {
        match self {
            Self::Rejected(d) | Self::Failed(d) => d,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(d) => write!(f, "input rejected:\n{d}"),
            Self::Failed(d) => write!(f, "adapter failed:\n{d}"),
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
        self.call(self.module.root.decode(), message, input)
    }

    /// Canonical document JSON (contract-tagged) → protocol bytes of `message`.
    pub fn encode(&self, message: &str, document: &[u8]) -> Result<Reply, CallError> {
        self.call(self.module.root.encode(), message, document)
    }

    fn call(
        &self,
        function: unsafe extern "C" fn(
            InstanceHandle,
            RStr<'_>,
            RSlice<'_, u8>,
            ByteSink<'_>,
            ByteSink<'_>,
        ) -> u32,
        message: &str,
        input: &[u8],
    ) -> Result<Reply, CallError> {
        let mut out = Vec::new();
        let mut diagnostics = Vec::new();
        // SAFETY: the handle came from this module's `create` with STATUS_OK and is
        // destroyed only when `self` drops, after every call on it has returned.
        let status = unsafe {
            function(
                self.handle,
                RStr::from_str(message),
                RSlice::from_slice(input),
                ByteSink::new(&mut out),
                ByteSink::new(&mut diagnostics),
            )
        };
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
