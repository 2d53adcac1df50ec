//! The transforms on real canonical documents: an OCI cart decoded by the built-in adapter,
//! and the orders of the adapters' JSON fixtures. Configs are read from TOML text through
//! `TransformConfig::deserialize_kind`, as the pipeline loader reads them.

#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};
use tradewire_core::Diagnostics;
use tradewire_plugins::Registry;
use tradewire_runtime::transforms::{Routed, Transform, TransformConfig};
use tradewire_runtime::{BuildContext, ConfigError};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::with_builtins)
}

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters")
        .join(path)
}

fn json_fixture(path: &str) -> Value {
    let text = std::fs::read(fixture(path)).expect("fixture");
    serde_json::from_slice(&text).expect("JSON fixture")
}

/// The OCI cart of `discountoffice.txt`, decoded by the built-in `oci-punchout`.
fn decoded_cart() -> Value {
    let input =
        std::fs::read(fixture("oci-punchout/fixtures/cart/discountoffice.txt")).expect("fixture");
    let adapter = registry()
        .instantiate("oci-punchout", &json!({}))
        .expect("adapter");
    let reply = adapter.decode("cart", &input).expect("the fixture decodes");
    serde_json::from_slice(&reply.bytes).expect("canonical JSON")
}

/// The OIS README's complete order (`order/v1`), which every OIS profile accepts.
fn ois_order() -> Value {
    json_fixture("ois-orders/fixtures/order/home-delivery.encode.json")
}

/// A transform's table as the loader hands it over (`type` and `inputs` removed).
fn config(kind: &str, toml: &str) -> Result<TransformConfig, String> {
    let table = toml::de::Deserializer::parse(toml).map_err(|e| e.to_string())?;
    TransformConfig::deserialize_kind(kind, table)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no transform type `{kind}`"))
}

fn build(kind: &str, toml: &str) -> Result<Box<dyn Transform>, Vec<ConfigError>> {
    config(kind, toml)
        .unwrap_or_else(|e| panic!("{e}"))
        .build(&BuildContext {
            registry: registry(),
            base_dir: std::path::Path::new("."),
        })
}

fn transform(kind: &str, toml: &str) -> Box<dyn Transform> {
    build(kind, toml).unwrap_or_else(|errors| panic!("{errors:#?}"))
}

/// The one document a transform with one output sends on.
fn one(result: Result<Vec<Routed>, Diagnostics>) -> Value {
    let mut out = result.unwrap_or_else(|d| panic!("refused:\n{d}"));
    assert_eq!(out.len(), 1, "{out:#?}");
    let routed = out.remove(0);
    assert_eq!(routed.output, None);
    routed.document
}

fn refused(result: Result<Vec<Routed>, Diagnostics>) -> Vec<(String, String, String)> {
    let diagnostics = result.expect_err("the document is refused");
    assert!(diagnostics.has_errors(), "{diagnostics}");
    diagnostics
        .into_iter()
        .map(|d| (d.path, d.code, d.message))
        .collect()
}

fn paths(errors: &[ConfigError]) -> Vec<Vec<&str>> {
    errors
        .iter()
        .map(|e| e.path.iter().map(String::as_str).collect())
        .collect()
}

// ---------------------------------------------------------------------------------- map

const ISSUE_MAP: &str = r#"
set = { "/kind" = "order", "/payment/option_id" = "12" }
lookup = { "/delivery/carrier_id" = { from = "/delivery/carrier", table = "carriers", default = "1" } }
tables.carriers = { "Transporteur Express" = "3" }
"#;

