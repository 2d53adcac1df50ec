//! Orders, carts, quotes and invoices: one shape for every commercial document with lines.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Address, Currency, Diagnostics, Party};

/// What kind of commercial document this is. A punchout cart is a `cart`; e-connecteur's
/// sales documents are `quote` (20), `order` (21) and `invoice` (23).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Cart,
    Quote,
    #[default]
    Order,
    Invoice,
    DeliveryNote,
    CreditNote,
}

/// Where an order stands. Protocols with their own codes map them at their edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Entered, not yet confirmed (e-connecteur `statut` 0).
    Draft,
    /// Placed, awaiting payment or approval.
    Pending,
    /// Confirmed (e-connecteur `statut` 1).
    Confirmed,
    /// Being prepared (e-connecteur `statut` 2).
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

/// What an order line stands for.
///
/// Amounts on every kind are positive; `voucher` and `discount` lines reduce the order
/// total (see [`LineKind::sign`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    #[default]
    Article,
    Shipping,
    PaymentFee,
    Voucher,
    Discount,
}

impl LineKind {
    /// +1 for lines that add to the total, -1 for lines that reduce it.
    pub fn sign(self) -> Decimal {
        match self {
            Self::Voucher | Self::Discount => Decimal::NEGATIVE_ONE,
            Self::Article | Self::Shipping | Self::PaymentFee => Decimal::ONE,
        }
    }
}

/// An amount known without VAT (`net`), with VAT (`gross`), or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Price {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross: Option<Decimal>,
}

impl Price {
    pub fn net(net: Decimal) -> Self {
        Self {
            net: Some(net),
            gross: None,
        }
    }

    pub fn gross(gross: Decimal) -> Self {
        Self {
            net: None,
            gross: Some(gross),
        }
    }

    /// The VAT-inclusive amount: `gross` when known, else `net` plus `vat_rate` percent.
    /// `None` also when the computation overflows (absurd amounts or rates).
    pub fn gross_with(&self, vat_rate: Option<Decimal>) -> Option<Decimal> {
        self.gross
            .or_else(|| self.net?.checked_mul(vat_factor(vat_rate?)?))
    }

    /// The VAT-exclusive amount: `net` when known, else `gross` less `vat_rate` percent.
    pub fn net_with(&self, vat_rate: Option<Decimal>) -> Option<Decimal> {
        self.net
            .or_else(|| self.gross?.checked_div(vat_factor(vat_rate?)?))
    }
}

/// `1 + rate / 100`, or `None` when that overflows.
fn vat_factor(vat_rate: Decimal) -> Option<Decimal> {
    Decimal::ONE.checked_add(vat_rate.checked_div(Decimal::ONE_HUNDRED)?)
}

/// A reduction on one line, for the whole line (not per unit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Discount {
    pub amount: Price,
    /// The percentage the amount was computed from, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One option value of a variant (`Couleur` = `Bleu`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct OptionValue {
    pub name: String,
    pub value: String,
}

/// A code in a classification scheme (`UNSPSC` `44121600`, an SAP material group).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Classification {
    /// The scheme (`UNSPSC`, `eCl@ss`, `MATGROUP`).
    pub domain: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version of the scheme, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A reference to a line of another document (a contract, a quote).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

/// The manufacturer of an article and its part number there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Manufacturer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_number: Option<String>,
}

/// A file that comes with a line (a drawing, a data sheet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attachment {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// One line of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLine {
    #[serde(default)]
    pub kind: LineKind,
    /// The line's number in its document, when the source numbers lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u32>,
    /// The number of the line this one belongs to (an item of a set, OCI 5 `PARENT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_line: Option<u32>,
    /// The seller's article number (SKU, `reference`, `VENDORMAT`, `SupplierPartID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The seller's internal product id, when it differs from the SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// The buyer's own material number (OCI `MATNR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_part_id: Option<String>,
    /// GTIN / EAN-13 / UPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<Manufacturer>,
    /// Short description or product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Long description, free text with line breaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_text: Option<String>,
    pub quantity: Decimal,
    /// Unit of measure code as the source gives it (UN/ECE Rec 20 such as `C62`, or ISO
    /// and SAP codes); adapters map between code lists at their edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Price of `price_basis_quantity` units (of one unit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Price>,
    /// How many units `unit_price` is for (OCI `PRICEUNIT`); 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_basis_quantity: Option<Decimal>,
    /// VAT rate in percent (`20` for 20 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_rate: Option<Decimal>,
    /// Reductions on this line, each for the whole line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<Discount>,
    /// Eco-tax per unit, without VAT. It is part of `unit_price`, not added to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eco_tax: Option<Decimal>,
    /// The option values that select a variant (`Couleur` = `Bleu`, `Taille` = `L`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classifications: Vec<Classification>,
    /// Delivery lead time in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_time_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_delivery_date: Option<NaiveDate>,
    /// The buyer's identifier of the seller (OCI `VENDOR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<DocumentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<DocumentRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Fields the source sent that the model has no place for, kept by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

