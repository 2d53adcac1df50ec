//! What a call through the ABI costs on top of the adapter's own work, counted in heap
//! allocations: the canonical document is serialised into a reused buffer (no growth, no
//! reallocation) and copied once into the caller's; the caller's output is one allocation.
//! ARCHITECTURE.md ("What flows where") states these counts.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_core::{Accepted, Diagnostics, Document, DocumentKind, Outcome};
use tradewire_sdk::{Adapter, AdapterInfo, AdapterModule, MessageSpec};

/// Counts this thread's allocations and reallocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static REALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are const-initialised
// thread locals without destructors, which do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and reallocations made by `f` on this thread.
fn counted<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let (a, r) = (ALLOCATIONS.with(Cell::get), REALLOCATIONS.with(Cell::get));
    let value = f();
    let (a2, r2) = (ALLOCATIONS.with(Cell::get), REALLOCATIONS.with(Cell::get));
    (value, a2 - a, r2 - r)
}

/// A 40-line order, as the contract writes it.
const ORDER: &[u8] =
    include_bytes!("../../core/tests/contract/canonical/payment-order-many-lines.json");

/// Decodes to a copy of [`ORDER`]; encodes to two bytes.
struct Canned(Document);

#[derive(Default, Deserialize, JsonSchema)]
struct NoConfig {}

impl Adapter for Canned {
    type Config = NoConfig;

    fn describe() -> AdapterInfo {
        AdapterInfo {
            name: "canned".into(),
            version: "0.0.1".into(),
            vendor: "tests".into(),
            description: String::new(),
            messages: vec![MessageSpec::both(
                "order",
                DocumentKind::Order,
                "text/plain",
            )],
        }
    }

    fn new(_: NoConfig) -> Result<Self, Diagnostics> {
        Ok(Self(Document::from_json(ORDER, None)?))
    }

    fn decode(&self, _: &str, _: &[u8]) -> Outcome<Document> {
        Ok(Accepted::new(self.0.clone()))
    }

    fn encode(&self, _: &str, _: &Document) -> Outcome<Vec<u8>> {
        Ok(Accepted::new(b"ok".to_vec()))
    }
}

#[test]
fn a_call_through_the_abi_adds_one_allocation_and_no_reallocation() {
    let adapter = Canned::new(NoConfig {}).unwrap();
    let instance = AdapterModule::of::<Canned>()
        .unwrap()
        .instantiate(b"{}")
        .unwrap();
    for _ in 0..3 {
        let reply = instance.decode("order", b"").unwrap();
        assert_eq!(reply.bytes, ORDER, "the contract's bytes");
        instance.encode("order", &reply.bytes).unwrap();
    }

    // decode: the adapter's own work, then the document serialised into the library's
    // reused buffer, then copied into the caller's new buffer: one allocation more.
    let (_, direct, _) = counted(|| adapter.decode("order", b"").unwrap());
    let (reply, through, reallocated) = counted(|| instance.decode("order", b"").unwrap());
    assert_eq!(reply.bytes, ORDER);
    assert_eq!(
        through,
        direct + 1,
        "allocations of a decode through the ABI"
    );
    assert_eq!(reallocated, 0, "reallocations of a decode through the ABI");

    // encode: the document parsed once, the adapter's own work, the output copied into the
    // caller's new buffer.
    let (_, parse, _) = counted(|| Document::from_json(ORDER, Some(DocumentKind::Order)).unwrap());
    let document = Document::from_json(ORDER, None).unwrap();
    let (_, direct, _) = counted(|| adapter.encode("order", &document).unwrap());
    let (reply, through, _) = counted(|| instance.encode("order", ORDER).unwrap());
    assert_eq!(reply.bytes, b"ok");
    assert_eq!(
        through,
        parse + direct + 1,
        "allocations of an encode through the ABI"
    );
}
