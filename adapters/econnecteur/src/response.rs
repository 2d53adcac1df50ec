//! The webservice's answer (`<connecteur>…</connecteur>`) ↔ [`ServiceResponse`].
//!
//! | reply            | answer                                                                |
//! |------------------|-----------------------------------------------------------------------|
//! | `product_refs`   | `<products_list><product><id/><reference/></product>…</products_list>` |
//! | `option_refs`    | `<options_list><option><id/><reference/></option>…</options_list>`    |
//! | `order_refs`     | `<orders_list><order><id/><current_state/></order>…</orders_list>`     |
//! | `order`          | `<order>…</order>` (see the order message)                              |
//! | `order_exported` | `<set_order_exported><id/><statut_final/></set_order_exported>`        |
//! | `tracking_added` | `<add_tracking><id/><shipping_number/></add_tracking>`                 |
//! | `customers`      | `<customers><adresse/><client/>…</customers>`                          |
//! | `done`           | `<update_product/>`, `<add_product/>`, `<update_option/>`, `<add_customer/>`, `<add_grilles/>`, `<add_order/>` |
//! | `error`          | `<error>why</error>`                                                   |
//!
//! Lists are written in the documented, wrapped form; the older unwrapped form of the
//! vendor's XSD 9 (`<orders_list><id/><current_state/></orders_list>` repeated) is read too.

use tradewire_sdk::core::{
    Diagnostics, OperationKind, OrderRef, ProductRef, ServiceReply, ServiceResponse,
};
use tradewire_sdk::xml::Element;

use crate::common::{At, Out, text};
use crate::{Settings, customers, order};

/// The resource name of an operation, as `resource` and as the answer's element.
pub(crate) fn resource_name(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::ListProducts => "products_list",
        OperationKind::ListOptions => "options_list",
        OperationKind::UpdateProduct => "update_product",
        OperationKind::AddProduct => "add_product",
        OperationKind::UpdateOption => "update_option",
        OperationKind::ListOrders => "orders_list",
        OperationKind::GetOrder => "orders",
        OperationKind::SetOrderExported => "set_order_exported",
        OperationKind::AddTracking => "add_tracking",
        OperationKind::ListCustomers => "customers_list",
        OperationKind::UpsertCustomers => "add_customer",
        OperationKind::UpsertPriceRules => "add_grilles",
        OperationKind::AddSalesDocument => "add_order",
    }
}

/// The operations whose answer is an empty element named after the resource.
const PLAIN_ANSWERS: [OperationKind; 6] = [
    OperationKind::UpdateProduct,
    OperationKind::AddProduct,
    OperationKind::UpdateOption,
    OperationKind::UpsertCustomers,
    OperationKind::UpsertPriceRules,
    OperationKind::AddSalesDocument,
];

pub(crate) fn encode(
    response: &ServiceResponse,
    s: &Settings,
) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
    let mut out = Out::document();
    let mut warnings = Diagnostics::new();
    out.start("connecteur", "");
    match &response.reply {
        ServiceReply::ProductRefs { products } => refs(
            &mut out,
            "products_list",
            "product",
            products,
            "/reply/products",
        ),
        ServiceReply::OptionRefs { options } => refs(
            &mut out,
            "options_list",
            "option",
            options,
            "/reply/options",
        ),
        ServiceReply::OrderRefs { orders } => {
            out.start("orders_list", "/reply/orders");
            for (i, entry) in orders.iter().enumerate() {
                let at = format!("/reply/orders/{i}");
                out.start("order", &at);
                out.leaf("id", &entry.id, &format!("{at}/id"));
                out.leaf(
                    "current_state",
                    entry.state.as_deref().unwrap_or(""),
                    &format!("{at}/state"),
                );
                out.end();
            }
            out.end();
        }
        ServiceReply::Order { order } => {
            order::encode(&mut out, order, "/reply/order", s, None, &mut warnings)
        }
        ServiceReply::OrderExported {
            order_id,
            final_status,
        } => {
            out.start("set_order_exported", "/reply");
            out.leaf("id", order_id, "/reply/order_id");
            out.leaf(
                "statut_final",
                final_status.as_deref().unwrap_or(""),
                "/reply/final_status",
            );
            out.end();
        }
        ServiceReply::TrackingAdded {
            order_id,
            tracking_number,
        } => {
            out.start("add_tracking", "/reply");
            out.leaf("id", order_id, "/reply/order_id");
            out.leaf("shipping_number", tracking_number, "/reply/tracking_number");
            out.end();
        }
        ServiceReply::Customers { customers } => {
            customers::encode_answer(
                &mut out,
                customers,
                "/reply/customers",
                &s.countries,
                &mut warnings,
            );
        }
        ServiceReply::Done { operation } => {
            if PLAIN_ANSWERS.contains(operation) {
                out.leaf(resource_name(*operation), "", "/reply/operation");
            } else {
                out.d.error(
                    "/reply/operation",
                    "econnecteur.no_plain_answer",
                    format!(
                        "`{}` answers with data, not with a plain acknowledgement",
                        resource_name(*operation)
                    ),
                );
            }
        }
        // The envelope must always go out, whatever the message quotes.
        ServiceReply::Error { message } => out.leaf("error", &xml_text(message), "/reply/message"),
    }
    out.end();
    out.finish(warnings)
}

