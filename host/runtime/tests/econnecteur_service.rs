//! The `econnecteur` service answering calls as the e-connecteur program makes them, over
//! a SQLite store: every resource, the vendor's samples as `data`, answers validated with
//! `xmllint --schema` against the vendor's XSDs where one applies, the real
//! `grilles_2.xml`, compression 0 to 3, and keys that are wrong or missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use tempfile::TempDir;
use tradewire_core::Document;
use tradewire_plugins::Registry;
use tradewire_runtime::BuildContext;
use tradewire_runtime::services::econnecteur::{
    Answered, EconnecteurService, EconnecteurServiceConfig, OUTPUTS, TakeError,
};
use tradewire_store::Store;
use tradewire_store::service::CatalogueKind;
use tradewire_store::sqlite::{SqliteOptions, SqliteStore};

const KEY: &str = "s3cret";

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::with_builtins)
}

fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/econnecteur")
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(conformance().join("samples").join(name)).unwrap()
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../adapters/econnecteur/fixtures")
            .join(path),
    )
    .unwrap()
}

/// A service over a store on a file of its own temporary directory.
struct Served {
    service: EconnecteurService,
    store: SqliteStore,
    _directory: TempDir,
}

impl Deref for Served {
    type Target = EconnecteurService;

    fn deref(&self) -> &EconnecteurService {
        &self.service
    }
}

/// The service `erp` with `extra` merged into its table.
fn served(extra: Value) -> Served {
    let mut table = json!({"address": "127.0.0.1:0", "key": KEY});
    if let (Some(table), Some(extra)) = (table.as_object_mut(), extra.as_object()) {
        table.extend(extra.clone());
    }
    let config: EconnecteurServiceConfig = serde_json::from_value(table).unwrap();
    let cx = BuildContext {
        registry: registry(),
        base_dir: Path::new("."),
    };
    let service = config.build("erp", &cx).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open(directory.path().join("store.db"), SqliteOptions::default()).unwrap();
    Served {
        service,
        store,
        _directory: directory,
    }
}

/// `pairs` as an `application/x-www-form-urlencoded` body (every byte but letters and
/// digits escaped, as a careful client does).
fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

impl Served {
    /// Calls `resource` with the key, `data` and more variables, as a form.
    async fn call(&self, resource: &str, data: &str, more: &[(&str, &str)]) -> Answered {
        let mut pairs = vec![("key", KEY), ("resource", resource)];
        pairs.extend_from_slice(more);
        if !data.is_empty() {
            pairs.push(("data", data));
        }
        self.service
            .call(
                &self.store,
                form(&pairs),
                Some("application/x-www-form-urlencoded".to_owned()),
            )
            .await
    }

    /// Carries out the call of `resource`, checking it succeeded: the answer's text.
    async fn ok(&self, resource: &str, data: &str, more: &[(&str, &str)]) -> (String, Answered) {
        let answered = self.call(resource, data, more).await;
        let text = body_of(&answered);
        assert_eq!(answered.reply.status, 200, "{text}");
        assert!(!text.contains("<error>"), "{resource}: {text}");
        (text, answered)
    }

    /// Keeps a canonical order as if it were routed to the service.
    async fn route(&self, document: &str, order: &Value) -> i64 {
        self.service
            .take_order(&self.store, document, &serde_json::to_vec(order).unwrap())
            .await
            .unwrap()
    }
}

fn body_of(answered: &Answered) -> String {
    String::from_utf8(answered.reply.body.clone()).unwrap()
}

/// The error envelope's message, if the answer is one.
fn error_of(answered: &Answered) -> Option<String> {
    let text = body_of(answered);
    let start = text.find("<error>")? + "<error>".len();
    let end = text.find("</error>")?;
    Some(text[start..end].to_owned())
}

/// What was emitted, as (output, canonical JSON).
fn emitted(answered: &Answered) -> Vec<(&'static str, Value)> {
    answered
        .emitted
        .iter()
        .map(|e| {
            assert!(OUTPUTS.contains(&e.output), "{}", e.output);
            (
                e.output,
                serde_json::from_slice(&e.document.to_json()).unwrap(),
            )
        })
        .collect()
}

