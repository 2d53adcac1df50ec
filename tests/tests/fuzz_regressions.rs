//! Every input the fuzzer ever broke an adapter with (`fuzz/regressions/<target>/`), and
//! every seed it starts from (`fuzz/seeds/<target>/`), run through the same code as the
//! fuzz targets, so that a past finding cannot come back without the fuzzer (FUZZING.md).
//!
//! The adapters are called directly, not through the plugin boundary: a panic fails the
//! test instead of becoming an `adapter.failed` diagnostic.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/lib.rs"]
mod fuzz_targets;

use fuzz_targets::{MAX_CONFIGS, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the folder does not exist.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable folder entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The names of the folders (or, with `extension`, of the files) in `fuzz/<kind>/`.
fn names_in(kind: &str, extension: Option<&str>) -> BTreeSet<String> {
    fs::read_dir(fuzz_dir().join(kind))
        .expect("the fuzz folder is there")
        .map(|entry| entry.expect("a readable folder entry").path())
        .filter_map(|path| match extension {
            None => path
                .is_dir()
                .then(|| path.file_name()?.to_str().map(str::to_owned))?,
            Some(extension) => (path.extension()? == extension)
                .then(|| path.file_stem()?.to_str().map(str::to_owned))?,
        })
        .collect()
}

/// Runs every input of `fuzz/<kind>/` through its target: as found, or with
/// `every_config` once with each config (its first byte replaced). Returns how many ran.
fn replay(kind: &str, every_config: bool) -> usize {
    let mut replayed = 0;
    for target in TARGETS {
        for path in inputs(kind, target.name) {
            let input = fs::read(&path).expect("a readable input");
            let variants = match every_config && !input.is_empty() {
                true => (0..MAX_CONFIGS)
                    .map(|config| [&[config], &input[1..]].concat())
                    .collect(),
                false => vec![input],
            };
            for variant in variants {
                // Printed first so that a panic's output says which input caused it.
                eprintln!("{}: {} {:?}", target.name, path.display(), variant.first());
                (target.run)(&variant);
            }
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn no_fuzz_finding_panics_again() {
    assert!(
        replay("regressions", false) > 0,
        "no regression input found"
    );
}

#[test]
fn no_seed_panics_with_any_config() {
    for target in TARGETS {
        assert!(
            !inputs("seeds", target.name).is_empty(),
            "target {} has no seeds",
            target.name
        );
    }
    replay("seeds", true);
}

/// A folder or fuzz binary whose name is no target would be skipped without a word.
#[test]
fn every_fuzz_folder_and_binary_names_a_target() {
    let targets: BTreeSet<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    assert_eq!(names_in("fuzz_targets", Some("rs")), targets);
    assert_eq!(names_in("seeds", None), targets);
    let strays: Vec<String> = names_in("regressions", None)
        .difference(&targets)
        .cloned()
        .collect();
    assert!(strays.is_empty(), "regressions for no target: {strays:?}");
}
