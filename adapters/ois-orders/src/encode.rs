//! Canonical [`Order`] → OIS order JSON.
//!
//! Amounts: every line amount is VAT included and for the whole line. A line's `Price` is
//! its exact VAT-included amount after its discounts (`quantity × unit price ÷ basis`, net
//! prices raised by the line's VAT rate, less each discount), rounded once, half away from
//! zero, to the currency's minor unit ([`Currency::round`]). Each discount is rounded the
//! same way, and `OriginalPrice` is `Price` plus the rounded discounts. So the price rule
//! holds exactly, and each line's `Value` (= `Price`) is within half a minor unit of the
//! exact amount whatever the quantity: rounding the unit price first and multiplying
//! would let the error grow with the quantity.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use tradewire_sdk::core::{
    Address, Currency, Decimal, DeliveryMethod, DerivedVatRate, LineKind, Order, OrderLine, Party,
};
use tradewire_sdk::{Accepted, Diagnostic, Diagnostics, Outcome};

use crate::Settings;
use crate::address::split_street;
use crate::ois::{
    Amount, Coded, Id, MAX_MAGNITUDE, OisAddress, OisCouponPayment, OisCustomer, OisDeliveryMethod,
    OisDiscount, OisLineType, OisOrder, OisOrderLine, beyond_max_magnitude,
};
use crate::rules::{self, Rules};

/// Encodes `order`, or refuses it with diagnostics whose paths point into the canonical
/// document and whose messages name the OIS field.
pub fn encode(settings: &Settings, order: &Order) -> Outcome<Vec<u8>> {
    let mut d = check_magnitudes(order);
    if d.has_errors() {
        return Err(d);
    }
    d.extend(order.validate());
    if d.has_errors() {
        return Err(d);
    }
    let mut encoder = Encoder {
        settings,
        order,
        currency: order.currency,
        d,
        origins: Origins::default(),
    };
    let ois = encoder.order();
    let Encoder { mut d, origins, .. } = encoder;
    if d.has_errors() {
        return Err(d);
    }
    let mut found = Diagnostics::new();
    let rules = Rules {
        regular: settings.regular_kinds.contains(&order.kind),
        minor_unit: order.currency.minor_unit(),
        profile_name: &settings.profile_name,
        limits: &settings.limits,
    };
    rules::check(&ois, &rules, &mut found);
    if !found.is_empty() {
        let origins = origins.resolve();
        d.extend(
            found
                .into_iter()
                .map(|diagnostic| origins.translate(diagnostic)),
        );
    }
    if d.has_errors() {
        return Err(d);
    }
    // Room for what an order of this many lines usually takes, so the output is not
    // copied as it grows.
    let mut bytes = Vec::with_capacity(
        OUTPUT_BASE_BYTES.saturating_add(ois.order_lines.len().saturating_mul(OUTPUT_LINE_BYTES)),
    );
    match serde_json::to_writer_pretty(&mut bytes, &ois) {
        Ok(()) => {
            bytes.push(b'\n');
            Ok(Accepted {
                value: bytes,
                warnings: d,
            })
        }
        Err(e) => {
            Err(Diagnostic::error("", "ois.internal", format!("cannot write the JSON: {e}")).into())
        }
    }
}

/// About what the order's own fields take in the output, and each line (pretty-printed,
/// with a discount or two): the output's first capacity.
const OUTPUT_BASE_BYTES: usize = 2048;
const OUTPUT_LINE_BYTES: usize = 320;

