//! The `tradewire` binary as a user runs it: exit codes, output, diagnostics.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tradewire_core::{Document, DocumentKind};
use tradewire_sdk::pipe::PipeClient;
use tradewire_sdk::{CallContext, CallError};

fn cdylib(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let path = exe.parent().expect("deps dir").join(format!(
        "{}{crate_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

fn tradewire(args: &[&str], stdin: &[u8]) -> Output {
    tradewire_with_env(args, stdin, &[])
}

fn tradewire_with_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tradewire"))
        .args(args)
        .env_remove("TRADEWIRE_PLUGIN_PATH")
        .env_remove("TRADEWIRE_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tradewire");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn panicky() -> String {
    cdylib("fixture_panicky").display().to_string()
}

#[test]
fn decode_prints_canonical_json_and_exits_0() {
    let out = tradewire(
        &["--plugins", &panicky(), "decode", "panicky", "echo"],
        b"FAC132\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["contract"], "product/v1");
    assert_eq!(json["sku"], "FAC132");
}

#[test]
fn decode_prints_the_documents_own_serialisation_contract_first_pretty_or_compact() {
    // An order with `billing_address`, which sorts before `contract`.
    let order = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../adapters/ois-orders/fixtures/order/home-delivery-received.json"
    ))
    .expect("the OIS order sample");
    let decode = |extra: &[&str]| {
        let mut args = vec!["decode", "ois-orders", "order"];
        args.extend_from_slice(extra);
        let out = tradewire(&args, &order);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out.stdout
    };
    let pretty = decode(&[]);
    let compact = decode(&["--compact"]);

    assert!(
        text(&pretty).starts_with("{\n  \"contract\": \"order/v1\",\n"),
        "{}",
        text(&pretty)
    );
    assert!(
        compact.starts_with(br#"{"contract":"order/v1","#),
        "{}",
        text(&compact)
    );
    assert_eq!(
        compact.iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line"
    );

    let document = Document::from_json(&compact, Some(DocumentKind::Order)).expect("canonical");
    assert_eq!(
        Document::from_json(&pretty, Some(DocumentKind::Order)).expect("canonical"),
        document
    );
    let Document::Order(decoded) = &document else {
        panic!("an order");
    };
    assert!(decoded.billing_address.is_some() && !decoded.lines.is_empty());
    // Exactly what the contract writes, fields in their order: the document's own
    // serialisation, not a re-sorted JSON value.
    let mut written = document.to_json();
    written.push(b'\n');
    assert_eq!(compact, written);
    let mut indented = serde_json::to_vec_pretty(&document).expect("serialise");
    indented.push(b'\n');
    assert_eq!(pretty, indented);
}

#[test]
fn encode_reads_canonical_json_from_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("product.json");
    std::fs::write(&file, r#"{"contract":"product/v1","sku":"VOIT0010"}"#).expect("write");
    let out = tradewire(
        &[
            "--plugins",
            &panicky(),
            "encode",
            "panicky",
            "echo",
            file.to_str().expect("utf8"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"VOIT0010");
}

#[test]
fn convert_goes_through_the_canonical_model() {
    let out = tradewire(
        &[
            "--plugins",
            &panicky(),
            "convert",
            "panicky:echo",
            "panicky:echo",
        ],
        b"ACTI0001",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"ACTI0001");
}

#[test]
fn convert_refuses_a_document_the_target_message_does_not_take() {
    // oci-punchout `login` decodes to a punchout session; e-connecteur `order` encodes orders.
    let login = b"username=4711&password=geheim&hook_url=https%3A%2F%2Fsrm.example%2Fhook";
    let out = tradewire(
        &[
            "--format",
            "json",
            "convert",
            "oci-punchout:login",
            "econnecteur:order",
        ],
        login,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("document.wrong_contract"), "{stderr}");
    assert!(
        stderr.contains("expected a `order/v1` document, got `punchout-session/v1`"),
        "{stderr}"
    );
}

#[test]
fn a_failing_adapter_exits_2_with_adapter_failed_and_no_raw_panic_output() {
    let plugin = panicky();
    let cases: &[(&[&str], &[u8])] = &[
        (&["decode", "panicky", "echo"], b"panic"),
        (
            &["encode", "panicky", "echo"],
            br#"{"contract":"product/v1","sku":"panic"}"#,
        ),
        (&["convert", "panicky:echo", "panicky:echo"], b"panic"),
    ];
    for (args, input) in cases {
        let mut all = vec!["--plugins", plugin.as_str(), "--format", "json"];
        all.extend_from_slice(args);
        let out = tradewire(&all, input);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let diagnostics: serde_json::Value =
            serde_json::from_str(stderr.lines().last().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{args:?}: JSON diagnostics expected ({e}): {stderr}"));
        assert_eq!(diagnostics[0]["code"], "adapter.failed", "{args:?}");
        let message = diagnostics[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("asked to panic"), "{args:?}: {message}");
        assert!(
            !stderr.contains("thread '"),
            "the plugin's panic hook printed raw output: {stderr}"
        );
    }

    // The same library, the same calls, input it refuses: 1.
    let out = tradewire(
        &["--plugins", &plugin, "encode", "panicky", "echo"],
        br#"{"contract":"order/v1","currency":"EUR","lines":[]}"#,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("document.wrong_contract"));
}

#[test]
fn rejected_input_in_json_format_is_a_diagnostics_array() {
    let out = tradewire(
        &[
            "--plugins",
            &panicky(),
            "--format",
            "json",
            "encode",
            "panicky",
            "echo",
        ],
        b"{\"contract\":",
    );
    assert_eq!(out.status.code(), Some(1));
    let last = text(&out.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    let diagnostics: serde_json::Value = serde_json::from_str(&last).expect("JSON diagnostics");
    assert_eq!(diagnostics[0]["code"], "json.truncated");
    assert_eq!(diagnostics[0]["severity"], "error");
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["decode", "nope", "echo"], "host.unknown_adapter"),
        (&["decode", "panicky", "nope"], "host.unknown_message"),
        (&["convert", "panicky", "panicky:echo"], "host.bad_endpoint"),
        (&["schema", "invoice-of-doom"], "host.unknown_document"),
    ];
    let plugin = panicky();
    for (args, code) in cases {
        let mut all = vec!["--plugins", plugin.as_str()];
        all.extend_from_slice(args);
        let out = tradewire(&all, b"");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = tradewire(&["no-such-command"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_config_that_breaks_the_adapter_schema_names_its_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("config.json");
    std::fs::write(&config, "[1, 2]").expect("write");
    let out = tradewire(
        &[
            "--plugins",
            &panicky(),
            "decode",
            "panicky",
            "echo",
            "--config",
            config.to_str().expect("utf8"),
        ],
        b"x",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("error[config.invalid] at /config"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn adapters_lists_loaded_libraries_and_refusals() {
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["fixture_panicky", "fixture_abi_mismatch"] {
        let from = cdylib(name);
        std::fs::copy(&from, dir.path().join(from.file_name().expect("name"))).expect("copy");
    }
    let out = tradewire(
        &[
            "--plugins",
            dir.path().to_str().expect("utf8"),
            "adapters",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let adapters = listing["adapters"].as_array().expect("a list");
    let by_name = |name: &str| {
        adapters
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let panicky = by_name("panicky");
    assert_eq!(panicky["messages"][0]["document"], "product/v1");
    assert!(
        panicky["origin"]
            .as_str()
            .unwrap_or_default()
            .ends_with("libfixture_panicky.so")
    );
    for builtin in ["econnecteur", "oci-punchout", "ois-orders", "payment-order"] {
        assert_eq!(by_name(builtin)["origin"], "built-in");
    }
    assert!(
        listing["refused"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("ABI 99.0")
    );
}

#[test]
fn plugin_path_environment_variable_is_honoured() {
    // A list of paths, as PATH is: an empty directory and the library file.
    let empty = tempfile::tempdir().expect("tmp");
    let paths = std::env::join_paths([empty.path(), Path::new(&panicky())]).expect("join");
    let out = tradewire_with_env(
        &["adapters"],
        b"",
        &[("TRADEWIRE_PLUGIN_PATH", paths.to_str().expect("utf8"))],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("panicky 0.0.0 ("),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_library_that_crashes_while_loading_is_refused_after_probing_it_in_a_child() {
    let lib = cdylib("fixture_crash_on_load").display().to_string();
    let out = tradewire_with_env(
        &["--plugins", &lib, "--plugins", &panicky(), "adapters"],
        b"",
        &[("TRADEWIRE_FIXTURE_CRASH_ON_LOAD", "1")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the host survives: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("panicky 0.0.0"), "{stdout}");
    assert!(stdout.contains("crashed while loading (signal"), "{stdout}");
}

#[test]
fn schema_prints_document_schemas() {
    let out = tradewire(&["schema", "order"], b"");
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(schema["properties"]["contract"]["const"], "order/v1");
    let listing = tradewire(&["schema"], b"");
    assert!(text(&listing.stdout).contains("price-list/v1"));
}

#[test]
fn no_builtins_lets_libraries_stand_in_for_builtin_adapters() {
    // Two libraries: one probe child loads both before this process does.
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["tradewire_econnecteur", "tradewire_ois_orders"] {
        let from = cdylib(name);
        std::fs::copy(&from, dir.path().join(from.file_name().expect("name"))).expect("copy");
    }
    let plugins = dir.path().to_str().expect("utf8");
    let listing = |extra: &[&str]| {
        let mut args = vec!["--plugins", plugins, "adapters", "--format", "json"];
        args.extend_from_slice(extra);
        let out = tradewire(&args, b"");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };

    let with_builtins = listing(&[]);
    assert_eq!(with_builtins["adapters"].as_array().map(Vec::len), Some(4));
    let refusals = with_builtins["refused"].to_string();
    assert!(
        refusals.contains("duplicate adapter name `econnecteur`"),
        "{refusals}"
    );
    assert!(
        refusals.contains("duplicate adapter name `ois-orders`"),
        "{refusals}"
    );

    let alone = listing(&["--no-builtins"]);
    let mut names: Vec<String> = alone["adapters"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| {
            let origin = a["origin"].as_str().unwrap_or_default();
            assert!(origin.starts_with(plugins), "{origin} is a library");
            a["name"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["econnecteur", "ois-orders"]);
    assert_eq!(alone["refused"].as_array().map(Vec::len), Some(0));
}

#[test]
fn oversized_input_is_refused_before_it_is_read_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let panicky = panicky();
    let decode = |bytes: usize, from_file: bool| {
        let mut args = vec![
            "--plugins",
            &panicky,
            "--max-input",
            "16",
            "decode",
            "panicky",
            "echo",
        ];
        let input = vec![b'x'; bytes];
        let file = dir.path().join(format!("input-{bytes}"));
        let file = file.display().to_string();
        if from_file {
            std::fs::write(&file, &input).expect("write input");
            args.push(&file);
            tradewire(&args, b"")
        } else {
            tradewire(&args, &input)
        }
    };
    for from_file in [false, true] {
        let over = decode(17, from_file);
        assert_eq!(over.status.code(), Some(1), "from a file: {from_file}");
        assert!(text(&over.stderr).contains("host.input_too_large"));
        let at_limit = decode(16, from_file);
        assert_eq!(
            at_limit.status.code(),
            Some(0),
            "{}",
            text(&at_limit.stderr)
        );
    }
}

#[test]
fn an_adapter_serves_the_same_calls_from_a_child_process_over_a_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tradewire"))
        .args(["__serve-library", &panicky()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the adapter process");
    let mut client = PipeClient::new(
        child.stdout.take().expect("stdout"),
        child.stdin.take().expect("stdin"),
    );

    assert_eq!(client.manifest().expect("manifest").name, "panicky");
    client.create(b"{}").expect("pipe").expect("created");
    let Err(CallError::Failed(d)) = client.decode("echo", b"panic").expect("pipe") else {
        panic!("a panic comes back as Failed");
    };
    assert!(d.as_slice()[0].message.contains("asked to panic"));
    let reply = client
        .decode("echo", b"FAC132")
        .expect("pipe")
        .expect("the child keeps serving");
    assert!(text(&reply.bytes).contains(r#""sku":"FAC132""#));
    let encoded = client
        .encode("echo", &reply.bytes)
        .expect("pipe")
        .expect("encode");
    assert_eq!(encoded.bytes, b"FAC132");
    let context = CallContext {
        content_type: Some("text/plain".into()),
        ..CallContext::default()
    };
    let encoded = client
        .encode_in_context("echo", &reply.bytes, &context)
        .expect("pipe")
        .expect("encode in context");
    assert_eq!(encoded.bytes, b"FAC132 (text/plain)");
    // A context the served library cannot read is refused, pointed at as the context's.
    let newer = CallContext {
        version: CallContext::VERSION + 1,
        ..CallContext::default()
    };
    let Err(CallError::Rejected(d)) = client
        .decode_in_context("echo", b"FAC132", &newer)
        .expect("pipe")
    else {
        panic!("a context of a newer version is refused");
    };
    assert_eq!(d.as_slice()[0].path, "/context/version");

    drop(client);
    assert!(
        child.wait().expect("exit").success(),
        "the child exits cleanly when the pipe closes"
    );
}

#[test]
fn a_library_of_abi_1_0_over_a_pipe_answers_calls_in_context_as_unsupported() {
    let library = cdylib("fixture_abi_1_0").display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tradewire"))
        .args(["__serve-library", &library])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the adapter process");
    let mut client = PipeClient::new(
        child.stdout.take().expect("stdout"),
        child.stdin.take().expect("stdin"),
    );
    client.create(b"{}").expect("pipe").expect("created");
    let context = CallContext::default();
    let Err(CallError::Unsupported(d)) = client
        .decode_in_context("echo", b"FAC132", &context)
        .expect("pipe")
    else {
        panic!("a 1.0 library has no decode in context");
    };
    assert_eq!(d.as_slice()[0].code, "adapter.call_unsupported");
    let reply = client
        .decode("echo", b"FAC132")
        .expect("pipe")
        .expect("the plain call is the fallback");
    assert!(text(&reply.bytes).contains(r#""sku":"FAC132""#));

    drop(client);
    assert!(child.wait().expect("exit").success());
}