#[test]
fn map_of_the_issue_turns_a_decoded_cart_into_an_order() {
    let map = transform("map", ISSUE_MAP);
    let cart = decoded_cart();
    assert_eq!(cart["kind"], "cart");

    // No carrier on the cart: the lookup's default, in objects `set` had to create.
    let order = one(map.apply(cart.clone()));
    assert_eq!(order["kind"], "order");
    assert_eq!(order["payment"], json!({"option_id": "12"}));
    assert_eq!(order["delivery"], json!({"carrier_id": "1"}));
    assert_eq!(order["lines"], cart["lines"], "nothing else changes");

    let mut with_carrier = cart.clone();
    with_carrier["delivery"] = json!({"carrier": "Transporteur Express"});
    let order = one(map.apply(with_carrier));
    assert_eq!(
        order["delivery"],
        json!({"carrier": "Transporteur Express", "carrier_id": "3"})
    );

    let mut unknown = cart;
    unknown["delivery"] = json!({"carrier": "Colis Rapide"});
    let order = one(map.apply(unknown));
    assert_eq!(
        order["delivery"]["carrier_id"], "1",
        "a value not in the table takes the default"
    );
}

#[test]
fn a_value_missing_from_a_table_without_default_refuses_the_document() {
    let map = transform(
        "map",
        r#"
        lookup = { "/delivery/carrier_id" = { from = "/delivery/carrier", table = "carriers" } }
        tables.carriers = { "Transporteur Express" = "3" }
        "#,
    );
    let mut order = ois_order();
    order["delivery"]["carrier"] = json!("Colis Rapide");
    let found = refused(map.apply(order));
    assert_eq!(found.len(), 1);
    let (path, code, message) = &found[0];
    assert_eq!(path, "/delivery/carrier");
    assert_eq!(code, "map.lookup_missing");
    assert!(message.contains("`Colis Rapide`"), "{message}");
    assert!(message.contains("table `carriers`"), "{message}");
    assert!(message.contains("/delivery/carrier_id"), "{message}");

    // Absent, with no default: nothing to translate, the target stays as it was.
    let mut order = ois_order();
    order["delivery"]
        .as_object_mut()
        .expect("object")
        .remove("carrier");
    assert_eq!(one(map.apply(order))["delivery"]["carrier_id"], "4");
}

#[test]
fn lookup_over_every_line_reports_each_missing_value_at_its_line() {
    let map = transform(
        "map",
        r#"
        lookup = { "/lines/*/unit" = { from = "/lines/*/unit", table = "units" } }
        tables.units = { PCE = "C62" }
        "#,
    );
    let found = refused(map.apply(decoded_cart()));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "/lines/1/unit");
    assert!(found[0].2.contains("`SHT`"), "{}", found[0].2);

    let units = transform(
        "map",
        r#"
        lookup = { "/lines/*/unit" = { from = "/lines/*/unit", table = "units" } }
        tables.units = { PCE = "C62", SHT = "ST" }
        "#,
    );
    let cart = one(units.apply(decoded_cart()));
    let units: Vec<&Value> = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| &line["unit"])
        .collect();
    assert_eq!(units, [&json!("C62"), &json!("ST"), &json!("C62")]);
}

#[test]
fn lookup_keys_numbers_by_their_text_and_refuses_objects() {
    let map = transform(
        "map",
        r#"
        lookup = { "/code" = { from = "/number", table = "codes" }, "/other" = { from = "/object", table = "codes" } }
        tables.codes = { "42" = "forty-two" }
        "#,
    );
    let found = refused(map.apply(json!({"number": 42, "object": {"a": 1}})));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "/object");
    assert_eq!(found[0].1, "map.lookup_not_scalar");
    let done = one(map.apply(json!({"number": 42})));
    assert_eq!(done["code"], "forty-two");
}