/// `xmllint --noout --schema` of the vendor's `xsd` on `xml`.
fn assert_valid(xsd: &str, xml: &str) {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("answer.xml");
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(conformance().join("xsd").join(xsd))
        .arg(&file)
        .output()
        .expect("xmllint is installed (libxml2-utils)");
    assert!(
        output.status.success(),
        "not valid against {xsd}: {}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The text of every `<name>` element of `xml`, in order.
fn texts(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.match_indices(&open)
        .filter_map(|(at, _)| {
            let rest = &xml[at + open.len()..];
            rest.find(&close).map(|end| rest[..end].to_owned())
        })
        .collect()
}

/// The vendor's sample order as the canonical order a shop's pipeline routes here.
fn canonical_order(reference: &str, customer_id: &str) -> Value {
    let instance = registry().instantiate("econnecteur", &json!({})).unwrap();
    let decoded = instance
        .decode("order", sample("order.xml").as_bytes())
        .unwrap();
    let mut order: Value = serde_json::from_slice(&decoded.bytes).unwrap();
    order["id"] = json!(reference);
    order["reference"] = json!(reference);
    order["customer"]["id"] = json!(customer_id);
    order
}

#[tokio::test]
async fn products_are_added_updated_listed_and_refused_as_the_vendor_says() {
    let erp = served(json!({}));
    // The vendor's test 7: an add_product whose data says `tva` 5.50.
    let (added, answered) = erp
        .ok(
            "add_product",
            &sample("add_product.7-Ajout-produit.xml"),
            &[],
        )
        .await;
    assert_valid("7-Ajout-produit.xsd", &added);
    let pushed = emitted(&answered);
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].0, "products");
    assert_eq!(pushed[0].1["sku"], "123456");
    assert_eq!(pushed[0].1["vat_rate"], "5.50");

    // Adding it again, or updating one the shop lacks, is an error: in the envelope,
    // with HTTP 200. The very same push again (e-connecteur's retry of a call it got no
    // answer to) is emitted again all the same; another content is not.
    let again = erp
        .call(
            "add_product",
            &sample("add_product.7-Ajout-produit.xml"),
            &[],
        )
        .await;
    assert_eq!(again.reply.status, 200);
    assert!(
        error_of(&again).unwrap().contains("exists already"),
        "{}",
        body_of(&again)
    );
    assert_eq!(emitted(&again), pushed);
    let other = sample("add_product.7-Ajout-produit.xml").replace("<stock>", "<stock>9");
    let refused = erp.call("add_product", &other, &[]).await;
    assert!(error_of(&refused).unwrap().contains("exists already"));
    assert!(refused.emitted.is_empty());
    let unknown = sample("update_product.6-Mise-a-jour-produit.xml").replace(
        "<reference>123456</reference>",
        "<reference>NOPE-1</reference>",
    );
    let refused = erp.call("update_product", &unknown, &[]).await;
    assert!(
        error_of(&refused)
            .unwrap()
            .contains("add it with add_product")
    );
    assert!(refused.emitted.is_empty());

    let (updated, answered) = erp
        .ok(
            "update_product",
            &sample("update_product.6-Mise-a-jour-produit.xml"),
            &[],
        )
        .await;
    assert_valid("6-Mise-a-jour-produit.xsd", &updated);
    assert_eq!(emitted(&answered)[0].1["sku"], "123456");
    let stored = erp
        .store
        .service_product("erp", CatalogueKind::Product, "123456")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Document::from_json(&stored.document, None)
            .unwrap()
            .to_json(),
        stored.document
    );

    // With gammes (the vendor's test 16) and with traductions (the spec's example).
    let gammes = sample("add_product.16-Ajout-produit-gamme.xml").replace(
        "<reference>123456</reference>",
        "<reference>VOIT</reference>",
    );
    let (added, answered) = erp.ok("add_product", &gammes, &[]).await;
    assert_valid("16-Ajout-produit-gamme.xsd", &added);
    let product = &emitted(&answered)[0].1;
    assert_eq!(product["sku"], "VOIT");
    assert_eq!(product["variants"][0]["sku"], "VOIT0010");
    let traductions = String::from_utf8(fixture("product/spec-traductions.xml")).unwrap();
    let (_, answered) = erp.ok("add_product", &traductions, &[]).await;
    let product = &emitted(&answered)[0].1;
    assert_eq!(product["translations"]["de-de"]["name"], "Hybride Figur");

    // products_list, as the vendor's test 4 asks it (limit 0,500), valid against XSD 4.
    let (list, _) = erp
        .ok(
            "products_list",
            &sample("products_list.4-Liste-des-produits.xml"),
            &[],
        )
        .await;
    assert_valid("4-Liste-des-produits.xsd", &list);
    assert_eq!(texts(&list, "reference"), ["123456", "VOIT", "ACTI0001"]);
    // Pages by `limit`: start,count or a count; a product added later comes last.
    let (page, _) = erp.ok("products_list", "", &[("limit", "1,1")]).await;
    assert_eq!(texts(&page, "reference"), ["VOIT"]);
    let (page, _) = erp.ok("products_list", "", &[("limit", "2")]).await;
    assert_eq!(texts(&page, "reference"), ["123456", "VOIT"]);
    let ids = texts(&list, "id");
    assert!(
        ids.windows(2)
            .all(|w| w[0].parse::<i64>().unwrap() < w[1].parse::<i64>().unwrap())
    );

    // Options: updated (the first update adds), listed apart.
    let (_, answered) = erp
        .ok(
            "update_option",
            &sample("update_option.9-Mise-a-jour-option.xml"),
            &[],
        )
        .await;
    assert_eq!(emitted(&answered)[0].0, "products");
    let (options, _) = erp.ok("options_list", "", &[("limit", "0,10")]).await;
    assert_eq!(texts(&options, "reference"), ["123456"]);
}