impl OrderLine {
    /// The line's VAT-inclusive amount with its sign: quantity × unit price ÷ basis, less
    /// discounts, negative for vouchers and discounts. `None` when the line lacks what it
    /// takes to know.
    pub fn signed_gross_total(&self) -> Option<Decimal> {
        self.signed_total(|price| price.gross_with(self.vat_rate))
    }

    /// The line's amount without VAT, with its sign, as [`Self::signed_gross_total`].
    pub fn signed_net_total(&self) -> Option<Decimal> {
        self.signed_total(|price| price.net_with(self.vat_rate))
    }

    /// The VAT in the line's amount, with its sign and not rounded: the difference of its
    /// gross and net totals. `None` when the line has no VAT rate and not both prices.
    pub fn signed_vat_total(&self) -> Option<Decimal> {
        self.signed_gross_total()?
            .checked_sub(self.signed_net_total()?)
    }

    /// Quantity × unit price ÷ basis less discounts, each price read by `amount`.
    fn signed_total(&self, amount: impl Fn(&Price) -> Option<Decimal>) -> Option<Decimal> {
        let unit = amount(self.unit_price.as_ref()?)?;
        let basis = self.price_basis_quantity.unwrap_or(Decimal::ONE);
        let mut total = self.quantity.checked_mul(unit)?.checked_div(basis)?;
        for discount in &self.discounts {
            total = total.checked_sub(amount(&discount.amount)?)?;
        }
        total.checked_mul(self.kind.sign())
    }
}

/// How goods reach the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    /// A carrier brings the goods to the delivery address.
    HomeDelivery,
    /// The buyer collects from one of the seller's stores or branches.
    StorePickup,
    /// The buyer collects from a third-party pickup point network.
    ServicePoint,
    /// The buyer collects at an airport, station or travel agency.
    TravelHubPickup,
    /// Nothing physical ships: an electronic ticket or a download.
    Electronic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliverySpeed {
    Express,
    Standard,
}

/// A pickup point of a third-party network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PickupLocation {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How and by whom an order is delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<DeliveryMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<DeliverySpeed>,
    /// The carrier's name as the shop shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// The carrier's identifier in the receiving system (OIS `ShippingAgentId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_id: Option<String>,
    /// The carrier service (OIS `ShippingAgentServiceCode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipping_terms: Vec<String>,
    /// The store or branch collecting from (OIS `PickupBranchIdentifier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_location: Option<PickupLocation>,
    /// The warehouse or depot the goods leave from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_delay_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_numbers: Vec<String>,
}

/// A part of the order paid with a coupon or gift card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CouponPayment {
    pub code: String,
    /// Amount paid with the coupon, VAT included.
    pub amount: Decimal,
    /// The payment option that books it in the receiving system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_option_id: Option<String>,
}

/// How an order is paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Payment {
    /// The method as the source names it (`etep_cb`, `paypal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The payment option's identifier in the receiving system (OIS `PaymentOptionId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The payment service provider's reference for the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupons: Vec<CouponPayment>,
    /// Payment terms (`30 days net`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

/// The document's totals as the source states them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// What the buyer pays, VAT included.
    pub gross: Decimal,
    /// The same without VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<Decimal>,
    /// The VAT in `gross`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Decimal>,
}