#[test]
fn copy_rename_and_remove_over_lines_and_escaped_keys() {
    let map = transform(
        "map",
        r#"
        copy = { "/lines/*/note" = "/lines/*/description", "/lines/*/currency" = "/currency" }
        rename = { "/extensions/oci.form.~0CALLER" = "/caller", "/lines/*/sku" = "/lines/*/article" }
        remove = ["/lines/*/long_text", "/extensions/oci.form.~0TARGET"]
        "#,
    );
    let cart = decoded_cart();
    let out = one(map.apply(cart.clone()));
    let lines = out["lines"].as_array().expect("lines");
    for (line, before) in lines.iter().zip(cart["lines"].as_array().expect("lines")) {
        assert_eq!(line["note"], before["description"]);
        assert_eq!(line["currency"], "EUR");
        assert_eq!(line["article"], before["sku"]);
        assert!(
            line.get("sku").is_none() && line.get("long_text").is_none(),
            "{line}"
        );
    }
    assert_eq!(out["caller"], "CTLG");
    assert_eq!(out["extensions"], json!({"oci.form.~OkCode": "ADDI"}));

    // `~1` is a `/` inside a key (e-connecteur's extension names have them).
    let rename = transform(
        "map",
        r#"rename = { "/extensions/commande~1total_products" = "/totals/products" }"#,
    );
    let order = one(rename.apply(json_fixture(
        "econnecteur/fixtures/order/vendor-sdk-order.expected.json",
    )));
    assert_eq!(
        order["totals"],
        json!({"gross": "115.0800", "products": "115.0800"})
    );
    assert_eq!(order["extensions"], json!({}));
}

#[test]
fn default_fills_only_absent_or_null_fields() {
    let map = transform(
        "map",
        r#"default = { "/lines/*/unit" = "PCE", "/comment" = "none" }"#,
    );
    let doc = json!({
        "comment": "",
        "lines": [{"unit": "SHT"}, {}, {"unit": null}]
    });
    let out = one(map.apply(doc));
    assert_eq!(
        out["lines"],
        json!([{"unit": "SHT"}, {"unit": "PCE"}, {"unit": "PCE"}])
    );
    assert_eq!(out["comment"], "", "an empty string is a value");
}

#[test]
fn removals_name_the_document_as_it_was() {
    let map = transform(
        "map",
        r#"remove = ["/lines/0", "/lines/2", "/lines/9", "/absent/x"]"#,
    );
    let cart = decoded_cart();
    let out = one(map.apply(cart.clone()));
    assert_eq!(out["lines"], json!([cart["lines"][1]]));
}

#[test]
fn operations_run_copy_rename_lookup_set_default_remove() {
    // Each pair below would come out otherwise in another order.
    let map = transform(
        "map",
        r#"
        copy = { "/kept" = "/reference" }
        rename = { "/delivery/carrier" = "/delivery/carrier_name" }
        lookup = { "/delivery/carrier_id" = { from = "/delivery/carrier_name", table = "carriers" }, "/kind" = { from = "/kind", table = "kinds" } }
        tables.carriers = { PostNL = "7" }
        tables.kinds = { order = "quote" }
        set = { "/kind" = "order", "/reference" = "R-1" }
        default = { "/kind" = "cart", "/comment" = "none" }
        remove = ["/reference"]
        "#,
    );
    let out = one(map.apply(ois_order()));
    assert_eq!(out["kept"], "WS-100023", "copy before remove");
    assert_eq!(
        out["delivery"],
        json!({"method": "home_delivery", "carrier_name": "PostNL", "carrier_id": "7"}),
        "rename before lookup"
    );
    assert_eq!(out["kind"], "order", "set after lookup, default after set");
    assert_eq!(out["comment"], "Please ring twice");
    assert!(out.get("reference").is_none(), "remove after set");
}