/// Refuses amounts beyond [`MAX_MAGNITUDE`] and VAT rates outside 0–100 before any
/// arithmetic (ours or `Order::validate`'s), so that no product can overflow.
fn check_magnitudes(order: &Order) -> Diagnostics {
    fn bounded(d: &mut Diagnostics, path: impl FnOnce() -> String, value: Option<Decimal>) {
        if let Some(value) = value
            && beyond_max_magnitude(value)
        {
            d.error(
                path(),
                "ois.amount_too_large",
                format!("{value} is beyond {MAX_MAGNITUDE}, more than any order holds"),
            );
        }
    }
    let mut d = Diagnostics::new();
    for (i, line) in order.lines.iter().enumerate() {
        // Paths are formatted only for a diagnostic.
        let at = |field: &str| format!("/lines/{i}/{field}");
        bounded(&mut d, || at("quantity"), Some(line.quantity));
        bounded(
            &mut d,
            || at("price_basis_quantity"),
            line.price_basis_quantity,
        );
        bounded(&mut d, || at("eco_tax"), line.eco_tax);
        if let Some(rate) = line.vat_rate
            && !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&rate)
        {
            d.error(
                at("vat_rate"),
                "ois.vat_out_of_range",
                format!("VAT rate {rate} is not a percentage between 0 and 100"),
            );
        }
        if let Some(price) = line.unit_price {
            bounded(&mut d, || at("unit_price/net"), price.net);
            bounded(&mut d, || at("unit_price/gross"), price.gross);
        }
        for (j, discount) in line.discounts.iter().enumerate() {
            let amount = discount.amount;
            bounded(
                &mut d,
                || at(&format!("discounts/{j}/amount/net")),
                amount.net,
            );
            bounded(
                &mut d,
                || at(&format!("discounts/{j}/amount/gross")),
                amount.gross,
            );
        }
    }
    if let Some(totals) = &order.totals {
        bounded(&mut d, || "/totals/gross".into(), Some(totals.gross));
        bounded(&mut d, || "/totals/net".into(), totals.net);
        bounded(&mut d, || "/totals/tax".into(), totals.tax);
    }
    if let Some(payment) = &order.payment {
        for (i, coupon) in payment.coupons.iter().enumerate() {
            bounded(
                &mut d,
                || format!("/payment/coupons/{i}/amount"),
                Some(coupon.amount),
            );
        }
    }
    d
}

/// Where the OIS fields came from in the canonical order, recorded as the encoder builds
/// the OIS order: cheap to record, and turned into paths ([`Origins::resolve`]) only when a
/// check reports a problem, to report it at the canonical field that causes it.
#[derive(Debug, Default)]
struct Origins(Vec<Origin>);

/// One step of [`Origins`]: what it maps, as [`Origins::resolve`] spells out.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// One OIS path from one canonical pointer.
    Field(&'static str, &'static str),
    /// `Customer` and its fields from `/customer`.
    Customer,
    /// An address (`DeliveryAddress`) and its fields from `pointer` (`/delivery_address`).
    Address {
        name: &'static str,
        pointer: &'static str,
    },
    /// The address's `LastName` from its `contact`.
    Contact {
        name: &'static str,
        pointer: &'static str,
    },
    /// The address's `FirstName` and `LastName` from the customer's.
    CustomerNames { name: &'static str },
    /// The address's `HouseNo` and `HouseNoExt`, split from its `street`.
    SplitStreet {
        name: &'static str,
        pointer: &'static str,
    },
    /// OIS line `i` and its fields from canonical line `j`.
    Line { i: usize, j: usize },
    /// Discount `k` of OIS line `i` from discount `k` of canonical line `j`.
    LineDiscount { i: usize, k: usize, j: usize },
    /// Discount `k` of OIS line `i` spread from the order-level discount line `j`.
    SpreadDiscount { i: usize, k: usize, j: usize },
    /// Coupon payment `at` from the order's coupon `i`.
    Coupon { at: usize, i: usize },
    /// Coupon payment `at` added for the voucher on OIS line `line`.
    VoucherPayment { at: usize, line: usize },
}

impl Origins {
    fn record(&mut self, origin: Origin) {
        self.0.push(origin);
    }

