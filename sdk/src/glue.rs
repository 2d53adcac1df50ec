//! The SDK side of the ABI: generic `extern "C"` functions that serve an [`Adapter`]
//! through [`AdapterMod`]. Every call is wrapped in `catch_unwind`.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::prefix_type::WithMetadata;
use abi_stable::std_types::{RSlice, RStr};
use tradewire_core::{Diagnostic, Diagnostics, Document, Outcome, from_json_with_paths};

use crate::abi::{
    ABI_VERSION, AbiVersion, AdapterMod, AdapterModRef, ByteSink, InstanceHandle, STATUS_FAILED,
    STATUS_OK, STATUS_REJECTED, v1_0,
};
use crate::{Adapter, AdapterInfo, CallContext, Direction, Manifest, MessageSpec};

/// The root module serving adapter `A`. Built at compile time; costs nothing to call.
pub fn module<A: Adapter>() -> AdapterModRef {
    AdapterModRef(
        const {
            &WithMetadata::new(AdapterMod {
                abi_version,
                manifest: manifest::<A>,
                create: create::<A>,
                decode: decode::<A>,
                encode: encode::<A>,
                destroy: destroy::<A>,
                decode_in_context: decode_in_context::<A>,
                encode_in_context: encode_in_context::<A>,
            })
        }
        .static_as_prefix(),
    )
}

/// The root module an SDK of ABI 1.0 exported for `A`: no 1.1 function, and 1.0 reported
/// by `abi_version` and the manifest. It lets tests load a real 1.0 library into this
/// host (`tests/fixtures/abi-1-0`).
pub fn module_v1_0<A: Adapter>() -> v1_0::AdapterModRef {
    v1_0::AdapterModRef(
        const {
            &WithMetadata::new(v1_0::AdapterMod {
                abi_version: abi_version_1_0,
                manifest: manifest_v1_0::<A>,
                create: create::<A>,
                decode: decode::<A>,
                encode: encode::<A>,
                destroy: destroy::<A>,
            })
        }
        .static_as_prefix(),
    )
}

/// Builds the manifest of `A`.
pub fn manifest_of<A: Adapter>() -> Manifest {
    let info = A::describe();
    let config_schema =
        schemars::SchemaGenerator::new(schemars::generate::SchemaSettings::draft2020_12())
            .into_root_schema_for::<A::Config>()
            .to_value();
    Manifest {
        name: info.name,
        version: info.version,
        vendor: info.vendor,
        description: info.description,
        abi: ABI_VERSION,
        sdk_version: env!("CARGO_PKG_VERSION").to_owned(),
        messages: info.messages,
        config_schema,
    }
}

extern "C" fn abi_version() -> AbiVersion {
    ABI_VERSION
}

const ABI_1_0: AbiVersion = AbiVersion { major: 1, minor: 0 };

extern "C" fn abi_version_1_0() -> AbiVersion {
    ABI_1_0
}

extern "C" fn manifest<A: Adapter>(out: ByteSink<'_>) {
    write_manifest(manifest_of::<A>, out);
}

extern "C" fn manifest_v1_0<A: Adapter>(out: ByteSink<'_>) {
    write_manifest(
        || Manifest {
            abi: ABI_1_0,
            ..manifest_of::<A>()
        },
        out,
    );
}

fn write_manifest(manifest: impl FnOnce() -> Manifest, mut out: ByteSink<'_>) {
    // A panic in `describe` leaves the sink empty; the host refuses an empty manifest.
    if let Ok(json) = catch_unwind(AssertUnwindSafe(|| serde_json::to_vec(&manifest()))) {
        out.write(&json.unwrap_or_default());
    }
}

extern "C" fn create<A: Adapter>(
    config: RSlice<'_, u8>,
    instance: &mut InstanceHandle,
    diagnostics: ByteSink<'_>,
) -> u32 {
    let result = guarded(|| {
        let bytes = if config.as_slice().iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            config.as_slice()
        };
        let config: A::Config = from_json_with_paths(bytes)
            .map_err(|d| Failure::Rejected(prefix_paths("/config", d)))?;
        let adapter = A::new(config).map_err(Failure::Rejected)?;
        let served = Served {
            adapter,
            info: A::describe(),
        };
        *instance = InstanceHandle::from_ptr(Box::into_raw(Box::new(served)).cast());
        Ok((Vec::new(), Diagnostics::new()))
    });
    finish(result, None, diagnostics)
}