#[test]
fn writing_through_a_scalar_refuses_with_the_place() {
    let map = transform(
        "map",
        r#"set = { "/currency/code" = "EUR", "/lines/*/x" = 1, "/customer/*/y" = 2, "/lines/9/z" = 3 }"#,
    );
    let found = refused(map.apply(ois_order()));
    let found: Vec<(&str, &str)> = found
        .iter()
        .map(|(path, code, message)| {
            assert_eq!(code, "map.cannot_write");
            (path.as_str(), message.as_str())
        })
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].0, "/currency/code");
    assert!(
        found[0].1.contains("/currency is a string, not an object"),
        "{}",
        found[0].1
    );
    assert_eq!(found[1].0, "/customer");
    assert!(
        found[1].1.contains("/customer is an object, not an array"),
        "{}",
        found[1].1
    );
    assert_eq!(found[2].0, "/lines/9/z");
    assert!(
        found[2].1.contains("/lines has 5 elements, no index 9"),
        "{}",
        found[2].1
    );
}

#[test]
fn map_config_errors_are_all_reported_with_their_key_paths() {
    let errors = build(
        "map",
        r#"
        set = { "kind" = "order", "" = {}, "/ok" = 1 }
        copy = { "/x" = "/lines/*/sku", "/y" = "/a~2" }
        rename = { "/lines/*/sku" = "/sku" }
        remove = ["/fine", "nope"]
        lookup = { "/delivery/carrier_id" = { from = "delivery", table = "carrier" } }
        tables.carriers = {}
        "#,
    )
    .expect_err("a broken config");
    let mut found = paths(&errors);
    found.sort();
    assert_eq!(
        found,
        [
            vec!["copy", "/x"],
            vec!["copy", "/y"],
            vec!["lookup", "/delivery/carrier_id", "from"],
            vec!["lookup", "/delivery/carrier_id", "table"],
            vec!["remove", "1"],
            vec!["rename", "/lines/*/sku"],
            vec!["set", ""],
            vec!["set", "kind"],
        ]
    );
    let message = |path: &[&str]| {
        errors
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.message.as_str())
            .unwrap_or_default()
    };
    assert!(
        message(&["lookup", "/delivery/carrier_id", "table"])
            .contains("no table `carrier` (tables: carriers)")
    );
    assert!(message(&["set", "kind"]).contains("must start with `/`"));
    assert!(message(&["copy", "/x"]).contains("`/lines/*/sku` has 1 `*` and `/x` has 0"));
    assert!(message(&["copy", "/y"]).contains("`~` must be followed"));
    assert!(message(&["set", ""]).contains("whole document"));
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let error = config("map", "sett = { \"/kind\" = \"order\" }").expect_err("a misspelt key");
    assert!(error.contains("unknown field `sett`"), "{error}");
    assert!(error.contains("line 1"), "{error}");
    let error = config("map", "[lookup.\"/a\"]\nform = \"/b\"\ntable = \"t\"\n")
        .expect_err("a misspelt nested key");
    assert!(error.contains("unknown field `form`"), "{error}");
    assert!(error.contains("line 2"), "{error}");
    for (kind, toml) in [
        ("jq", "program = '.'\nprogramme = '.'"),
        ("route", "route.nl = 'true'\nroutes.x = 'true'"),
        (
            "validate",
            "encode = { adapter = \"ois-orders\", message = \"order\", configuration = {} }",
        ),
    ] {
        let error = config(kind, toml).expect_err("an unknown key");
        assert!(error.contains("unknown field"), "{kind}: {error}");
    }
    let error = config("jq", "").expect_err("no program");
    assert!(error.contains("missing field `program`"), "{error}");
    assert_eq!(
        TransformConfig::deserialize_kind("remap", toml::Table::new()).expect("no error"),
        None
    );
    assert_eq!(TransformConfig::TYPES, ["map", "jq", "validate", "route"]);
}

#[test]
fn the_json_schema_has_one_branch_per_type_with_descriptions() {
    let schema = serde_json::to_value(schemars::schema_for!(TransformConfig)).expect("JSON");
    let branches = schema["oneOf"].as_array().expect("one branch per type");
    let types: Vec<&str> = branches
        .iter()
        .map(|b| b["properties"]["type"]["const"].as_str().expect("a type"))
        .collect();
    assert_eq!(types, TransformConfig::TYPES);
    for branch in branches {
        assert_eq!(branch["additionalProperties"], false, "{branch}");
        for (key, property) in branch["properties"].as_object().expect("properties") {
            assert!(
                key == "type" || property["description"].is_string(),
                "`{key}` has no description"
            );
        }
    }
}