    /// The OIS paths and their pointers, each step applied in the order recorded (a
    /// later step overrides an earlier one for the same path).
    fn resolve(&self) -> OriginMap {
        let mut map = OriginMap::default();
        for origin in &self.0 {
            match *origin {
                Origin::Field(ois_path, pointer) => map.put(ois_path, pointer),
                Origin::Customer => {
                    for (field, pointer) in [
                        ("CustomerId", "id"),
                        ("CustomerNumber", "erp_code"),
                        ("CompanyName", "company"),
                        ("FirstName", "first_name"),
                        ("LastName", "last_name"),
                        ("Email", "email"),
                        ("PhoneNumber", "phone"),
                    ] {
                        map.put(format!("Customer.{field}"), format!("/customer/{pointer}"));
                    }
                    map.put("Customer", "/customer");
                }
                Origin::Address { name, pointer } => {
                    map.put(name, pointer);
                    for (field, canonical) in [
                        ("CompanyName", "company"),
                        ("FirstName", "first_name"),
                        ("LastName", "last_name"),
                        ("Street", "street"),
                        ("HouseNo", "house_number"),
                        ("HouseNoExt", "house_number_ext"),
                        ("ZipCode", "postal_code"),
                        ("City", "city"),
                        ("CountryCode", "country"),
                        ("PhoneNumber", "phone"),
                        ("Email", "email"),
                    ] {
                        map.put(format!("{name}.{field}"), format!("{pointer}/{canonical}"));
                    }
                }
                Origin::Contact { name, pointer } => {
                    map.put(format!("{name}.LastName"), format!("{pointer}/contact"));
                }
                Origin::CustomerNames { name } => {
                    map.put(format!("{name}.FirstName"), "/customer/first_name");
                    map.put(format!("{name}.LastName"), "/customer/last_name");
                }
                Origin::SplitStreet { name, pointer } => {
                    let street_pointer = format!("{pointer}/street");
                    map.put(format!("{name}.HouseNo"), street_pointer.clone());
                    map.put(format!("{name}.HouseNoExt"), street_pointer);
                }
                Origin::Line { i, j } => {
                    let pointer = format!("/lines/{j}");
                    let at = format!("OrderLines[{i}]");
                    map.put(&at, &pointer);
                    for (field, canonical) in [
                        ("LineType", "kind"),
                        ("ArticleNumber", "sku"),
                        ("Ean", "gtin"),
                        ("Description", "description"),
                        ("Quantity", "quantity"),
                        ("OriginalPrice", "unit_price"),
                        ("VATPercentage", "vat_rate"),
                    ] {
                        map.put(format!("{at}.{field}"), format!("{pointer}/{canonical}"));
                    }
                }
                Origin::LineDiscount { i, k, j } => map.put(
                    format!("OrderLines[{i}].OrderDiscounts[{k}]"),
                    format!("/lines/{j}/discounts/{k}"),
                ),
                Origin::SpreadDiscount { i, k, j } => map.put(
                    format!("OrderLines[{i}].OrderDiscounts[{k}]"),
                    format!("/lines/{j}"),
                ),
                Origin::Coupon { at, i } => {
                    map.put(
                        format!("OrderCouponPayments[{at}]"),
                        format!("/payment/coupons/{i}"),
                    );
                    map.put(
                        format!("OrderCouponPayments[{at}].PaymentOptionId"),
                        format!("/payment/coupons/{i}/payment_option_id"),
                    );
                }
                Origin::VoucherPayment { at, line } => {
                    let pointer = map.lookup(&format!("OrderLines[{line}]"));
                    map.put(format!("OrderCouponPayments[{at}]"), pointer);
                }
            }
        }
        map
    }
}

/// OIS paths and the canonical pointers they come from.
#[derive(Debug, Default)]
struct OriginMap(BTreeMap<String, String>);

impl OriginMap {
    fn put(&mut self, ois_path: impl Into<String>, pointer: impl Into<String>) {
        self.0.insert(ois_path.into(), pointer.into());
    }

    /// The canonical pointer of `ois_path`, or of its nearest recorded parent.
    fn lookup(&self, ois_path: &str) -> String {
        let mut path = ois_path;
        loop {
            if let Some(pointer) = self.0.get(path) {
                return pointer.clone();
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return String::new(),
            }
        }
    }

    fn translate(&self, mut diagnostic: Diagnostic) -> Diagnostic {
        let ois_path = std::mem::take(&mut diagnostic.path);
        diagnostic.path = self.lookup(&ois_path);
        let place = if ois_path.is_empty() {
            "the order".to_owned()
        } else {
            ois_path
        };
        diagnostic.message = format!("OIS {place}: {}", diagnostic.message);
        diagnostic
    }
}

/// What the order's stated tax says of the lines that state no VAT rate.
enum HeaderVat {
    /// Every line states its VAT.
    NotNeeded,
    /// One rate explains the tax.
    Derived(DerivedVatRate),
    /// None does; the reason is reported.
    Reported,
}

struct Encoder<'a> {
    settings: &'a Settings,
    order: &'a Order,
    currency: Currency,
    d: Diagnostics,
    origins: Origins,
}