#[tokio::test]
async fn orders_wait_are_fetched_marked_exported_and_tracked() {
    let erp = served(json!({"order_state": "2", "config": {"order_format": "xsd"}}));
    let first = erp.route("doc-1", &canonical_order("WEB-1", "41")).await;
    let second = erp.route("doc-2", &canonical_order("WEB-2", "42")).await;
    assert_eq!(
        erp.route("doc-1", &canonical_order("WEB-1", "41")).await,
        first
    );

    // The vendor's two orders_list requests: `filter` as a state name, and as states.
    for request in [
        "orders_list.9-Liste-des-commandes.xml",
        "orders_list.9-Liste-des-commandes.2015.xml",
    ] {
        let (list, answered) = erp.ok("orders_list", &sample(request), &[]).await;
        assert_eq!(
            texts(&list, "id"),
            [first.to_string(), second.to_string()],
            "{request}"
        );
        assert_eq!(texts(&list, "current_state"), ["2", "2"]);
        assert!(answered.emitted.is_empty());
    }
    let (none, _) = erp.ok("orders_list", "", &[("filter", "1,3")]).await;
    assert!(texts(&none, "id").is_empty(), "{none}");

    // One order in full (the vendor's test 10 asks for id 123), valid against XSD 10.
    let request = sample("orders.10-Details-commande.xml")
        .replace("<id>123</id>", &format!("<id>{first}</id>"));
    let (order, _) = erp.ok("orders", &request, &[]).await;
    assert_valid("10-Details-commande.xsd", &order);
    assert_eq!(texts(&order, "product_reference"), ["FAC132"]);
    let missing = erp.call("orders", "", &[("id", "999")]).await;
    assert!(error_of(&missing).unwrap().contains("no order"));

    // Marked exported with its final state: listed no more, and the change emitted.
    let id = first.to_string();
    let (exported, answered) = erp
        .ok(
            "set_order_exported",
            "",
            &[("id", &id), ("statut_final", "4")],
        )
        .await;
    assert_eq!(texts(&exported, "statut_final"), ["4"]);
    let change = emitted(&answered);
    assert_eq!(change[0].0, "status_changes");
    assert_eq!(
        (
            &change[0].1["order_id"],
            &change[0].1["source_status"],
            &change[0].1["exported"]
        ),
        (&json!("WEB-1"), &json!("4"), &json!(true))
    );
    let (list, _) = erp.ok("orders_list", "", &[]).await;
    assert_eq!(texts(&list, "id"), [second.to_string()]);

    let (tracked, answered) = erp
        .ok(
            "add_tracking",
            "",
            &[("id", &id), ("shipping_number", "1Z999AA10123456784")],
        )
        .await;
    assert_eq!(texts(&tracked, "shipping_number"), ["1Z999AA10123456784"]);
    assert_eq!(
        emitted(&answered)[0].1["tracking_numbers"],
        json!(["1Z999AA10123456784"])
    );
    let stored = erp
        .store
        .service_order("erp", first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, "4");
    assert_eq!(stored.tracking, ["1Z999AA10123456784"]);
    let unknown = erp
        .call(
            "add_tracking",
            "",
            &[("id", "77"), ("shipping_number", "X")],
        )
        .await;
    assert!(error_of(&unknown).is_some());

    // The routed orders' customers are the shop's customers.
    let (customers, _) = erp.ok("customers_list", "", &[]).await;
    assert!(customers.contains("testeur@hotmail.com"), "{customers}");

    // What is not an order, or no order the ERP could be given, is refused at routing.
    let refused = erp
        .service
        .take_order(
            &erp.store,
            "doc-3",
            br#"{"contract":"product/v1","sku":"A"}"#,
        )
        .await;
    assert!(matches!(refused, Err(TakeError::Refused(_))), "{refused:?}");
    let mut no_customer_id = canonical_order("WEB-3", "41");
    no_customer_id["customer"]["id"] = json!("not-a-number");
    let refused = erp
        .service
        .take_order(
            &erp.store,
            "doc-3",
            &serde_json::to_vec(&no_customer_id).unwrap(),
        )
        .await;
    assert!(matches!(refused, Err(TakeError::Refused(_))), "{refused:?}");
}