// ----------------------------------------------------------------------------------- jq

#[test]
fn jq_reshapes_a_document() {
    let jq = transform(
        "jq",
        r#"program = '.kind = "order" | .lines |= map(select(.kind == "article")) | del(.extensions)'"#,
    );
    let cart = decoded_cart();
    let out = one(jq.apply(cart.clone()));
    assert_eq!(out["kind"], "order");
    assert_eq!(out["lines"], json!([cart["lines"][0], cart["lines"][1]]));
    assert!(out.get("extensions").is_none());
    assert_eq!(out["contract"], "order/v1");
}

#[test]
fn jq_emits_one_document_per_output() {
    let jq = transform(
        "jq",
        r#"program = '.lines[] as $line | .lines = [$line] | .id = $line.sku'"#,
    );
    let out = jq.apply(decoded_cart()).expect("runs");
    let ids: Vec<&Value> = out.iter().map(|r| &r.document["id"]).collect();
    assert_eq!(ids, [&json!("FAC132"), &json!("PAP80A4"), &Value::Null]);
    assert!(out.iter().all(
        |r| r.output.is_none() && r.document["lines"].as_array().is_some_and(|l| l.len() == 1)
    ));

    let none = transform("jq", "program = 'select(.kind == \"order\")'");
    assert_eq!(none.apply(decoded_cart()).expect("runs"), []);
}

#[test]
fn jq_runtime_errors_refuse_the_document() {
    let jq = transform(
        "jq",
        r#"program = 'if .delivery then . else error("no delivery on \(.kind)") end'"#,
    );
    let found = refused(jq.apply(decoded_cart()));
    assert_eq!(
        found,
        [(
            String::new(),
            "jq.error".to_owned(),
            "the jq program failed: no delivery on cart".to_owned()
        )]
    );
    let typed = transform("jq", "program = '.lines + 1'");
    let found = refused(typed.apply(decoded_cart()));
    assert!(
        found[0]
            .2
            .starts_with("the jq program failed: cannot calculate"),
        "{}",
        found[0].2
    );
}

#[test]
fn jq_halt_refuses_the_document_and_does_not_exit() {
    for program in ["halt", "halt_error(1)"] {
        let jq = transform("jq", &format!("program = '{program}'"));
        let found = refused(jq.apply(json!({"contract": "order/v1"})));
        assert!(found[0].2.contains("halted"), "{program}: {}", found[0].2);
    }
}

#[test]
fn jq_outputs_must_be_json_objects() {
    let cases = [
        (
            ".kind",
            "jq.not_a_document",
            "output 1 of the jq program is a string",
        ),
        ("{a: [1, nan]}", "jq.not_json", "has at /a/1 the number NaN"),
        (
            r#"{a: ("x" | tobytes)}"#,
            "jq.not_json",
            "has at /a a byte string",
        ),
        ("{(1): 2}", "jq.not_json", "the object key 1"),
    ];
    for (program, code, message) in cases {
        let jq = transform("jq", &format!("program = '{program}'"));
        let found = refused(jq.apply(decoded_cart()));
        assert_eq!(found[0].1, code, "{program}");
        assert!(found[0].2.contains(message), "{program}: {}", found[0].2);
    }
}

#[test]
fn jq_compile_errors_are_config_errors_with_jaqs_message() {
    let cases = [
        (".lines | map(", "expected closing parenthesis"),
        (
            ".lines | frobnicate",
            "undefined filter `frobnicate/0` at column 10",
        ),
        ("if . then 1", "expected else or end"),
        ("env.OIS_SECRET", "undefined filter `env/0`"),
        ("$ENV", "undefined variable `$ENV`"),
    ];
    for (program, message) in cases {
        let errors = build("jq", &format!("program = '{program}'")).expect_err(program);
        assert_eq!(paths(&errors), [["program"]], "{program}");
        assert!(
            errors[0].message.contains(message),
            "{program}: {}",
            errors[0].message
        );
    }
}