/// `text` with the characters XML 1.0 cannot hold replaced by U+FFFD.
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn refs(out: &mut Out, list: &str, entry: &str, refs: &[ProductRef], at: &str) {
    out.start(list, at);
    for (i, r) in refs.iter().enumerate() {
        let here = format!("{at}/{i}");
        out.start(entry, &here);
        out.leaf("id", &r.id, &format!("{here}/id"));
        out.leaf("reference", &r.sku, &format!("{here}/sku"));
        out.end();
    }
    out.end();
}

pub(crate) fn decode(
    root: &Element<'_>,
    s: &Settings,
    d: &mut Diagnostics,
) -> Option<ServiceResponse> {
    if root.name != "connecteur" {
        d.error(
            format!("/{}", root.name),
            "econnecteur.bad_root",
            format!("an answer is a <connecteur> element, not <{}>", root.name),
        );
        return None;
    }
    // An error says it all, wherever it is.
    if let Some(error) = root.child("error") {
        let message = text(error).unwrap_or_else(|| "(the service gave no reason)".to_owned());
        return Some(ServiceResponse::error(message));
    }
    let Some(first) = root.children.first() else {
        d.error(
            "/connecteur",
            "econnecteur.empty_answer",
            "the answer is an empty <connecteur>",
        );
        return None;
    };
    let path = At::new("/connecteur", &first.name).to_string();
    let same: Vec<&Element<'_>> = root.children_named(&first.name).collect();
    if same.len() != root.children.len() {
        d.warning(
            "/connecteur",
            "econnecteur.ignored",
            format!("only the <{}> elements of the answer are read", first.name),
        );
    }
    let reply = match &*first.name {
        "products_list" => ServiceReply::ProductRefs {
            products: decode_refs(&same, "product", &path, d),
        },
        "options_list" => ServiceReply::OptionRefs {
            options: decode_refs(&same, "option", &path, d),
        },
        "orders_list" => ServiceReply::OrderRefs {
            orders: decode_order_refs(&same, &path, d),
        },
        "order" => {
            let decoded = order::decode(first, &path, s, d);
            ServiceReply::Order { order: decoded }
        }
        "set_order_exported" => ServiceReply::OrderExported {
            order_id: required(first, "id", &path, d),
            final_status: first.child("statut_final").and_then(text),
        },
        "add_tracking" => ServiceReply::TrackingAdded {
            order_id: required(first, "id", &path, d),
            tracking_number: required(first, "shipping_number", &path, d),
        },
        "customers" => ServiceReply::Customers {
            customers: customers::decode_document(root, &s.countries, d)?,
        },
        name => match PLAIN_ANSWERS
            .iter()
            .find(|kind| resource_name(**kind) == name)
        {
            Some(kind) => ServiceReply::Done { operation: *kind },
            None => {
                d.error(
                    path,
                    "econnecteur.unknown_answer",
                    format!("<{name}> is not an answer of the universal webservice"),
                );
                return None;
            }
        },
    };
    Some(ServiceResponse::new(reply))
}

fn required(element: &Element<'_>, name: &str, path: &str, d: &mut Diagnostics) -> String {
    element.child(name).and_then(text).unwrap_or_else(|| {
        d.error(
            At::new(path, name),
            "econnecteur.value_missing",
            format!("<{name}> is required"),
        );
        String::new()
    })
}

/// Entries of `products_list`/`options_list`, wrapped (`<product><id/>…`) or not.
fn decode_refs(
    lists: &[&Element<'_>],
    entry: &str,
    path: &str,
    d: &mut Diagnostics,
) -> Vec<ProductRef> {
    let mut refs = Vec::new();
    for list in lists {
        let unwrapped = list.child("id").is_some();
        let entries: Vec<&Element<'_>> = if unwrapped {
            vec![list]
        } else {
            list.children.iter().collect()
        };
        for (i, element) in entries.into_iter().enumerate() {
            let here = format!("{path}/{entry}[{}]", i + 1);
            if !unwrapped && element.name != entry {
                d.warning(here, "econnecteur.ignored", format!("expected <{entry}>"));
                continue;
            }
            refs.push(ProductRef {
                id: required(element, "id", &here, d),
                sku: element
                    .child("reference")
                    .and_then(text)
                    .unwrap_or_default(),
            });
        }
    }
    refs
}

fn decode_order_refs(lists: &[&Element<'_>], path: &str, d: &mut Diagnostics) -> Vec<OrderRef> {
    let mut refs = Vec::new();
    for list in lists {
        let unwrapped = list.child("id").is_some();
        let entries: Vec<&Element<'_>> = if unwrapped {
            vec![list]
        } else {
            list.children.iter().collect()
        };
        for (i, element) in entries.into_iter().enumerate() {
            let here = format!("{path}/order[{}]", i + 1);
            if !unwrapped && element.name != "order" {
                d.warning(here, "econnecteur.ignored", "expected <order>");
                continue;
            }
            refs.push(OrderRef {
                id: required(element, "id", &here, d),
                state: element.child("current_state").and_then(text),
            });
        }
    }
    refs
}
