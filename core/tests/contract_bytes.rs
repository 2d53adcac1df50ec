//! The bytes of the contract: what `Document::to_json` writes for a sample of documents,
//! byte for byte. Old plugins and hosts parse these bytes, so a faster serialiser must
//! write exactly what the plain `serde_json::to_vec` of `Document` wrote when these files
//! were blessed, and read them back as the same document.
//!
//! `tests/contract/NAME.json` are inputs (canonical JSON as people write it: pretty, in
//! any member order, with escapes); `tests/contract/canonical/NAME.json` are the bytes the
//! contract serialiser wrote for them. Bless new inputs with
//! `TRADEWIRE_BLESS=1 cargo test -p tradewire-core --test contract_bytes` — but never
//! re-bless a file that changed: a change is a contract break.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use tradewire_core::{Document, DocumentKind};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract")
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let mut samples: Vec<_> = std::fs::read_dir(dir())
        .expect("tests/contract exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    samples.sort();
    assert!(samples.len() >= 10, "the samples are missing");
    samples
}

#[test]
fn the_serialiser_writes_the_blessed_bytes() {
    let bless = std::env::var_os("TRADEWIRE_BLESS").is_some();
    let canonical = dir().join("canonical");
    let mut kinds = Vec::new();
    let mut drifted = Vec::new();
    for (name, input) in samples() {
        let document = Document::from_json(&input, None).unwrap_or_else(|d| panic!("{name}: {d}"));
        kinds.push(document.kind());
        let bytes = document.to_json();
        let path = canonical.join(&name);
        if bless && !path.exists() {
            std::fs::create_dir_all(&canonical).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let blessed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if bytes != blessed {
            drifted.push(name.clone());
        }
        // Appending to a buffer that already holds something writes the same bytes after it.
        let mut appended = b"prefix".to_vec();
        document.write_json(&mut appended);
        assert_eq!(&appended[..6], b"prefix", "{name}");
        assert!(appended[6..] == blessed[..], "{name}: write_json differs");
        // The blessed bytes read back as the same document, through the fast path.
        assert_eq!(
            Document::from_json(&blessed, Some(document.kind())).as_ref(),
            Ok(&document),
            "{name}"
        );
        assert!(blessed.starts_with(format!("{{\"contract\":\"{}\"", document.kind()).as_bytes()));
    }
    assert!(
        drifted.is_empty(),
        "the contract bytes changed for {drifted:?}: old plugins and hosts read these bytes"
    );
    for kind in DocumentKind::ALL {
        assert!(kinds.contains(kind), "no sample of {kind}");
    }
}

#[test]
fn contract_ids_of_every_kind_are_read_wherever_the_member_stands() {
    for (name, input) in samples() {
        let document = Document::from_json(&input, None).unwrap();
        let blessed = std::fs::read(dir().join("canonical").join(&name)).unwrap();
        // Move `"contract":"…",` from the front to the end, as another writer might.
        let id = document.kind().contract_id();
        let head = format!("{{\"contract\":\"{id}\",");
        let rest = blessed.strip_prefix(head.as_bytes()).expect(&name);
        let mut moved = b"{".to_vec();
        moved.extend_from_slice(&rest[..rest.len() - 1]);
        moved.extend_from_slice(format!(",\"contract\":\"{id}\"}}").as_bytes());
        assert_eq!(
            Document::from_json(&moved, Some(document.kind())).as_ref(),
            Ok(&document),
            "{name}"
        );
    }
}