#[test]
fn jq_runs_on_many_threads_at_once() {
    let jq = transform(
        "jq",
        "program = '.lines |= map(.quantity |= tonumber * 2 | .quantity |= tostring)'",
    );
    let expected = one(jq.apply(decoded_cart()));
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..20)
                        .map(|_| one(jq.apply(decoded_cart())))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for run in runs {
            for out in run.join().expect("no panic") {
                assert_eq!(out, expected);
            }
        }
    });
    assert_eq!(expected["lines"][1]["quantity"], "5000");
}

// -------------------------------------------------------------------------------- route

const BY_COUNTRY: &str = r#"
route.nl = '.delivery_address.country == "NL"'
route.gift = 'any(.lines[]; .kind == "voucher")'
route.fr = '.delivery_address.country == "FR"'
"#;

fn outputs(result: Result<Vec<Routed>, Diagnostics>) -> Vec<String> {
    result
        .unwrap_or_else(|d| panic!("refused:\n{d}"))
        .into_iter()
        .map(|r| r.output.expect("a named output"))
        .collect()
}

#[test]
fn route_sends_to_every_matching_route_or_unmatched() {
    let route = transform("route", BY_COUNTRY);
    assert_eq!(
        route.outputs(),
        ["fr", "gift", "nl", "_unmatched"].map(|name| Some(name.to_owned()))
    );

    // The OIS order ships to NL and pays part with a gift card: two routes.
    let order = ois_order();
    let out = route.apply(order.clone()).expect("routes");
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].output.as_deref(), Some("gift"));
    assert_eq!(out[1].output.as_deref(), Some("nl"));
    assert!(
        out.iter().all(|r| r.document == order),
        "documents pass unchanged"
    );

    let mut french = ois_order();
    french["delivery_address"]["country"] = json!("FR");
    french["lines"].as_array_mut().expect("lines").pop();
    assert_eq!(outputs(route.apply(french)), ["fr"]);

    // The cart has no delivery address: no route.
    assert_eq!(outputs(route.apply(decoded_cart())), ["_unmatched"]);
}

#[test]
fn only_the_boolean_true_matches() {
    let route = transform(
        "route",
        r#"
        route.country = '.delivery_address.country'
        route.one = '1'
        route.late = 'false, true'
        route.never = 'empty'
        "#,
    );
    assert_eq!(outputs(route.apply(ois_order())), ["late"]);
    let never = transform("route", "route.truthy = '\"yes\", {}, []'");
    assert_eq!(outputs(never.apply(ois_order())), ["_unmatched"]);
}

#[test]
fn a_failing_condition_refuses_the_document() {
    let route = transform(
        "route",
        r#"
        route.fine = 'true'
        route.big = '(.totals.gross | tonumber) > 50'
        "#,
    );
    let found = refused(route.apply(decoded_cart()));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].1, "route.condition_failed");
    assert!(
        found[0]
            .2
            .starts_with("the condition of route `big` failed: "),
        "{}",
        found[0].2
    );
    // The same condition where it holds.
    assert_eq!(outputs(route.apply(ois_order())), ["big", "fine"]);
}