/// An order, cart, quote or invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    #[serde(default)]
    pub kind: OrderKind,
    /// The identifier in the system the document comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The human-facing order number, when it differs from `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The buyer's purchase order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<FixedOffset>>,
    pub currency: Currency,
    /// BCP 47 language tag of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Where the order was taken (`e-commerce`, `mail-order`, `telephone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<Address>,
    pub lines: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Fields the source sent that the model has no place for, kept by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

impl Order {
    /// An empty order in `currency`, to fill in.
    pub fn new(currency: Currency) -> Self {
        Self {
            kind: OrderKind::default(),
            id: None,
            reference: None,
            purchase_order: None,
            status: None,
            created_at: None,
            currency,
            language: None,
            channel: None,
            customer: None,
            billing_address: None,
            delivery_address: None,
            lines: Vec::new(),
            delivery: None,
            payment: None,
            totals: None,
            comment: None,
            extensions: Default::default(),
        }
    }

    /// The allowed gap between stated and computed totals: one minor unit per line and one
    /// for the order, since each line may have been rounded on its own.
    pub fn rounding_tolerance(&self) -> Decimal {
        self.currency.minor_unit() * Decimal::from(self.lines.len() + 1)
    }

    /// The sum of the lines' signed VAT-inclusive totals, when every line can say.
    pub fn computed_gross_total(&self) -> Option<Decimal> {
        self.lines.iter().try_fold(Decimal::ZERO, |sum, line| {
            sum.checked_add(line.signed_gross_total()?)
        })
    }

    /// The VAT of the whole order as its lines state it, not rounded: `None` when a line's
    /// VAT is unknown (see [`OrderLine::signed_vat_total`]).
    pub fn computed_tax_total(&self) -> Option<Decimal> {
        self.lines.iter().try_fold(Decimal::ZERO, |sum, line| {
            sum.checked_add(line.signed_vat_total()?)
        })
    }

    /// Checks what must hold for any order, whatever the protocol: lines present,
    /// quantities positive, amounts not negative, rates in range, totals adding up.
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        if self.lines.is_empty() {
            d.error(
                "/lines",
                "order.no_lines",
                "an order needs at least one line",
            );
        }
        for (i, line) in self.lines.iter().enumerate() {
            validate_line(line, i, &mut d);
        }
        if let Some(totals) = &self.totals {
            self.validate_totals(totals, &mut d);
        }
        if let Some(payment) = &self.payment {
            for (i, coupon) in payment.coupons.iter().enumerate() {
                if coupon.amount < Decimal::ZERO {
                    d.error(
                        format!("/payment/coupons/{i}/amount"),
                        "order.negative_amount",
                        format!("coupon amount {} is negative", coupon.amount),
                    );
                }
            }
        }
        d
    }

    fn validate_totals(&self, totals: &Totals, d: &mut Diagnostics) {
        let tolerance = self.rounding_tolerance();
        if totals.gross < Decimal::ZERO {
            d.error(
                "/totals/gross",
                "order.negative_amount",
                format!("total {} is negative", totals.gross),
            );
        }
        if let (Some(net), Some(tax)) = (totals.net, totals.tax)
            && exceeds(net.checked_add(tax), totals.gross, tolerance)
        {
            d.error(
                "/totals",
                "order.totals_inconsistent",
                format!(
                    "net {net} + tax {tax} does not make the gross total {}",
                    totals.gross
                ),
            );
        }
        if let Some(computed) = self.computed_gross_total()
            && exceeds(Some(computed), totals.gross, tolerance)
        {
            d.error(
                "/totals/gross",
                "order.total_mismatch",
                format!(
                    "the lines add up to {} {} but the stated total is {} (tolerance {tolerance})",
                    computed.round_dp(6).normalize(),
                    self.currency,
                    totals.gross
                ),
            );
        }
    }
}

/// True when `value` is more than `tolerance` from `expected`, or too large to compare.
fn exceeds(value: Option<Decimal>, expected: Decimal, tolerance: Decimal) -> bool {
    value
        .and_then(|v| v.checked_sub(expected))
        .is_none_or(|gap| gap.abs() > tolerance)
}