#[tokio::test]
async fn customers_come_in_both_forms_with_contacts_and_are_listed_by_date() {
    let erp = served(json!({}));
    let all_at_once = String::from_utf8(fixture("customers/spec-example.xml")).unwrap();
    let (_, answered) = erp.ok("add_customer", &all_at_once, &[]).await;
    let pushed = emitted(&answered);
    assert_eq!(pushed[0].0, "customers");
    assert_eq!(pushed[0].1["customers"][0]["id"], "BAGUES");
    assert_eq!(
        pushed[0].1["customers"][0]["contacts"][0]["email"],
        "zhia@bagues.fr"
    );
    // One client node per contact (EBP): one customer, both contacts.
    let per_contact = String::from_utf8(fixture("customers/ebp-one-node-per-contact.xml")).unwrap();
    let (_, answered) = erp.ok("add_customer", &per_contact, &[]).await;
    let customer = &emitted(&answered)[0].1["customers"][0];
    assert_eq!(customer["id"], "CL00042");
    assert_eq!(customer["contacts"].as_array().unwrap().len(), 2);

    let (list, _) = erp.ok("customers_list", "", &[]).await;
    assert!(
        list.contains("BAGUES") && list.contains("CL00042"),
        "{list}"
    );
    let today = chrono::Utc::now().format("%d-%m-%Y").to_string();
    let (since_today, _) = erp.ok("customers_list", "", &[("date", &today)]).await;
    assert!(since_today.contains("CL00042"));
    let (since_later, _) = erp
        .ok("customers_list", "", &[("date", "01-01-2099")])
        .await;
    assert!(!since_later.contains("CL00042"), "{since_later}");

    let unidentified = String::from_utf8(fixture("customers/unidentified.xml")).unwrap();
    let refused = erp.call("add_customer", &unidentified, &[]).await;
    assert!(error_of(&refused).is_some(), "{}", body_of(&refused));
    assert!(refused.emitted.is_empty());
}

#[tokio::test]
async fn the_real_grid_and_a_sales_document_with_its_pdf_are_kept() {
    let erp = served(json!({}));
    let grid = sample("grilles_2.xml");
    let (_, answered) = erp.ok("add_grilles", &grid, &[]).await;
    let pushed = emitted(&answered);
    assert_eq!(pushed[0].0, "price_rules");
    let rules = pushed[0].1["rules"].as_array().unwrap().len();
    assert_eq!(rules, 1790);
    let refs: std::collections::BTreeSet<&str> = pushed[0].1["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        erp.store.service_price_rules("erp").await.unwrap().len(),
        refs.len(),
        "one rule kept per grid ref"
    );

    // add_order: the ERP's invoice with its PDF, kept and emitted.
    let answered = erp
        .service
        .call(
            &erp.store,
            fixture("request/add-order-with-pdf.form"),
            Some("application/x-www-form-urlencoded".to_owned()),
        )
        .await;
    assert!(error_of(&answered).is_none(), "{}", body_of(&answered));
    let pushed = emitted(&answered);
    assert_eq!(pushed[0].0, "documents");
    let reference = pushed[0].1["reference"].as_str().unwrap().to_owned();
    let pdf_base64 = pushed[0].1["extensions"]["pdf"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = erp
        .store
        .service_sales_document("erp", &reference)
        .await
        .unwrap()
        .unwrap();
    let pdf = kept.pdf.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "{:?}", &pdf[..pdf.len().min(16)]);
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(&pdf),
        pdf_base64.split_whitespace().collect::<String>()
    );
}