#[test]
fn route_config_errors_name_each_route() {
    let errors = build(
        "route",
        r#"
        route._unmatched = 'true'
        route."by.country" = 'true'
        route.9lives = 'true'
        route.broken = '.a =='
        route.ok-name_2 = 'true'
        "#,
    )
    .expect_err("bad routes");
    assert_eq!(
        paths(&errors),
        [
            ["route", "9lives"],
            ["route", "_unmatched"],
            ["route", "broken"],
            ["route", "by.country"],
        ]
    );
    assert!(errors[1].message.contains("documents no route matched"));
    assert!(
        errors[2]
            .message
            .contains("expected term, found the end of the program"),
        "{}",
        errors[2].message
    );
    assert!(errors[3].message.contains("not a valid output name"));

    let errors = build("route", "route = {}").expect_err("no routes");
    assert_eq!(paths(&errors), [["route"]]);
}

// ----------------------------------------------------------------------------- validate

#[test]
fn validate_refuses_what_the_core_refuses() {
    let validate = transform("validate", "");
    let order = ois_order();
    assert_eq!(one(validate.apply(order.clone())), order);

    let mut wrong_total = order.clone();
    wrong_total["totals"]["gross"] = json!("99.99");
    let found = refused(validate.apply(wrong_total));
    assert_eq!(found[0].0, "/totals/gross");
    assert_eq!(found[0].1, "order.total_mismatch");

    let mut no_quantity = order;
    no_quantity["lines"][0]["quantity"] = json!("many");
    let found = refused(validate.apply(no_quantity));
    assert_eq!(found[0].0, "/lines/0/quantity");

    let found = refused(validate.apply(json!({"contract": "invoice/v9"})));
    assert!(
        found[0]
            .2
            .contains("unknown document contract `invoice/v9`"),
        "{}",
        found[0].2
    );
}

#[test]
fn validate_dry_runs_the_adapters_encode() {
    let xprt = transform(
        "validate",
        r#"encode = { adapter = "ois-orders", message = "order", config = { profile = "xprt" } }"#,
    );
    let no_profile = transform(
        "validate",
        r#"encode = { adapter = "ois-orders", message = "order", config = { profile = "none" } }"#,
    );
    let mut long_name = ois_order();
    long_name["delivery_address"]["first_name"] = json!("Johanna Wilhelmina Maria Theresa");
    assert_eq!(
        one(no_profile.apply(long_name.clone())),
        long_name,
        "OIS itself accepts it, unchanged"
    );
    let found = refused(xprt.apply(long_name));
    assert_eq!(
        found,
        [(
            "/delivery_address/first_name".to_owned(),
            "ois.field_too_long".to_owned(),
            "OIS DeliveryAddress.FirstName: DeliveryAddress.FirstName is 32 characters long; the xprt \
             profile allows at most 30"
                .to_owned()
        )]
    );
    assert_eq!(one(xprt.apply(ois_order())), ois_order());

    // The message encodes orders: a cart's punchout session is another contract.
    let found = refused(xprt.apply(json!({"contract": "punchout-session/v1"})));
    assert_eq!(found[0].1, "document.wrong_contract");
}

