//! Measure 4 of BENCHMARKS.md, the plugin boundary tax: each adapter on a 10-line order,
//! one decode and one encode, called (a) directly as Rust, (b) as a built-in through the
//! host's registry, (c) through its dynamically loaded library.
//!
//! (a) passes the typed document from decode to encode; (b) and (c) pass canonical JSON
//! bytes through the C ABI, as every host call does. (a′) is (a) with the canonical JSON
//! hop written out in Rust — serialised after the decode, parsed before the encode — so that
//! (c) ÷ (a′) is the price of the boundary alone and (a′) ÷ (a) that of the contract.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod libraries;
mod support;

use std::fmt::Write as _;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::report::Results;
use support::{Codec, Econnecteur, OciPunchout, OisOrders, PaymentOrder, encoded, scaled_order};
use tradewire_core::Document;
use tradewire_plugins::{LoadOptions, Registry};
use tradewire_sdk::AdapterInstance;

// The built-ins are linked through the host's registry; name them so their registrations
// are kept.
use tradewire_econnecteur as _;
use tradewire_oci_punchout as _;
use tradewire_ois_orders as _;
use tradewire_payment_order as _;

const LINES: usize = 10;

struct Subject {
    adapter: &'static str,
    message: &'static str,
    config: Value,
    direct: Rc<dyn Codec>,
    input: Vec<u8>,
}

fn subjects() -> Vec<Subject> {
    let vendor_order = support::vendor_sample_order();
    let cart_template = support::order(support::canonical(
        &support::workspace().join("adapters/oci-punchout/fixtures/cart/every-field.encode.json"),
    ));
    let subject = |adapter, message, config: Value, direct: Rc<dyn Codec>, template| {
        let input = encoded(&*direct, message, &scaled_order(template, LINES).into());
        Subject {
            adapter,
            message,
            config,
            direct,
            input,
        }
    };
    vec![
        subject(
            "oci-punchout",
            "cart",
            json!({}),
            support::codec::<OciPunchout>(json!({})),
            &cart_template,
        ),
        subject(
            "econnecteur",
            "order",
            support::econnecteur_vendor_config(),
            support::codec::<Econnecteur>(support::econnecteur_vendor_config()),
            &vendor_order,
        ),
        subject(
            "ois-orders",
            "order",
            support::ois_config(),
            support::codec::<OisOrders>(support::ois_config()),
            &vendor_order,
        ),
        subject(
            "payment-order",
            "order",
            json!({}),
            support::codec::<PaymentOrder>(json!({})),
            &vendor_order,
        ),
    ]
}

fn round_trip_direct(subject: &Subject) -> Vec<u8> {
    encode_direct(subject, &decode_direct(subject))
}

fn round_trip_contract(subject: &Subject) -> Vec<u8> {
    let document = decode_direct(subject);
    let json = document.to_json();
    let document = Document::from_json(&json, Some(document.kind())).expect("parses");
    encode_direct(subject, &document)
}

fn decode_direct(subject: &Subject) -> Document {
    subject
        .direct
        .decode(subject.message, black_box(&subject.input))
        .expect("decodes")
        .value
}

fn encode_direct(subject: &Subject, document: &Document) -> Vec<u8> {
    subject
        .direct
        .encode(subject.message, document)
        .expect("encodes")
        .value
}

fn round_trip_abi(instance: &AdapterInstance, subject: &Subject) -> Vec<u8> {
    let canonical = instance
        .decode(subject.message, black_box(&subject.input))
        .expect("decodes");
    instance
        .encode(subject.message, &canonical.bytes)
        .expect("encodes")
        .bytes
}

