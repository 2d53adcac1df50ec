//! Customers as an ERP knows them: terms, price category, contacts and addresses.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Address, Diagnostics};

/// A person to talk to at a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// Payment terms by identifier and label (`30J` / `30 jours fin de mois`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentTerms {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The party that pays for a customer, when another one does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Payer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A customer account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    /// The identifier in the system the document comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The ERP's customer code (`codetiers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erp_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_rep: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<PaymentTerms>,
    /// The price category the customer buys at (`Grossistes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_category: Option<String>,
    /// A standing discount in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivery_addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Fields the source sent that the model has no place for, kept by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

impl Customer {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        if self.id.is_none() && self.erp_code.is_none() && self.email.is_none() {
            d.error(
                "",
                "customer.unidentified",
                "a customer needs an id, an erp_code or an email to be matched on",
            );
        }
        if let Some(rate) = self.discount_rate
            && !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&rate)
        {
            d.error(
                "/discount_rate",
                "customer.discount_out_of_range",
                format!("discount rate {rate} is not a percentage between 0 and 100"),
            );
        }
        d
    }
}

/// Several customers in one document (an ERP's full customer push).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerList {
    pub customers: Vec<Customer>,
}

impl CustomerList {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        for (i, customer) in self.customers.iter().enumerate() {
            d.extend_under(&format!("/customers/{i}"), customer.validate());
        }
        d
    }
}
