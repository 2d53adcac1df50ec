//! The `file` sink in a temporary directory.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;
use tradewire_runtime::sinks::SendOutcome;

use super::{build, build_errors, deliver, ois_fixture, order, paths};

/// Every file under `root`, relative to it, sorted.
fn files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, found);
            } else {
                found.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut found = Vec::new();
    walk(root, root, &mut found);
    found.sort();
    found
}

fn file_sink(root: &Path, template: &str) -> std::sync::Arc<dyn tradewire_runtime::sinks::Sink> {
    build(
        "file",
        json!({ "path": format!("{}/{template}", root.display()) }),
    )
}

#[tokio::test]
async fn a_document_is_written_whole_with_no_temporary_file_left() {
    let root = tempfile::tempdir().unwrap();
    let sink = file_sink(root.path(), "out/{{id}}.json");
    let payload = order("PO-1");

    let outcome = deliver(&*sink, "PO-1", "k", &payload).await;

    let written = root.path().join("out/PO-1.json");
    assert_eq!(
        outcome,
        SendOutcome::Delivered {
            status: None,
            detail: format!("wrote {} ({} bytes)", written.display(), payload.len()),
        }
    );
    assert_eq!(fs::read(&written).unwrap(), payload);
    assert_eq!(files(root.path()), [PathBuf::from("out/PO-1.json")]);
}

#[tokio::test]
async fn pointers_and_the_key_name_files_and_directories() {
    let root = tempfile::tempdir().unwrap();
    let sink = file_sink(
        root.path(),
        "{{/delivery_address/country}}/{{ /lines/0/sku }}-{{key}}-{{id}}.json",
    );

    let outcome = deliver(&*sink, "PO-1", "dlv-7", &order("PO-1")).await;

    assert!(
        matches!(outcome, SendOutcome::Delivered { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        files(root.path()),
        [PathBuf::from("NL/A-1-dlv-7-PO-1.json")]
    );
}

#[tokio::test]
async fn unsafe_values_stay_one_file_name_inside_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("base");
    let sink = file_sink(&base, "{{id}}/{{/delivery_address/city}}.json");
    let payload = serde_json::to_vec(&json!({
        "contract": "order/v1",
        "delivery_address": { "city": "../../escaped\u{0}x\\y%2F" },
    }))
    .unwrap();

    for id in ["..", "../../etc", ".hidden", "a/b"] {
        let outcome = deliver(&*sink, id, "k", &payload).await;
        assert!(
            matches!(outcome, SendOutcome::Delivered { .. }),
            "{id}: {outcome:?}"
        );
    }

    let city = "%2E.%2F..%2Fescaped%00x%5Cy%252F.json";
    assert_eq!(
        files(root.path()),
        [
            format!("base/%2E./{city}"),
            format!("base/%2E.%2F..%2Fetc/{city}"),
            format!("base/%2Ehidden/{city}"),
            format!("base/a%2Fb/{city}"),
        ]
        .map(PathBuf::from)
    );
}

#[tokio::test]
async fn the_same_delivery_written_again_replaces_its_file() {
    let root = tempfile::tempdir().unwrap();
    let sink = file_sink(root.path(), "{{id}}.json");

    deliver(&*sink, "PO-1", "k", b"{\"first\":true}").await;
    let outcome = deliver(&*sink, "PO-1", "k", b"{\"second\":true}").await;

    assert!(
        matches!(outcome, SendOutcome::Delivered { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        fs::read_to_string(root.path().join("PO-1.json")).unwrap(),
        "{\"second\":true}"
    );
    assert_eq!(files(root.path()), [PathBuf::from("PO-1.json")]);
}

#[tokio::test]
async fn a_value_the_template_cannot_use_is_permanent() {
    let root = tempfile::tempdir().unwrap();
    let cases = [
        (
            "{{/missing}}.json",
            "{{/missing}} has no value in the document",
        ),
        (
            "{{/lines}}.json",
            "{{/lines}} is an array or an object, not a value a file name can hold",
        ),
        (
            "{{/empty}}.json",
            "{{/empty}} is empty: no file name can be made of it",
        ),
    ];
    let payload = serde_json::to_vec(&json!({ "lines": [1], "empty": "" })).unwrap();
    for (template, why) in cases {
        let outcome = deliver(&*file_sink(root.path(), template), "PO-1", "k", &payload).await;
        assert_eq!(
            outcome,
            SendOutcome::Permanent {
                status: None,
                detail: why.to_owned(),
            }
        );
    }
    let not_json = deliver(&*file_sink(root.path(), "{{/a}}"), "PO-1", "k", b"<xml/>").await;
    assert!(
        matches!(not_json, SendOutcome::Permanent { .. }),
        "{not_json:?}"
    );
    let long = deliver(
        &*file_sink(root.path(), "{{id}}"),
        &"x".repeat(300),
        "k",
        b"{}",
    )
    .await;
    assert!(matches!(long, SendOutcome::Permanent { .. }), "{long:?}");
    assert!(files(root.path()).is_empty());
}

#[tokio::test]
async fn an_io_error_is_temporary() {
    let root = tempfile::tempdir().unwrap();
    // A file where the directory should be.
    fs::write(root.path().join("out"), "in the way").unwrap();
    let sink = file_sink(root.path(), "out/{{id}}.json");

    let outcome = deliver(&*sink, "PO-1", "k", &order("PO-1")).await;

    let SendOutcome::Temporary {
        status: None,
        detail,
        ..
    } = outcome
    else {
        panic!("an I/O error is temporary: {outcome:?}");
    };
    assert!(detail.starts_with("cannot write"), "{detail}");
    assert_eq!(files(root.path()), [PathBuf::from("out")]);
}

#[tokio::test]
async fn encode_writes_what_the_adapter_writes() {
    let root = tempfile::tempdir().unwrap();
    let sink = build(
        "file",
        json!({ "path": format!("{}/{{{{id}}}}.ois.json", root.path().display()),
                "encode": { "adapter": "ois-orders", "message": "order" } }),
    );
    let canonical = fs::read(ois_fixture("home-delivery.encode.json")).unwrap();

    let outcome = deliver(&*sink, "100023", "k", &canonical).await;

    assert!(
        matches!(outcome, SendOutcome::Delivered { .. }),
        "{outcome:?}"
    );
    let expected = fs::read(ois_fixture("home-delivery.encoded.json")).unwrap();
    let written = fs::read(root.path().join("100023.ois.json")).unwrap();
    let as_json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
    assert_eq!(as_json(&written), as_json(&expected));
}

#[test]
fn a_template_that_cannot_name_files_is_refused() {
    for (template, why) in [
        ("out/{{name}}.json", "unknown placeholder `{{name}}`"),
        ("out/{{id.json", "is not closed"),
        ("out/latest.json", "has no placeholder"),
        ("out/{{id}}/", "must end with a file name"),
        ("{{id}}/..", "must end with a file name"),
        ("out/{{/a~2b}}", "`~` must be followed by 0 or 1"),
    ] {
        let errors = build_errors("file", json!({ "path": template }));
        assert_eq!(paths(&errors), ["path"], "{template}");
        assert!(
            errors[0].message.contains(why),
            "{template}: {}",
            errors[0].message
        );
    }
}