fn main() {
    // The allocator set up as `tradewire` sets it, so that the figures are the host's.
    tradewire_plugins::memory::keep_freed_heap();
    let subjects = subjects();
    let builtins = Registry::with_builtins();
    let plugins = libraries::plugin_dir(&[
        "tradewire_oci_punchout",
        "tradewire_econnecteur",
        "tradewire_ois_orders",
        "tradewire_payment_order",
    ]);
    // `--profile-time` (under `perf record`): criterion runs only the benchmarks named, and
    // nothing else runs after them; the libraries stay on disk so the profile can name
    // their symbols.
    let profiling = std::env::args().any(|a| a == "--profile-time");
    let plugins = if profiling {
        let kept = plugins.keep();
        eprintln!("libraries kept in {}", kept.display());
        kept
    } else {
        plugins.path().to_owned()
    };
    let mut loaded = Registry::empty();
    loaded.load_plugins(&[plugins.as_path()], &LoadOptions::default());
    assert!(loaded.refused().is_empty(), "{:?}", loaded.refused());

    let mut criterion = support::criterion();
    let mut ratios = Vec::new();
    for subject in &subjects {
        let builtin = builtins
            .instantiate(subject.adapter, &subject.config)
            .expect("built-in");
        let library = loaded
            .instantiate(subject.adapter, &subject.config)
            .expect("library");
        // The three paths must do the same work to be compared.
        let expected = round_trip_direct(subject);
        assert_eq!(round_trip_contract(subject), expected);
        assert_eq!(round_trip_abi(&builtin, subject), expected);
        assert_eq!(round_trip_abi(&library, subject), expected);

        let mut group =
            criterion.benchmark_group(format!("boundary/{}/{}", subject.adapter, subject.message));
        group.bench_function("a-direct", |b| b.iter(|| round_trip_direct(subject)));
        group.bench_function("a2-direct-contract", |b| {
            b.iter(|| round_trip_contract(subject))
        });
        group.bench_function("b-builtin", |b| {
            b.iter(|| round_trip_abi(&builtin, subject))
        });
        group.bench_function("c-library", |b| {
            b.iter(|| round_trip_abi(&library, subject))
        });
        group.finish();
        if profiling {
            continue;
        }
        ratios.push(Ratios {
            library_over_direct: interleaved_ratio(
                || round_trip_abi(&library, subject),
                || round_trip_direct(subject),
            ),
            library_over_contract: interleaved_ratio(
                || round_trip_abi(&library, subject),
                || round_trip_contract(subject),
            ),
            builtin_over_library: interleaved_ratio(
                || round_trip_abi(&builtin, subject),
                || round_trip_abi(&library, subject),
            ),
        });
    }
    criterion.final_summary();
    if profiling {
        return;
    }
    println!("{}", table(&Results::read(), &subjects, &ratios));
}

struct Ratios {
    library_over_direct: f64,
    library_over_contract: f64,
    builtin_over_library: f64,
}

/// The median over rounds of time(`x`) ÷ time(`y`), the two run in alternate batches so
/// that whatever else the machine does slows both alike: a 2 % bar is finer than the
/// drift between two benchmarks run one after the other.
fn interleaved_ratio<T>(x: impl Fn() -> T, y: impl Fn() -> T) -> f64 {
    const ROUNDS: usize = 41;
    const BATCH_TIME: Duration = Duration::from_millis(40);
    let batch = {
        let started = Instant::now();
        let mut calls = 0u32;
        while started.elapsed() < BATCH_TIME {
            black_box(x());
            calls += 1;
        }
        calls
    };
    let time = |f: &dyn Fn() -> T| {
        let started = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        started.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            // Alternate which runs first, so neither always gets the warmer cache.
            if round % 2 == 0 {
                let tx = time(&x);
                tx / time(&y)
            } else {
                let ty = time(&y);
                time(&x) / ty
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ROUNDS / 2]
}

fn table(results: &Results, subjects: &[Subject], ratios: &[Ratios]) -> String {
    let mut out = String::from(
        "| adapter/message (10 lines) | (a) direct µs | (a′) direct + canonical JSON µs | (b) built-in µs | (c) library µs | (c) ÷ (a) (bar ≤ 1.10) | (c) ÷ (a′): the boundary alone | (b) ÷ (c) (bar 0.98–1.02) |\n\
         |---|---:|---:|---:|---:|---|---|---|\n",
    );
    for (subject, ratio) in subjects.iter().zip(ratios) {
        let time = |path: &str| {
            results
                .mean_ns(&format!(
                    "boundary/{}/{}/{path}",
                    subject.adapter, subject.message
                ))
                .map_or_else(|| "–".to_owned(), |ns| format!("{:.1}", ns / 1e3))
        };
        let verdict = |holds: bool| if holds { "holds" } else { "**missed**" };
        let _ = writeln!(
            out,
            "| {}/{} | {} | {} | {} | {} | {:.3} {} | {:.3} {} | {:.3} {} |",
            subject.adapter,
            subject.message,
            time("a-direct"),
            time("a2-direct-contract"),
            time("b-builtin"),
            time("c-library"),
            ratio.library_over_direct,
            verdict(ratio.library_over_direct <= 1.10),
            ratio.library_over_contract,
            verdict(ratio.library_over_contract <= 1.10),
            ratio.builtin_over_library,
            verdict((0.98..=1.02).contains(&ratio.builtin_over_library)),
        );
    }
    out
}