/// Checks line `i`. Its path is formatted only for a diagnostic.
fn validate_line(line: &OrderLine, i: usize, d: &mut Diagnostics) {
    let path = || format!("/lines/{i}");
    if line.quantity <= Decimal::ZERO {
        d.error(
            format!("{}/quantity", path()),
            "order.quantity_not_positive",
            format!("quantity must be greater than 0, got {}", line.quantity),
        );
    }
    let identified = [
        &line.sku,
        &line.product_id,
        &line.buyer_part_id,
        &line.gtin,
        &line.description,
    ]
    .iter()
    .any(|id| id.is_some());
    if line.kind == LineKind::Article && !identified {
        d.error(
            path(),
            "order.line_unidentified",
            "an article line needs a sku, a product_id, a buyer_part_id, a gtin or a description",
        );
    }
    if let Some(rate) = line.vat_rate
        && !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&rate)
    {
        d.error(
            format!("{}/vat_rate", path()),
            "order.vat_rate_out_of_range",
            format!("VAT rate {rate} is not a percentage between 0 and 100"),
        );
    }
    if let Some(basis) = line.price_basis_quantity
        && basis <= Decimal::ZERO
    {
        d.error(
            format!("{}/price_basis_quantity", path()),
            "order.quantity_not_positive",
            format!("price basis quantity must be greater than 0, got {basis}"),
        );
    }
    if let Some(price) = &line.unit_price {
        validate_price(price, line.vat_rate, || format!("{}/unit_price", path()), d);
    }
    for (k, discount) in line.discounts.iter().enumerate() {
        validate_price(
            &discount.amount,
            line.vat_rate,
            || format!("{}/discounts/{k}/amount", path()),
            d,
        );
    }
    if let Some(eco_tax) = line.eco_tax
        && eco_tax < Decimal::ZERO
    {
        d.error(
            format!("{}/eco_tax", path()),
            "order.negative_amount",
            format!("eco-tax {eco_tax} is negative"),
        );
    }
}