/// # Safety
/// `instance` is live: made by `create::<A>` and not destroyed ([`AdapterMod`]'s contract).
unsafe extern "C" fn decode<A: Adapter>(
    instance: InstanceHandle,
    message: RStr<'_>,
    input: RSlice<'_, u8>,
    out: ByteSink<'_>,
    diagnostics: ByteSink<'_>,
) -> u32 {
    let message = message.as_str();
    let result = guarded(|| {
        // SAFETY: the caller keeps the handle live for the call (this function's contract).
        let served = unsafe { served::<A>(instance) };
        served.decode(message, |adapter| adapter.decode(message, input.as_slice()))
    });
    finish(result, Some(out), diagnostics)
}

/// # Safety
/// `instance` is live: made by `create::<A>` and not destroyed ([`AdapterMod`]'s contract).
unsafe extern "C" fn decode_in_context<A: Adapter>(
    instance: InstanceHandle,
    message: RStr<'_>,
    context: RSlice<'_, u8>,
    input: RSlice<'_, u8>,
    out: ByteSink<'_>,
    diagnostics: ByteSink<'_>,
) -> u32 {
    let message = message.as_str();
    let result = guarded(|| {
        // SAFETY: the caller keeps the handle live for the call (this function's contract).
        let served = unsafe { served::<A>(instance) };
        served.decode(message, |adapter| {
            let context = CallContext::from_call(context.as_slice())?;
            adapter.decode_in_context(message, input.as_slice(), &context)
        })
    });
    finish(result, Some(out), diagnostics)
}

/// # Safety
/// `instance` is live: made by `create::<A>` and not destroyed ([`AdapterMod`]'s contract).
unsafe extern "C" fn encode<A: Adapter>(
    instance: InstanceHandle,
    message: RStr<'_>,
    document: RSlice<'_, u8>,
    out: ByteSink<'_>,
    diagnostics: ByteSink<'_>,
) -> u32 {
    let message = message.as_str();
    let result = guarded(|| {
        // SAFETY: the caller keeps the handle live for the call (this function's contract).
        let served = unsafe { served::<A>(instance) };
        served.encode(message, document.as_slice(), |adapter, document| {
            adapter.encode(message, document)
        })
    });
    finish(result, Some(out), diagnostics)
}

/// # Safety
/// `instance` is live: made by `create::<A>` and not destroyed ([`AdapterMod`]'s contract).
unsafe extern "C" fn encode_in_context<A: Adapter>(
    instance: InstanceHandle,
    message: RStr<'_>,
    context: RSlice<'_, u8>,
    document: RSlice<'_, u8>,
    out: ByteSink<'_>,
    diagnostics: ByteSink<'_>,
) -> u32 {
    let message = message.as_str();
    let result = guarded(|| {
        // SAFETY: the caller keeps the handle live for the call (this function's contract).
        let served = unsafe { served::<A>(instance) };
        served.encode(message, document.as_slice(), |adapter, document| {
            let context = CallContext::from_call(context.as_slice())?;
            adapter.encode_in_context(message, document, &context)
        })
    });
    finish(result, Some(out), diagnostics)
}

/// # Safety
/// `instance` is live, no other call on it runs, and it is not used again ([`AdapterMod`]'s
/// contract).
unsafe extern "C" fn destroy<A: Adapter>(instance: InstanceHandle) {
    if instance.is_null() {
        return;
    }
    // SAFETY: a live handle was made by `create::<A>` from a `Box<Served<A>>`; the caller
    // gives up every use of it, so the box is owned here alone.
    let adapter = unsafe { Box::from_raw(instance.as_ptr().cast::<Served<A>>()) };
    // A panicking Drop must not unwind into the host.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(adapter)));
}

/// What an instance handle points to: the adapter and its declared messages.
struct Served<A> {
    adapter: A,
    info: AdapterInfo,
}

impl<A: Adapter> Served<A> {
    /// Runs a decode of `message` and serialises the document it returns.
    fn decode(
        &self,
        message: &str,
        call: impl FnOnce(&A) -> Outcome<Document>,
    ) -> Result<Produced, Failure> {
        let spec = self.message_spec(message, Direction::Decode)?;
        let accepted = call(&self.adapter).map_err(Failure::Rejected)?;
        if accepted.value.kind() != spec.document {
            return Err(Failure::Broken(format!(
                "message `{}` declares `{}` but the adapter returned `{}`",
                spec.name,
                spec.document,
                accepted.value.kind()
            )));
        }
        // Serialised once, straight into this thread's reused buffer (see `finish`).
        let mut json = take_buffer();
        accepted.value.write_json(&mut json);
        Ok((json, accepted.warnings))
    }

