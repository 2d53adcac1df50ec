//! The sinks' tables as the pipeline loader reads them, and what `build` refuses.

use std::num::NonZeroUsize;

use serde_json::json;
use tradewire_runtime::sinks::{RetryConfig, SinkConfig};

use super::{build_errors, config, context, paths};

/// A sink's table from TOML, as the loader passes it (`type` and `inputs` stripped).
fn from_toml(kind: &str, table: &str) -> Result<Option<SinkConfig>, toml::de::Error> {
    SinkConfig::deserialize_kind(kind, toml::Deserializer::parse(table)?)
}

const OIS: &str = r#"
uri = "https://ois.example/v1/Orders"
encode = { adapter = "ois-orders", message = "order", config = { profile = "xprt" } }
auth = { strategy = "oauth2", token_url = "https://ois.example/token", client_id = "id", client_secret = "secret" }
retry = { max_attempts = 12, initial_backoff_secs = 0.5, max_backoff_secs = 60 }
concurrency = 8
"#;

#[test]
fn the_issues_example_reads_and_builds() {
    let sink = from_toml("http", OIS).unwrap().unwrap();
    assert_eq!(
        sink.retry(),
        RetryConfig {
            max_attempts: 12,
            initial_backoff_secs: 0.5,
            max_backoff_secs: 60.0,
        }
    );
    assert_eq!(sink.concurrency(), NonZeroUsize::new(8).unwrap());
    let built = sink.build(&context());
    assert!(built.is_ok(), "{built:?}");
}

#[test]
fn every_type_reads_with_its_defaults() {
    let tables = [
        ("http", r#"uri = "http://127.0.0.1:9/""#),
        ("file", r#"path = "out/{{id}}.json""#),
        ("stdout", ""),
        (
            "econnecteur",
            "url = \"http://127.0.0.1:9/ws.php\"\nkey = \"k\"",
        ),
    ];
    assert_eq!(
        tables.map(|(kind, _)| kind),
        SinkConfig::TYPES,
        "one table per type"
    );
    for (kind, table) in tables {
        let sink = from_toml(kind, table).unwrap().unwrap();
        assert_eq!(sink.retry(), RetryConfig::default(), "{kind}");
        assert_eq!(sink.concurrency(), NonZeroUsize::new(4).unwrap(), "{kind}");
        assert!(sink.build(&context()).is_ok(), "{kind}");
    }
    assert!(from_toml("kafka", "").unwrap().is_none());
}

#[test]
fn an_unknown_key_is_refused_with_its_line() {
    for (kind, table, key) in [
        (
            "http",
            "uri = \"https://a.example/\"\n\nmethdo = \"PUT\"\n",
            "methdo",
        ),
        (
            "file",
            "path = \"{{id}}\"\nencoding = \"json\"\n",
            "encoding",
        ),
        ("stdout", "\n\nformat = \"json\"\n", "format"),
        (
            "http",
            "uri = \"https://a.example/\"\ntls = { verify = false, ca = \"x\" }\n",
            "ca",
        ),
        (
            "http",
            "uri = \"https://a.example/\"\nretry = { attempts = 3 }\n",
            "attempts",
        ),
    ] {
        let error = from_toml(kind, table).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("unknown field `{key}`")),
            "{message}"
        );
        let line = table[..error.span().unwrap().start].matches('\n').count() + 1;
        assert_eq!(
            line,
            table.lines().position(|l| l.contains(key)).unwrap() + 1,
            "{message}"
        );
    }
    let auth = from_toml(
        "http",
        "uri = \"https://a.example/\"\nauth = { strategy = \"bearer\", token = \"t\", user = \"u\" }\n",
    )
    .unwrap_err();
    assert!(auth.to_string().contains("unknown field `user`"), "{auth}");
    let none = from_toml(
        "http",
        "uri = \"https://a.example/\"\nauth = { strategy = \"none\", token = \"t\" }\n",
    )
    .unwrap_err();
    assert!(none.to_string().contains("unknown field `token`"), "{none}");
    let zero = from_toml("stdout", "concurrency = 0").unwrap_err();
    assert!(zero.to_string().contains("nonzero"), "{zero}");
    for method in ["GET", "post"] {
        let table = format!("uri = \"https://a.example/\"\nmethod = \"{method}\"");
        let error = from_toml("http", &table).unwrap_err();
        let expected =
            format!("unknown variant `{method}`, expected one of `POST`, `PUT`, `PATCH`");
        assert!(error.to_string().contains(&expected), "{error}");
    }
}