/// `text` packed as `compression` says: 1 zlib, 2 bzip2, 3 raw deflate.
fn pack(compression: &str, text: &str) -> Vec<u8> {
    fn finish<W: std::io::Write>(
        mut packer: W,
        text: &str,
        done: impl FnOnce(W) -> Vec<u8>,
    ) -> Vec<u8> {
        packer.write_all(text.as_bytes()).unwrap();
        done(packer)
    }
    let level = flate2::Compression::default();
    match compression {
        "1" => finish(
            flate2::write::ZlibEncoder::new(Vec::new(), level),
            text,
            |z| z.finish().unwrap(),
        ),
        "2" => finish(
            bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default()),
            text,
            |z| z.finish().unwrap(),
        ),
        "3" => finish(
            flate2::write::DeflateEncoder::new(Vec::new(), level),
            text,
            |z| z.finish().unwrap(),
        ),
        other => panic!("no packing {other}"),
    }
}

/// A `multipart/form-data` body of `fields`, `data` as a file part; and its content type.
fn multipart(fields: &[(&str, &[u8])]) -> (Vec<u8>, String) {
    let boundary = "----tradewire-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        let file = if *name == "data" {
            "; filename=\"data\"\r\nContent-Type: application/octet-stream"
        } else {
            ""
        };
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

#[tokio::test]
async fn compressed_data_is_read_in_each_packing() {
    let erp = served(json!({}));
    let data = sample("add_product.7-Ajout-produit.xml");
    for compression in ["1", "2", "3"] {
        // Each packing adds a product of its own.
        let sku = format!("PACKED-{compression}");
        let text = data.replace(
            "<reference>123456</reference>",
            &format!("<reference>{sku}</reference>"),
        );
        let packed = pack(compression, &text);
        // Packed data goes as multipart, as the vendor's test bench posts it.
        let (body, content_type) = multipart(&[
            ("key", KEY.as_bytes()),
            ("resource", b"add_product"),
            ("compression", compression.as_bytes()),
            ("data", &packed),
        ]);
        let answered = erp.service.call(&erp.store, body, Some(content_type)).await;
        assert!(
            error_of(&answered).is_none(),
            "compression {compression}: {}",
            body_of(&answered)
        );
        assert_eq!(emitted(&answered)[0].1["sku"], sku.as_str());
    }
    let (list, _) = erp.ok("products_list", "", &[]).await;
    assert_eq!(
        texts(&list, "reference"),
        ["PACKED-1", "PACKED-2", "PACKED-3"]
    );
}

#[tokio::test]
async fn a_wrong_or_missing_key_and_an_unknown_resource_answer_the_envelope() {
    let erp = served(json!({}));
    let data = sample("add_product.7-Ajout-produit.xml");
    let wrong = erp
        .service
        .call(
            &erp.store,
            form(&[
                ("key", "s3cres"),
                ("resource", "add_product"),
                ("data", &data),
            ]),
            None,
        )
        .await;
    assert_eq!(wrong.reply.status, 200);
    assert_eq!(error_of(&wrong).as_deref(), Some("the key is wrong"));
    assert!(!body_of(&wrong).contains("s3cre"), "the key is not echoed");
    assert!(wrong.emitted.is_empty());
    let missing = erp
        .service
        .call(&erp.store, form(&[("resource", "products_list")]), None)
        .await;
    assert_eq!(error_of(&missing).as_deref(), Some("the key is missing"));
    let unknown = erp.call("delete_everything", "", &[]).await;
    assert!(error_of(&unknown).is_some(), "{}", body_of(&unknown));
    assert!(
        erp.store
            .service_list_products("erp", CatalogueKind::Product, 0, None)
            .await
            .unwrap()
            .is_empty(),
        "nothing was kept"
    );

    // The error status is configurable, for shops that follow the vendor's modules.
    let strict = served(json!({"error_status": 400}));
    let wrong = strict
        .service
        .call(
            &strict.store,
            form(&[("key", "nope"), ("resource", "products_list")]),
            None,
        )
        .await;
    assert_eq!(wrong.reply.status, 400);
    let (_, ok) = strict.ok("products_list", "", &[]).await;
    assert_eq!(ok.reply.status, 200);
}