    /// Reads `document` as the kind `message` declares and runs an encode of it.
    fn encode(
        &self,
        message: &str,
        document: &[u8],
        call: impl FnOnce(&A, &Document) -> Outcome<Vec<u8>>,
    ) -> Result<Produced, Failure> {
        let spec = self.message_spec(message, Direction::Encode)?;
        let document =
            Document::from_json(document, Some(spec.document)).map_err(Failure::Rejected)?;
        let accepted = call(&self.adapter, &document).map_err(Failure::Rejected)?;
        Ok((accepted.value, accepted.warnings))
    }

    fn message_spec(&self, message: &str, direction: Direction) -> Result<&MessageSpec, Failure> {
        let info = &self.info;
        match info.messages.iter().find(|m| m.name == message) {
            Some(spec) if spec.supports(direction) => Ok(spec),
            Some(_) => Err(Failure::Rejected(
                Diagnostic::error(
                    "",
                    "adapter.direction_unsupported",
                    format!(
                        "adapter `{}` cannot {direction} message `{message}`",
                        info.name
                    ),
                )
                .into(),
            )),
            None => {
                let names: Vec<_> = info.messages.iter().map(|m| m.name.as_str()).collect();
                Err(Failure::Rejected(
                    Diagnostic::error(
                        "",
                        "adapter.unknown_message",
                        format!(
                            "adapter `{}` has no message `{message}` (it has: {})",
                            info.name,
                            names.join(", ")
                        ),
                    )
                    .into(),
                ))
            }
        }
    }
}

/// # Safety
/// `instance` was made by `create::<A>` and is not destroyed while the reference lives.
unsafe fn served<'a, A>(instance: InstanceHandle) -> &'a Served<A> {
    // SAFETY: `create::<A>` made the handle from a `Box<Served<A>>`, which lives until
    // `destroy`; calls only read it (`Served<A>` is `Sync`).
    unsafe { &*instance.as_ptr().cast::<Served<A>>() }
}

enum Failure {
    /// The input was refused.
    Rejected(Diagnostics),
    /// The adapter broke the contract or panicked.
    Broken(String),
}

fn prefix_paths(prefix: &str, diagnostics: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::new();
    out.extend_under(prefix, diagnostics);
    out
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook of this library's copy of `std` with one that records the
/// panic for the error diagnostic instead of printing to the host's stderr.
///
/// Called once when a library is loaded dynamically; a built-in adapter shares the host's
/// `std`, whose hook the host sets.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(location));
    }));
}

type Produced = (Vec<u8>, Diagnostics);

thread_local! {
    /// The buffer of the last output written to a caller's sink on this thread, reused by
    /// the next decode: a canonical document is serialised into memory that is already
    /// allocated and warm, then copied once into the caller's buffer.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A buffer larger than this is freed rather than kept for the next call.
const MAX_SPARE: usize = 1 << 20;

/// An empty buffer, this thread's spare one when there is one.
fn take_buffer() -> Vec<u8> {
    let mut buffer = SPARE.with(Cell::take);
    buffer.clear();
    buffer
}

/// Keeps `buffer` (its contents already copied out) for the next call on this thread.
fn recycle(buffer: Vec<u8>) {
    if buffer.capacity() <= MAX_SPARE {
        SPARE.with(|spare| {
            let kept = spare.take();
            spare.set(if kept.capacity() >= buffer.capacity() {
                kept
            } else {
                buffer
            });
        });
    }
}

fn guarded(call: impl FnOnce() -> Result<Produced, Failure>) -> Result<Produced, Failure> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with a non-string payload".to_owned());
            let location = LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_default();
            Err(Failure::Broken(format!(
                "the adapter panicked{location}: {message}"
            )))
        }
    }
}

fn finish(
    result: Result<Produced, Failure>,
    out: Option<ByteSink<'_>>,
    mut diagnostics: ByteSink<'_>,
) -> u32 {
    let mut write_diagnostics = |d: &Diagnostics| {
        if !d.is_empty() {
            diagnostics.write(&serde_json::to_vec(d).unwrap_or_default());
        }
    };
    match result {
        Ok((bytes, warnings)) => {
            if let Some(mut out) = out {
                out.write(&bytes);
            }
            recycle(bytes);
            write_diagnostics(&warnings);
            STATUS_OK
        }
        Err(Failure::Rejected(d)) => {
            write_diagnostics(&d);
            STATUS_REJECTED
        }
        Err(Failure::Broken(message)) => {
            write_diagnostics(&Diagnostic::error("", "adapter.failed", message).into());
            STATUS_FAILED
        }
    }
}