#[test]
fn validate_config_errors_point_into_encode() {
    let paths_of = |toml: &str| {
        let errors = build("validate", toml).expect_err(toml);
        errors
            .into_iter()
            .map(|e| e.path.join("."))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        paths_of(r#"encode = { adapter = "ois", message = "order" }"#),
        ["encode.adapter"]
    );
    assert_eq!(
        paths_of(r#"encode = { adapter = "ois-orders", message = "orders" }"#),
        ["encode.message"]
    );
    assert_eq!(
        paths_of(
            r#"encode = { adapter = "ois-orders", message = "order", config = { profile = 3 } }"#
        ),
        ["encode.config.profile"]
    );
}

// ------------------------------------------------------------------------- never panics

mod never_panics {
    use proptest::prelude::*;
    use serde_json::Value;
    use tradewire_runtime::BuildContext;
    use tradewire_runtime::transforms::Transform;
    use tradewire_runtime::transforms::map::{LookupConfig, MapConfig};

    fn document() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-c0-9*~/-]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..5)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("0".to_owned()),
            Just("1".to_owned()),
            Just("*".to_owned()),
            Just("a/b".to_owned()),
            "[a-c~0-9-]{0,2}",
        ]
    }

    /// A well-formed pointer with `wildcards` `*` segments among one to three others
    /// (keys, indices, `-`, escapes, the empty key).
    fn pointer(wildcards: usize) -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            Just("a"),
            Just("b"),
            Just("0"),
            Just("1"),
            Just("01"),
            Just("-"),
            Just("a~1b"),
            Just("~0"),
            Just(""),
        ];
        prop::collection::vec(segment, 1..4)
            .prop_flat_map(move |mut segments| {
                segments.extend(std::iter::repeat_n("*", wildcards));
                Just(segments).prop_shuffle()
            })
            .prop_map(|segments| format!("/{}", segments.join("/")))
    }

    fn any_pointer() -> impl Strategy<Value = String> {
        (0..3usize).prop_flat_map(pointer)
    }

    /// A (target, source) pair as `map` accepts it: as many `*` in both, or none in the
    /// source when `broadcast`.
    fn pair(broadcast: bool) -> impl Strategy<Value = (String, String)> {
        (0..3usize, any::<bool>()).prop_flat_map(move |(n, none)| {
            let source = if broadcast && none { 0 } else { n };
            (pointer(n), pointer(source))
        })
    }

    fn config() -> impl Strategy<Value = MapConfig> {
        let values = || {
            prop::collection::vec((any_pointer(), super::json_value()), 0..3)
                .prop_map(|entries| entries.into_iter().collect())
        };
        let pairs = |broadcast| {
            prop::collection::vec(pair(broadcast), 0..3)
                .prop_map(|pairs| pairs.into_iter().collect::<Vec<_>>())
        };
        (
            values(),
            values(),
            pairs(true),
            pairs(false),
            prop::collection::vec(any_pointer(), 0..3),
            (pairs(true), prop::collection::vec(any::<bool>(), 3)),
        )
            .prop_map(|(set, default, copy, rename, remove, (lookup, defaults))| {
                MapConfig {
                    set,
                    default,
                    copy: copy.into_iter().collect(),
                    rename: rename.into_iter().map(|(to, from)| (from, to)).collect(),
                    remove,
                    lookup: lookup
                        .into_iter()
                        .zip(defaults)
                        .map(|((to, from), with_default)| {
                            let default = with_default.then(|| Value::from("d"));
                            let table = "t".to_owned();
                            (
                                to,
                                LookupConfig {
                                    from,
                                    table,
                                    default,
                                },
                            )
                        })
                        .collect(),
                    tables: [("t".to_owned(), [("a".to_owned(), Value::from(1))].into())].into(),
                }
            })
    }

    /// Any text as a pointer, well-formed or not.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any_pointer(), "[a-c/~*0-2-]{0,6}"]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn map_never_panics(config in config(), doc in document()) {
            let registry = super::registry();
            let map = config.build(&BuildContext { registry, base_dir: std::path::Path::new(".") });
            prop_assert!(map.is_ok(), "{:?}", map.err());
            if let Ok(map) = map {
                let _ = map.apply(doc);
            }
        }

        #[test]
        fn building_never_panics(
            set in prop::collection::btree_map(text(), Just(Value::Null), 0..3),
            copy in prop::collection::btree_map(text(), text(), 0..3),
            rename in prop::collection::btree_map(text(), text(), 0..3),
            remove in prop::collection::vec(text(), 0..3),
            doc in document(),
        ) {
            let config = MapConfig { set, copy, rename, remove, ..MapConfig::default() };
            if let Ok(map) = config.build(&BuildContext { registry: super::registry(), base_dir: std::path::Path::new(".") }) {
                let _ = map.apply(doc);
            }
        }
    }
}

fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    prop_oneof![
        Just(Value::Null),
        Just(json!({})),
        Just(json!([1, {"a": 2}])),
        "[a-z]{0,3}".prop_map(Value::String),
    ]
}
