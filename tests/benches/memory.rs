//! Measure 3 of BENCHMARKS.md: peak heap while decoding, as a multiple of the input size,
//! and inputs over the configured limit refused before they are held whole.
//!
//! Counts every allocation of this process with a wrapping global allocator; an adapter
//! loaded as a library allocates through its own, so the adapters are measured as linked
//! (directly, and through the same ABI a library is called through).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use support::{Codec, Econnecteur, OciPunchout, conformance, encoded, scaled_order};
use tradewire_sdk::AdapterModule;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most heap `work` held at once beyond what was held before it, and its result.
fn peak_during<T>(work: impl FnOnce() -> T) -> (usize, T) {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = work();
    (PEAK.load(Ordering::Relaxed) - before, result)
}

struct Subject {
    name: &'static str,
    adapter: &'static str,
    message: &'static str,
    config: Value,
    direct: Box<dyn Codec>,
    input: Vec<u8>,
}

fn subjects() -> Vec<Subject> {
    let econnecteur = || support::adapter::<Econnecteur>(support::econnecteur_vendor_config());
    let oci = || support::adapter::<OciPunchout>(json!({}));
    let cart_template = support::order(support::canonical(
        &support::workspace().join("adapters/oci-punchout/fixtures/cart/every-field.encode.json"),
    ));
    vec![
        Subject {
            name: "grilles_2.xml (1,790 rules)",
            adapter: "econnecteur",
            message: "grilles",
            config: support::econnecteur_vendor_config(),
            direct: Box::new(econnecteur()),
            input: conformance("econnecteur/samples/grilles_2.xml"),
        },
        Subject {
            name: "e-connecteur order, 1,000 lines",
            adapter: "econnecteur",
            message: "order",
            config: support::econnecteur_vendor_config(),
            direct: Box::new(econnecteur()),
            input: encoded(
                &econnecteur(),
                "order",
                &scaled_order(&support::vendor_sample_order(), 1000).into(),
            ),
        },
        Subject {
            name: "OCI cart, 1,000 lines",
            adapter: "oci-punchout",
            message: "cart",
            config: json!({}),
            direct: Box::new(oci()),
            input: encoded(&oci(), "cart", &scaled_order(&cart_template, 1000).into()),
        },
    ]
}

fn module(adapter: &str) -> AdapterModule {
    let module = match adapter {
        "econnecteur" => AdapterModule::of::<Econnecteur>(),
        "oci-punchout" => AdapterModule::of::<OciPunchout>(),
        other => panic!("no module for {other}"),
    };
    module.expect("module")
}

fn main() {
    let mut out = String::from(
        "| document | input bytes | peak heap, direct | × input | peak heap, through the ABI (with canonical JSON) | × input | bar ≤ 8× |\n\
         |---|---:|---:|---:|---:|---:|---|\n",
    );
    for subject in subjects() {
        let (direct, decoded) =
            peak_during(|| subject.direct.decode(subject.message, &subject.input));
        decoded.expect("decodes");
        let instance = module(subject.adapter)
            .instantiate(&serde_json::to_vec(&subject.config).unwrap())
            .expect("instance");
        let (abi, reply) = peak_during(|| instance.decode(subject.message, &subject.input));
        reply.expect("decodes");
        let size = subject.input.len() as f64;
        let worst = direct.max(abi) as f64 / size;
        out += &format!(
            "| {} | {} | {} | {:.1} | {} | {:.1} | {} |\n",
            subject.name,
            subject.input.len(),
            direct,
            direct as f64 / size,
            abi,
            abi as f64 / size,
            if worst <= 8.0 { "holds" } else { "**missed**" },
        );
    }
    out += "\n";
    out += &oversized();
    println!("{out}");
}

/// 50 MB of `data` in an e-connecteur request, raw and compressed, against the default
/// limit (32 MiB) and a configured 4 MiB one.
fn oversized() -> String {
    const SIZE: usize = 50_000_000;
    let rule = b"<grille><id_product>ATTA0001</id_product><price>10</price></grille>";
    let mut xml = b"<connecteur><grilles>".to_vec();
    while xml.len() < SIZE {
        xml.extend_from_slice(rule);
    }
    xml.extend_from_slice(b"</grilles></connecteur>");

    let mut raw = b"key=k&resource=add_grilles&data=".to_vec();
    raw.extend_from_slice(&xml);
    let mut packer = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    packer.write_all(&xml).unwrap();
    let packed = multipart(&packer.finish().unwrap());
    drop(xml);

    let mut out = String::from(
        "| request | input bytes | max_data_bytes | outcome | peak heap beyond the input |\n|---|---:|---:|---|---:|\n",
    );
    for (name, input) in [
        ("50 MB data, urlencoded", &raw),
        ("50 MB data, zlib in multipart", &packed),
    ] {
        for limit in [32 << 20, 4 << 20] {
            let econnecteur = support::adapter::<Econnecteur>(json!({ "max_data_bytes": limit }));
            let (peak, outcome) = peak_during(|| Codec::decode(&econnecteur, "request", input));
            let outcome = match outcome {
                Ok(_) => "**accepted**".to_owned(),
                Err(d) => format!(
                    "refused: `{}`",
                    d.iter().next().map(|d| d.code.as_str()).unwrap_or("?")
                ),
            };
            out += &format!(
                "| {name} | {} | {limit} | {outcome} | {peak} |\n",
                input.len()
            );
        }
    }
    out
}

fn multipart(data: &[u8]) -> Vec<u8> {
    const BOUNDARY: &str = "----tradewire-bench";
    let mut body = Vec::new();
    for (name, value) in [
        ("key", "k"),
        ("resource", "add_grilles"),
        ("compression", "1"),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}