impl Encoder<'_> {
    fn order(&mut self) -> OisOrder {
        let order = self.order;
        for (field, pointer) in [
            ("OrderNumber", "/id"),
            ("OrderReference", "/reference"),
            ("OrderDate", "/created_at"),
            ("CurrencyCode", "/currency"),
            ("Comment", "/comment"),
            ("TotalValue", "/totals/gross"),
            ("OrderLines", "/lines"),
        ] {
            self.origins.record(Origin::Field(field, pointer));
        }
        let delivery_address = order
            .delivery_address
            .as_ref()
            .map(|a| self.address(a, "DeliveryAddress", "/delivery_address"));
        let billing_address = order
            .billing_address
            .as_ref()
            .map(|a| self.address(a, "BillingAddress", "/billing_address"));
        let mut ois = OisOrder {
            order_number: order.id.clone(),
            order_reference: order.reference.clone(),
            order_date: order
                .created_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false)),
            currency_code: Some(order.currency.code().to_owned()),
            customer: order.customer.as_ref().map(|c| self.customer(c)),
            billing_address,
            delivery_address,
            order_lines: self.lines(),
            comment: order.comment.clone(),
            ..OisOrder::default()
        };
        self.delivery(&mut ois);
        self.payment(&mut ois);
        // Only a stated total: a computed one would add a total the source never gave.
        ois.total_value = self
            .order
            .totals
            .map(|totals| Amount(crate::money(self.currency, totals.gross)));
        ois
    }

    fn customer(&mut self, party: &Party) -> OisCustomer {
        self.origins.record(Origin::Customer);
        OisCustomer {
            customer_id: party.id.clone(),
            customer_number: party.erp_code.clone(),
            company_name: party.company.clone(),
            first_name: party.first_name.clone(),
            last_name: party.last_name.clone(),
            email: party.email.clone(),
            phone_number: party.phone.clone(),
        }
    }

    fn address(
        &mut self,
        address: &Address,
        name: &'static str,
        pointer: &'static str,
    ) -> OisAddress {
        self.origins.record(Origin::Address { name, pointer });
        let mut ois = OisAddress {
            company_name: address.company.clone(),
            first_name: address.first_name.clone(),
            last_name: address.last_name.clone(),
            street: address.street.clone(),
            house_no: address.house_number.clone(),
            house_no_ext: address.house_number_ext.clone(),
            zip_code: address.postal_code.clone(),
            city: address.city.clone(),
            country_code: address.country.map(|c| c.alpha2().to_owned()),
            phone_number: address.phone.clone().or_else(|| address.mobile.clone()),
            email: address.email.clone(),
        };
        self.names(address, &mut ois, name, pointer);
        if address.house_number.is_none()
            && let Some(line) = &address.street
        {
            self.split(line, &mut ois, name, pointer);
        }
        if !address.extra_lines.is_empty() {
            self.d.warning(
                format!("{pointer}/extra_lines"),
                "ois.field_dropped",
                "OIS addresses have no further address lines; these are left out",
            );
        }
        ois
    }

    /// An address without a name takes the customer's, or its unsplit `contact` as
    /// `LastName`: the ERP needs someone to deliver to.
    fn names(
        &mut self,
        address: &Address,
        ois: &mut OisAddress,
        name: &'static str,
        pointer: &'static str,
    ) {
        if address.first_name.is_some() || address.last_name.is_some() {
            return;
        }
        if let Some(contact) = &address.contact {
            ois.last_name = Some(contact.clone());
            self.origins.record(Origin::Contact { name, pointer });
            self.d.warning(
                format!("{pointer}/contact"),
                "ois.name_not_split",
                format!("{name}.LastName carries the whole contact name: it is not split into first and last name"),
            );
        } else if let Some(party) = &self.order.customer {
            ois.first_name = party.first_name.clone();
            ois.last_name = party.last_name.clone();
            self.origins.record(Origin::CustomerNames { name });
        }
    }

    fn split(
        &mut self,
        line: &str,
        ois: &mut OisAddress,
        name: &'static str,
        pointer: &'static str,
    ) {
        match split_street(line) {
            Some(split) => {
                ois.street = Some(split.street);
                ois.house_no = Some(split.house_number);
                ois.house_no_ext = split.extension;
                self.origins.record(Origin::SplitStreet { name, pointer });
            }
            None => self.d.warning(
                format!("{pointer}/street"),
                "ois.address_not_split",
                format!("no house number found in `{line}`: it is sent whole as {name}.Street, with no HouseNo"),
            ),
        }
    }

    fn delivery(&mut self, ois: &mut OisOrder) {
        let delivery = self.order.delivery.clone().unwrap_or_default();
        for (field, pointer) in [
            ("DeliveryMethod", "/delivery/method"),
            ("DeliveryAddress", "/delivery_address"),
            ("PickupBranchIdentifier", "/delivery/pickup_branch"),
            ("PickupLocationCode", "/delivery/pickup_location/code"),
            ("PickupLocationName", "/delivery/pickup_location/name"),
            ("ShippingAgentId", "/delivery/carrier_id"),
            ("ShippingAgentServiceCode", "/delivery/service_code"),
            ("ShippingTerms", "/delivery/shipping_terms"),
        ] {
            self.origins.record(Origin::Field(field, pointer));
        }
        let method = match delivery.method {
            Some(DeliveryMethod::HomeDelivery) => OisDeliveryMethod::Home,
            Some(DeliveryMethod::StorePickup) => OisDeliveryMethod::StorePickup,
            Some(DeliveryMethod::ServicePoint) => OisDeliveryMethod::ServicePoint,
            Some(other @ (DeliveryMethod::TravelHubPickup | DeliveryMethod::Electronic)) => {
                self.d.error(
                    "/delivery/method",
                    "ois.unsupported_delivery_method",
                    format!("OIS delivers to a home, a store or a service point; it has no delivery method for `{other:?}`"),
                );
                return;
            }
            // Unstated: the pickup data says which, else it ships home.
            None if delivery.pickup_branch.is_some() => OisDeliveryMethod::StorePickup,
            None if delivery.pickup_location.is_some() => OisDeliveryMethod::ServicePoint,
            None => OisDeliveryMethod::Home,
        };
        ois.delivery_method = Some(Coded::Known(method));
        match method {
            OisDeliveryMethod::Home => {}
            OisDeliveryMethod::StorePickup => {
                ois.pickup_branch_identifier = delivery.pickup_branch.clone().map(Id);
            }
            OisDeliveryMethod::ServicePoint => {
                ois.pickup_location_code =
                    delivery.pickup_location.as_ref().map(|p| p.code.clone());
                ois.pickup_location_name = delivery
                    .pickup_location
                    .as_ref()
                    .and_then(|p| p.name.clone());
            }
        }
        let method_key = match method {
            OisDeliveryMethod::Home => "home_delivery",
            OisDeliveryMethod::StorePickup => "store_pickup",
            OisDeliveryMethod::ServicePoint => "service_point",
        };
        let settings = self.settings;
        ois.shipping_agent_id = delivery
            .carrier_id
            .clone()
            .or_else(|| {
                let carrier = delivery.carrier.as_deref()?;
                settings.shipping_agents.get(carrier).cloned()
            })
            .or_else(|| settings.shipping_agents.get(method_key).cloned())
            .or_else(|| settings.default_shipping_agent_id.clone())
            .map(Id);
        // Only when specific shipping terms apply, as the spec asks.
        ois.shipping_agent_service_code = delivery.service_code.clone();
        ois.shipping_terms = delivery.shipping_terms.clone();
    }

    fn payment(&mut self, ois: &mut OisOrder) {
        let payment = self.order.payment.clone().unwrap_or_default();
        self.origins
            .record(Origin::Field("PaymentOptionId", "/payment/option_id"));
        self.origins
            .record(Origin::Field("PaymentReference", "/payment/reference"));
        let settings = self.settings;
        ois.payment_option_id = payment
            .option_id
            .clone()
            .or_else(|| {
                let method = payment.method.as_deref()?;
                settings.payment_options.get(method).cloned()
            })
            .or_else(|| settings.default_payment_option_id.clone())
            .map(Id);
        ois.payment_reference = payment.reference.clone();
        self.origins
            .record(Origin::Field("OrderCouponPayments", "/payment/coupons"));
        for (i, coupon) in payment.coupons.iter().enumerate() {
            let at = ois.order_coupon_payments.len();
            self.origins.record(Origin::Coupon { at, i });
            ois.order_coupon_payments.push(OisCouponPayment {
                coupon_code: Some(coupon.code.clone()),
                value: Some(Amount(crate::money(self.currency, coupon.amount))),
                payment_option_id: coupon
                    .payment_option_id
                    .clone()
                    .or_else(|| settings.coupon_payment_option_id.clone())
                    .map(Id),
            });
        }
        // A voucher line the order has no coupon payment for is paid with the configured
        // coupon payment option, when there is one.
        let Some(option) = &settings.coupon_payment_option_id else {
            return;
        };
        let unpaid: Vec<(usize, String, Option<Amount>)> = ois
            .order_lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.line_type == Some(Coded::Known(OisLineType::Voucher)))
            .filter_map(|(i, line)| Some((i, line.article_number.clone()?, line.value)))
            .filter(|(_, code, _)| !payment.coupons.iter().any(|c| &c.code == code))
            .collect();
        for (i, code, value) in unpaid {
            let at = ois.order_coupon_payments.len();
            self.origins.record(Origin::VoucherPayment { at, line: i });
            ois.order_coupon_payments.push(OisCouponPayment {
                coupon_code: Some(code),
                value,
                payment_option_id: Some(Id(option.clone())),
            });
        }
    }

    fn lines(&mut self) -> Vec<OisOrderLine> {
        let header_vat = self.header_vat();
        let mut lines = Vec::new();
        let mut order_discounts = Vec::new();
        for (j, line) in self.order.lines.iter().enumerate() {
            if line.kind == LineKind::Discount {
                order_discounts.push(j);
                continue;
            }
            if let Some(ois) = self.line(line, j, lines.len(), &header_vat) {
                lines.push(ois);
            }
        }
        for j in order_discounts {
            self.spread_discount(&self.order.lines[j], j, &mut lines);
        }
        lines
    }

    /// OIS line `i` from canonical line `j`.
    fn line(
        &mut self,
        line: &OrderLine,
        j: usize,
        i: usize,
        header_vat: &HeaderVat,
    ) -> Option<OisOrderLine> {
        self.origins.record(Origin::Line { i, j });
        let vat = self.vat_rate(line, j, header_vat)?;
        let (price, discounts) = self.line_amounts(line, vat, j)?;
        let mut ois_discounts = Vec::new();
        for (k, (discount, amount)) in line.discounts.iter().zip(&discounts).enumerate() {
            self.origins.record(Origin::LineDiscount { i, k, j });
            ois_discounts.push(OisDiscount {
                value: Some(Amount(*amount)),
                code: discount.code.clone(),
                description: discount.description.clone(),
            });
        }
        let description = line.description.clone().or_else(|| match line.kind {
            LineKind::Shipping => self.order.delivery.as_ref().and_then(|d| d.carrier.clone()),
            _ => None,
        });
        Some(OisOrderLine {
            line_type: OisLineType::of(line.kind).map(Coded::Known),
            article_number: line.sku.clone(),
            ean: line.gtin.clone(),
            description,
            quantity: Some(Amount(line.quantity.normalize())),
            original_price: Some(Amount(price + discounts.iter().sum::<Decimal>())),
            price: Some(Amount(price)),
            order_discounts: ois_discounts,
            value: Some(Amount(price)),
            vat_percentage: Some(Amount(vat.normalize())),
        })
    }

    /// The rate for the lines that state no VAT, derived once from the order's stated tax
    /// (see [`Order::derive_vat_rate`]), with a warning; or why it cannot be, reported once
    /// for all those lines. Only when a line that OIS writes needs it: an order-level
    /// discount is spread over the articles, at their rates.
    fn header_vat(&mut self) -> HeaderVat {
        let needed = self
            .order
            .lines
            .iter()
            .any(|line| line.kind != LineKind::Discount && own_vat_rate(line).is_none());
        if !needed {
            return HeaderVat::NotNeeded;
        }
        match self.order.derive_vat_rate() {
            Ok(None) => HeaderVat::NotNeeded,
            Ok(Some(derived)) => {
                let mut warning = derived.warning();
                warning.code = "ois.vat_rate_derived".into();
                warning.message = format!("OIS VATPercentage: {}", warning.message);
                self.d.push(warning);
                HeaderVat::Derived(derived)
            }
            Err(mut error) => {
                error.code = "ois.vat_rate_missing".into();
                error.message = format!(
                    "OIS needs every line's VATPercentage: {} (an OCI cart carries the rate in \
                     the field that oci-punchout's config `mapping.vat_rate_field` names)",
                    error.message
                );
                self.d.push(error);
                HeaderVat::Reported
            }
        }
    }

    /// The line's own VAT rate (see [`own_vat_rate`]), or the one derived from the order's
    /// tax.
    fn vat_rate(&mut self, line: &OrderLine, j: usize, header_vat: &HeaderVat) -> Option<Decimal> {
        match (own_vat_rate(line), header_vat) {
            (Some(rate), _) => Some(rate),
            (None, HeaderVat::Derived(derived)) if derived.covers(j) => Some(derived.rate),
            (None, HeaderVat::Reported) => None,
            (None, _) => {
                self.d.error(
                    format!("/lines/{j}/vat_rate"),
                    "ois.vat_rate_missing",
                    "OIS needs every line's VATPercentage; give the line a vat_rate",
                );
                None
            }
        }
    }

    /// The line's rounded VAT-included amount after its discounts, and each rounded
    /// discount.
    fn line_amounts(
        &mut self,
        line: &OrderLine,
        vat: Decimal,
        j: usize,
    ) -> Option<(Decimal, Vec<Decimal>)> {
        let Some(exact) = line_gross(line, vat) else {
            self.d.error(
                format!("/lines/{j}/unit_price"),
                "ois.price_missing",
                "OIS needs every line's price: give the line a unit_price",
            );
            return None;
        };
        let mut discounts = Vec::new();
        let mut after_discounts = exact;
        for (k, discount) in line.discounts.iter().enumerate() {
            let Some(amount) = discount.amount.gross_with(Some(vat)) else {
                self.d.error(
                    format!("/lines/{j}/discounts/{k}/amount"),
                    "ois.price_missing",
                    "the discount has no amount",
                );
                return None;
            };
            after_discounts -= amount;
            discounts.push(crate::money(self.currency, amount));
        }
        Some((crate::money(self.currency, after_discounts), discounts))
    }

    /// Spreads an order-level discount line over the article lines it applies to (those at
    /// its VAT rate, or all when it has none), in proportion to their `Price`, to the
    /// minor unit: OIS has discounts per line only.
    fn spread_discount(&mut self, line: &OrderLine, j: usize, lines: &mut [OisOrderLine]) {
        let pointer = format!("/lines/{j}");
        let has_gross = line.unit_price.is_some_and(|p| p.gross.is_some());
        let exact = match line.vat_rate {
            Some(vat) => line_gross(line, vat),
            // Without a rate only a VAT-included amount says what comes off.
            None if has_gross => line_gross(line, Decimal::ZERO),
            None => None,
        };
        let Some(exact) = exact else {
            self.d.error(
                format!("{pointer}/unit_price"),
                "ois.price_missing",
                "an order-level discount needs a VAT-included amount, or a net one and a vat_rate",
            );
            return;
        };
        let amount = crate::money(self.currency, exact);
        let eligible: Vec<(usize, Decimal)> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.line_type == Some(Coded::Known(OisLineType::Article)))
            .filter(|(_, l)| match (line.vat_rate, l.vat_percentage) {
                (Some(rate), Some(Amount(line_rate))) => rate == line_rate,
                _ => true,
            })
            .filter_map(|(i, l)| Some((i, l.price?.0)))
            .collect();
        let weights: Vec<Decimal> = eligible.iter().map(|(_, price)| *price).collect();
        let Some(shares) = allocate(amount, &weights, self.currency.minor_unit()) else {
            self.d.error(
                pointer,
                "ois.discount_not_allocatable",
                format!(
                    "OIS has discounts per line only, and this discount of {amount} cannot be spread over the article lines{}: they add up to {}",
                    line.vat_rate.map(|r| format!(" at {r} % VAT")).unwrap_or_default(),
                    weights.iter().sum::<Decimal>()
                ),
            );
            return;
        };
        for ((i, _), share) in eligible.into_iter().zip(shares) {
            if share.is_zero() {
                continue;
            }
            let target = &mut lines[i];
            let k = target.order_discounts.len();
            self.origins.record(Origin::SpreadDiscount { i, k, j });
            target.order_discounts.push(OisDiscount {
                value: Some(Amount(share)),
                code: line.sku.clone(),
                description: line.description.clone(),
            });
            let reduced = target.price.map(|Amount(p)| Amount(p - share));
            target.price = reduced;
            target.value = reduced;
        }
    }
}