/// Checks a price; `path` is called only for a diagnostic.
fn validate_price(
    price: &Price,
    vat_rate: Option<Decimal>,
    path: impl Fn() -> String,
    d: &mut Diagnostics,
) {
    for (field, value) in [("net", price.net), ("gross", price.gross)] {
        if let Some(value) = value
            && value < Decimal::ZERO
        {
            d.error(
                format!("{}/{field}", path()),
                "order.negative_amount",
                format!(
                    "amount {value} is negative; lines that reduce the total say so by their kind"
                ),
            );
        }
    }
    if let (Some(net), Some(gross), Some(rate)) = (price.net, price.gross, vat_rate) {
        let expected = vat_factor(rate).and_then(|factor| net.checked_mul(factor));
        // Prices may carry up to 4 decimals (e-connecteur sends 75.9000): allow a cent.
        if exceeds(expected, gross, Decimal::new(1, 2)) {
            d.error(
                path(),
                "order.vat_inconsistent",
                format!("net {net} at {rate} % VAT does not give the gross {gross}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn line(quantity: Decimal, net: Decimal, vat: Decimal) -> OrderLine {
        OrderLine {
            sku: Some("FAC132".into()),
            quantity,
            unit_price: Some(Price::net(net)),
            vat_rate: Some(vat),
            ..OrderLine::default()
        }
    }

    fn order(lines: Vec<OrderLine>, gross: Decimal) -> Order {
        Order {
            lines,
            totals: Some(Totals {
                gross,
                net: None,
                tax: None,
            }),
            ..Order::new(Currency::EUR)
        }
    }

    #[test]
    fn totals_that_add_up_pass() {
        let shipping = OrderLine {
            kind: LineKind::Shipping,
            quantity: Decimal::ONE,
            unit_price: Some(Price::gross(dec!(20))),
            ..OrderLine::default()
        };
        let voucher = OrderLine {
            kind: LineKind::Voucher,
            quantity: Decimal::ONE,
            unit_price: Some(Price::gross(dec!(5))),
            ..OrderLine::default()
        };
        let o = order(
            vec![line(dec!(1), dec!(75.90), dec!(20)), shipping, voucher],
            dec!(106.08),
        );
        assert!(o.validate().is_empty(), "{}", o.validate());
    }

    #[test]
    fn a_wrong_total_is_reported_at_its_path() {
        let o = order(vec![line(dec!(2), dec!(10), dec!(20))], dec!(25));
        let d = o.validate();
        assert_eq!(d.len(), 1);
        assert_eq!(d.as_slice()[0].path, "/totals/gross");
        assert_eq!(d.as_slice()[0].code, "order.total_mismatch");
    }

    #[test]
    fn rounding_within_tolerance_is_accepted() {
        // 3 × 0.333 net at 20 % = 1.1988 gross; a source rounding to 1.20 is fine.
        let o = order(vec![line(dec!(3), dec!(0.333), dec!(20))], dec!(1.20));
        assert!(o.validate().is_empty(), "{}", o.validate());
    }

    #[test]
    fn bad_lines_name_their_field() {
        let mut bad = line(dec!(0), dec!(-1), dec!(120));
        bad.sku = None;
        let mut by_buyer_part = line(dec!(1), dec!(1), dec!(20));
        by_buyer_part.sku = None;
        by_buyer_part.buyer_part_id = Some("MAT-0001".into());
        assert!(
            !line_codes(&by_buyer_part)
                .iter()
                .any(|c| c == "order.line_unidentified")
        );
        let d = order(vec![bad], dec!(0)).validate();
        let codes: Vec<_> = d
            .iter()
            .map(|d| (d.path.as_str(), d.code.as_str()))
            .collect();
        assert!(codes.contains(&("/lines/0/quantity", "order.quantity_not_positive")));
        assert!(codes.contains(&("/lines/0", "order.line_unidentified")));
        assert!(codes.contains(&("/lines/0/vat_rate", "order.vat_rate_out_of_range")));
        assert!(codes.contains(&("/lines/0/unit_price/net", "order.negative_amount")));
    }

    fn line_codes(line: &OrderLine) -> Vec<String> {
        let mut d = Diagnostics::new();
        validate_line(line, 0, &mut d);
        d.into_iter().map(|d| d.code).collect()
    }

    #[test]
    fn an_order_without_lines_is_rejected() {
        let d = order(vec![], dec!(0)).validate();
        assert!(d.has_errors());
        assert_eq!(d.as_slice()[0].code, "order.no_lines");
    }

    #[test]
    fn net_and_gross_must_agree_with_the_rate() {
        let mut l = line(dec!(1), dec!(10), dec!(20));
        l.unit_price = Some(Price {
            net: Some(dec!(10)),
            gross: Some(dec!(13)),
        });
        let d = order(vec![l], dec!(13)).validate();
        assert!(d.iter().any(|d| d.code == "order.vat_inconsistent"), "{d}");
    }

    #[test]
    fn a_lines_vat_is_known_from_its_rate_or_both_prices() {
        let mut by_rate = line(dec!(3), dec!(10), dec!(21));
        by_rate.discounts.push(Discount {
            amount: Price::net(dec!(5)),
            ..Discount::default()
        });
        assert_eq!(by_rate.signed_net_total(), Some(dec!(25)));
        assert_eq!(by_rate.signed_vat_total(), Some(dec!(5.25)));
        let by_prices = OrderLine {
            kind: LineKind::Voucher,
            quantity: dec!(1),
            unit_price: Some(Price {
                net: Some(dec!(10)),
                gross: Some(dec!(12)),
            }),
            ..OrderLine::default()
        };
        assert_eq!(by_prices.signed_vat_total(), Some(dec!(-2)));
        let mut unknown = line(dec!(1), dec!(10), dec!(21));
        unknown.vat_rate = None;
        assert_eq!(unknown.signed_net_total(), Some(dec!(10)));
        assert_eq!(unknown.signed_vat_total(), None);

        let o = order(vec![by_rate.clone(), by_prices.clone()], dec!(0));
        assert_eq!(o.computed_tax_total(), Some(dec!(3.25)));
        let o = order(vec![by_rate, unknown], dec!(0));
        assert_eq!(o.computed_tax_total(), None);
    }

    #[test]
    fn price_basis_divides_the_line_total() {
        let mut l = line(dec!(250), dec!(8), dec!(0));
        l.price_basis_quantity = Some(dec!(100));
        assert_eq!(l.signed_gross_total(), Some(dec!(20)));
    }
}