#[test]
fn a_uri_that_is_not_an_absolute_http_url_is_refused_at_build() {
    for (uri, why) in [
        ("/v1/Orders", "not an absolute URL"),
        ("ois.example/v1", "not an absolute URL"),
        ("ftp://ois.example/", "the scheme is `ftp`"),
        ("https://user:hunter2@ois.example/", "carries credentials"),
    ] {
        let errors = build_errors("http", json!({ "uri": uri }));
        assert_eq!(paths(&errors), ["uri"], "{uri}");
        assert!(
            errors[0].message.contains(why),
            "{uri}: {}",
            errors[0].message
        );
        assert!(!errors[0].message.contains("hunter2"));
    }
}

#[test]
fn every_problem_is_reported_at_its_path() {
    let errors = build_errors(
        "http",
        json!({
            "uri": "mailto:orders@example.com",
            "timeout_secs": 0,
            "headers": { "Idempotency-Key": "mine", "Authorization": "Token x", "X-Bad": "a\nb" },
            "encode": { "adapter": "no-such-adapter", "message": "order" },
            "auth": { "strategy": "oauth2", "token_url": "token", "client_id": "a:b",
                      "client_secret": "s" },
            "retry": { "max_attempts": 0, "initial_backoff_secs": 10, "max_backoff_secs": 5 },
            "tls": { "ca_file": "/no/such/ca.pem" },
        }),
    );
    let mut found = paths(&errors);
    found.sort();
    assert_eq!(
        found,
        [
            "auth.client_id",
            "auth.token_url",
            "encode.adapter",
            "headers.Authorization",
            "headers.Idempotency-Key",
            "headers.X-Bad",
            "retry.max_attempts",
            "retry.max_backoff_secs",
            "timeout_secs",
            "tls.ca_file",
            "uri",
        ],
        "{errors:#?}"
    );
    let unknown_message = build_errors(
        "stdout",
        json!({ "encode": { "adapter": "ois-orders", "message": "invoice" } }),
    );
    assert_eq!(paths(&unknown_message), ["encode.message"]);
    let bad_adapter_config = build_errors(
        "file",
        json!({ "path": "{{id}}", "encode": { "adapter": "ois-orders", "message": "order",
                "config": { "profile": 7 } } }),
    );
    assert_eq!(paths(&bad_adapter_config)[0], "encode.config.profile");
}

/// A CA certificate (public, self-signed, for these tests only).
const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBkDCCATWgAwIBAgIUIZsUKwLYG5cywNTUtQRRxGbjQBIwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRVHJhZGV3aXJlIHRlc3QgQ0EwIBcNMjYxMjA1MTQyOTQyWhgP
MjEyNjExMTExNDI5NDJaMBwxGjAYBgNVBAMMEVRyYWRld2lyZSB0ZXN0IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5LJdbJG42H7qB3nVanxuFpHIUtizxmT0
USnAjLRZu1A3ZHKr79M6qsofx47drJxEY9a+6d5HGr4/82pbIAhTeaNTMFEwHQYD
VR0OBBYEFI1SB79ufzVD4RemQPp7VDU+JBc0MB8GA1UdIwQYMBaAFI1SB79ufzVD
4RemQPp7VDU+JBc0MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIh
ANAPR9TR9r530gqKHb4NTPzLBiDbnmC6Q64bzcc6yDpjAiEA8B5J44BrRAhWaYu+
5zL7idrxMvxWtN3DEMt4FYSwP7Q=
-----END CERTIFICATE-----
";