/// The line's VAT rate, or the one its net and gross unit prices imply.
fn own_vat_rate(line: &OrderLine) -> Option<Decimal> {
    if let Some(rate) = line.vat_rate {
        return Some(rate);
    }
    let price = line.unit_price?;
    let ratio = price.gross?.checked_div(price.net?)?;
    Some(
        ratio
            .checked_sub(Decimal::ONE)?
            .checked_mul(Decimal::ONE_HUNDRED)?
            .round_dp(2),
    )
}

/// The exact VAT-included amount of `quantity` units at the line's unit price, before its
/// discounts.
fn line_gross(line: &OrderLine, vat: Decimal) -> Option<Decimal> {
    let unit = line.unit_price?.gross_with(Some(vat))?;
    let gross = line.quantity * unit;
    match line.price_basis_quantity {
        Some(basis) => gross.checked_div(basis),
        None => Some(divided_by_one(gross)),
    }
}

/// `amount ÷ 1` as `Decimal` division gives it, without dividing: `amount` itself, but a
/// zero comes out a plain `0`.
fn divided_by_one(amount: Decimal) -> Decimal {
    if amount.is_zero() {
        Decimal::ZERO
    } else {
        amount
    }
}

/// Splits `amount` over `weights` in proportion, in whole minor units, the shares adding
/// up to `amount` exactly (largest remainders get the leftover units). `None` when there
/// is nothing to spread over or the amount exceeds the weights' sum.
pub(crate) fn allocate(
    amount: Decimal,
    weights: &[Decimal],
    minor_unit: Decimal,
) -> Option<Vec<Decimal>> {
    let total: Decimal = weights.iter().sum();
    if total <= Decimal::ZERO || amount > total || amount < Decimal::ZERO {
        return None;
    }
    let exact: Vec<Decimal> = weights
        .iter()
        .map(|w| (amount * *w).checked_div(total))
        .collect::<Option<_>>()?;
    let mut shares: Vec<Decimal> = exact
        .iter()
        .map(|e| (*e / minor_unit).floor() * minor_unit)
        .collect();
    let mut left = amount - shares.iter().sum::<Decimal>();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        (exact[b] - shares[b])
            .cmp(&(exact[a] - shares[a]))
            .then(a.cmp(&b))
    });
    for i in by_remainder {
        if left < minor_unit {
            break;
        }
        shares[i] += minor_unit;
        left -= minor_unit;
    }
    Some(shares)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn allocation_is_proportional_and_exact() {
        let cent = d("0.01");
        let shares = allocate(d("10.00"), &[d("30.00"), d("30.00"), d("30.00")], cent).unwrap();
        assert_eq!(shares, [d("3.34"), d("3.33"), d("3.33")]);
        let shares = allocate(d("1.00"), &[d("99.00"), d("1.00")], cent).unwrap();
        assert_eq!(shares, [d("0.99"), d("0.01")]);
        assert_eq!(allocate(d("5"), &[d("4")], cent), None);
        assert_eq!(allocate(d("1"), &[], cent), None);
    }

    #[test]
    fn dividing_by_one_is_left_out_exactly() {
        for text in [
            "0",
            "0.00",
            "-0.00",
            "91.08",
            "-3.3300",
            "1000000000000",
            "0.0001",
        ] {
            let amount = d(text);
            let divided = amount.checked_div(Decimal::ONE).unwrap();
            let shortcut = divided_by_one(amount);
            assert_eq!(
                (
                    shortcut.mantissa(),
                    shortcut.scale(),
                    shortcut.is_sign_negative()
                ),
                (
                    divided.mantissa(),
                    divided.scale(),
                    divided.is_sign_negative()
                ),
                "{text}"
            );
        }
        let negative_zero = Decimal::from_parts(0, 0, 0, true, 2);
        assert_eq!(divided_by_one(negative_zero).to_string(), "0");
    }

    #[test]
    fn origins_fall_back_to_the_nearest_parent() {
        let mut origins = OriginMap::default();
        origins.put("OrderLines[2]", "/lines/3");
        origins.put("DeliveryAddress", "/delivery_address");
        assert_eq!(
            origins.lookup("OrderLines[2].OrderDiscounts[0].Value"),
            "/lines/3"
        );
        assert_eq!(
            origins.lookup("DeliveryAddress.Street"),
            "/delivery_address"
        );
        assert_eq!(origins.lookup("Unknown"), "");
    }
}