#[test]
fn a_ca_file_is_read_at_build() {
    let dir = tempfile::tempdir().unwrap();
    let table = |path: &std::path::Path| json!({ "uri": "https://ois.example/", "tls": { "ca_file": path } });
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "just text").unwrap();
    let errors = build_errors("http", table(&not_pem));
    assert_eq!(paths(&errors), ["tls.ca_file"]);
    assert!(
        errors[0].message.contains("no PEM certificate"),
        "{errors:?}"
    );

    let not_a_certificate = dir.path().join("garbled.pem");
    std::fs::write(
        &not_a_certificate,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let errors = build_errors("http", table(&not_a_certificate));
    assert_eq!(paths(&errors), ["tls.ca_file"], "{errors:?}");

    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, CA).unwrap();
    let built = config("http", table(&ca)).build(&context());
    assert!(built.is_ok(), "{built:?}");
}

#[test]
fn the_schema_describes_each_type_and_key() {
    let schema = serde_json::to_value(schemars::schema_for!(SinkConfig)).unwrap();
    let text = schema.to_string();
    for kind in SinkConfig::TYPES {
        assert!(
            text.contains(&format!("\"const\":\"{kind}\"")),
            "{kind}: {text}"
        );
    }
    for description in [
        "Where documents are sent: an absolute `http://` or `https://` URL",
        "`{{id}}` is the document's id",
        "Attempts in all, the first included",
        "OAuth 2.0 client credentials",
    ] {
        assert!(text.contains(description), "{description}");
    }
}

#[test]
fn the_econnecteur_sink_and_source_say_what_is_wrong() {
    let errors = build_errors(
        "econnecteur",
        json!({ "url": "ftp://shop.example/ws.php", "key": "", "page_size": 0,
                "refresh_secs": 0, "timeout_secs": -1,
                "config": { "compression": 9 } }),
    );
    let mut found = paths(&errors);
    found.sort();
    assert_eq!(
        found,
        [
            "config.compression",
            "key",
            "page_size",
            "refresh_secs",
            "timeout_secs",
            "url"
        ],
        "{errors:#?}"
    );
    // Without certificate checks only when said, as the spec allows shops to serve.
    let lax = config(
        "econnecteur",
        json!({ "url": "https://shop.example/ws.php", "key": "k", "tls": { "verify": false } }),
    );
    assert!(lax.build(&context()).is_ok());

    use tradewire_runtime::sources::SourceConfig;
    use tradewire_runtime::sources::econnecteur_poll::StateFilter;
    let source = |table: serde_json::Value| match SourceConfig::deserialize_kind(
        "econnecteur_poll",
        table,
    ) {
        Ok(Some(SourceConfig::EconnecteurPoll(poll))) => poll,
        other => panic!("{other:?}"),
    };
    let named =
        source(json!({ "url": "http://shop.example/ws.php", "key": "k", "filter": "created" }));
    assert_eq!(named.filter, StateFilter::Name("created".into()));
    assert!(named.build(&context()).is_ok());
    assert!(
        named.tls.verify,
        "certificates are checked unless said otherwise"
    );
    let broken = source(json!({ "url": "http://user:pw@shop.example/", "key": "k",
        "filter": ["1", "2,3"], "page_size": 0, "interval_secs": 0 }));
    let mut found = paths(&broken.build(&context()).unwrap_err());
    found.sort();
    assert_eq!(found, ["filter", "interval_secs", "page_size", "url"]);
    assert!(
        SourceConfig::deserialize_kind(
            "econnecteur_poll",
            json!({ "url": "http://x/", "key": "k", "intervall": 1 })
        )
        .is_err(),
        "unknown keys are refused"
    );
}
