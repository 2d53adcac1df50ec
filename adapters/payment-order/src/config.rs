//! The adapter's configuration and its checked form.

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_sdk::Diagnostics;
use tradewire_sdk::core::{DeliveryMethod, DeliverySpeed};

/// How the adapter reads and writes Payline orders. Every field has a default, so `{}` is
/// a valid config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentOrderConfig {
    /// The IANA time zone the order `date` is written and read in (Payline's dates carry
    /// no offset). Default `Europe/Paris`.
    pub time_zone: String,
    /// The day taken as "today" when checking that `deliveryExpectedDate` lies in the
    /// future. Leave it out (or `null`) to use the system clock's date in `time_zone`;
    /// set it in tests so that they do not depend on the day they run.
    pub today: Option<NaiveDate>,
    /// The `deliveryTime` code sent for each canonical delivery speed.
    pub delivery_time: DeliveryTimeCodes,
    /// The `deliveryMode` code sent for each canonical delivery method.
    pub delivery_mode: DeliveryModeCodes,
    /// The namespace of the `order` element that `order-soap` writes.
    pub soap_element: SoapElement,
    /// The Payline API version the requests carrying the order are sent with (the
    /// request's `version`). Fields a version does not have are not written:
    /// `deliveryCharge` exists from version 18; `discountAmount`, the OTA fields,
    /// `bookingReference` and `orderDetail` from 21. Default 21, the first version with
    /// every field of the order object, so that nothing is left out unless an
    /// integration says it runs an older version.
    pub api_version: u32,
}

/// The first Payline API version with every field of the order object
/// ([`PaymentOrderConfig::api_version`]'s default).
pub const LATEST_ORDER_VERSION: u32 = 21;

impl Default for PaymentOrderConfig {
    fn default() -> Self {
        Self {
            time_zone: "Europe/Paris".to_owned(),
            today: None,
            delivery_time: DeliveryTimeCodes::default(),
            delivery_mode: DeliveryModeCodes::default(),
            soap_element: SoapElement::default(),
            api_version: LATEST_ORDER_VERSION,
        }
    }
}

/// Where the written `order` element belongs. Its children are always in the object
/// namespace `http://obj.ws.payline.experian.com`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SoapElement {
    /// `<order xmlns="http://obj.ws.payline.experian.com">`: a standalone element, valid
    /// against the Payline object schema (with `payline-order-root.xsd`).
    #[default]
    Obj,
    /// `<impl:order xmlns:impl="http://impl.ws.payline.experian.com" ...>`: the element
    /// as it sits inside a `doWebPaymentRequest`, ready to paste there.
    Impl,
}

/// `deliveryTime` codes (1 express, 2 standard). `null` leaves the field out for that
/// speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryTimeCodes {
    pub express: Option<u8>,
    pub standard: Option<u8>,
}

impl Default for DeliveryTimeCodes {
    fn default() -> Self {
        Self {
            express: Some(1),
            standard: Some(2),
        }
    }
}

/// `deliveryMode` codes: 1 withdrawal at the merchant, 2 third-party pickup network,
/// 3 airport, station or travel agency, 4 carrier, 5 electronic ticket or download.
/// `null` leaves the field out for that method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryModeCodes {
    pub store_pickup: Option<u8>,
    pub service_point: Option<u8>,
    pub travel_hub_pickup: Option<u8>,
    pub home_delivery: Option<u8>,
    pub electronic: Option<u8>,
}

impl Default for DeliveryModeCodes {
    fn default() -> Self {
        Self {
            store_pickup: Some(1),
            service_point: Some(2),
            travel_hub_pickup: Some(3),
            home_delivery: Some(4),
            electronic: Some(5),
        }
    }
}

const SPEEDS: [DeliverySpeed; 2] = [DeliverySpeed::Express, DeliverySpeed::Standard];

/// In the order of their codes in the specification.
const METHODS: [DeliveryMethod; 5] = [
    DeliveryMethod::StorePickup,
    DeliveryMethod::ServicePoint,
    DeliveryMethod::TravelHubPickup,
    DeliveryMethod::HomeDelivery,
    DeliveryMethod::Electronic,
];

impl DeliveryTimeCodes {
    pub(crate) fn code(&self, speed: DeliverySpeed) -> Option<u8> {
        match speed {
            DeliverySpeed::Express => self.express,
            DeliverySpeed::Standard => self.standard,
        }
    }

    /// The speed a code stands for. When several speeds share the code, the one the
    /// specification gives it wins, so a remapping never changes what a code means when
    /// read back.
    pub(crate) fn speed(&self, code: u8) -> Option<DeliverySpeed> {
        let default = Self::default();
        inverse(&SPEEDS, code, |s| self.code(s), |s| default.code(s))
    }
}

impl DeliveryModeCodes {
    pub(crate) fn code(&self, method: DeliveryMethod) -> Option<u8> {
        match method {
            DeliveryMethod::StorePickup => self.store_pickup,
            DeliveryMethod::ServicePoint => self.service_point,
            DeliveryMethod::TravelHubPickup => self.travel_hub_pickup,
            DeliveryMethod::HomeDelivery => self.home_delivery,
            DeliveryMethod::Electronic => self.electronic,
        }
    }

    /// The method a code stands for; as [`DeliveryTimeCodes::speed`].
    pub(crate) fn method(&self, code: u8) -> Option<DeliveryMethod> {
        let default = Self::default();
        inverse(&METHODS, code, |m| self.code(m), |m| default.code(m))
    }
}

/// The value mapped to `code`, preferring the one whose default code it is, else the
/// first in `values`.
fn inverse<T: Copy>(
    values: &[T],
    code: u8,
    configured: impl Fn(T) -> Option<u8>,
    default: impl Fn(T) -> Option<u8>,
) -> Option<T> {
    let mut candidates = values
        .iter()
        .copied()
        .filter(|value| configured(*value) == Some(code));
    let first = candidates.next()?;
    if default(first) == Some(code) {
        return Some(first);
    }
    Some(
        candidates
            .find(|value| default(*value) == Some(code))
            .unwrap_or(first),
    )
}

/// A checked config.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub zone: Tz,
    pub today: Option<NaiveDate>,
    pub delivery_time: DeliveryTimeCodes,
    pub delivery_mode: DeliveryModeCodes,
    pub soap_element: SoapElement,
    pub api_version: u32,
}

impl Settings {
    pub(crate) fn new(config: PaymentOrderConfig) -> Result<Self, Diagnostics> {
        let mut d = Diagnostics::new();
        let zone = match config.time_zone.parse::<Tz>() {
            Ok(zone) => Some(zone),
            Err(_) => {
                d.error(
                    "/config/time_zone",
                    "payline.bad_time_zone",
                    format!(
                        "{:?} is not an IANA time zone name (such as `Europe/Paris`)",
                        config.time_zone
                    ),
                );
                None
            }
        };
        let time = config.delivery_time;
        for (name, code) in [("express", time.express), ("standard", time.standard)] {
            check_code(&mut d, "delivery_time", name, code, 2);
        }
        let mode = config.delivery_mode;
        for (name, code) in [
            ("store_pickup", mode.store_pickup),
            ("service_point", mode.service_point),
            ("travel_hub_pickup", mode.travel_hub_pickup),
            ("home_delivery", mode.home_delivery),
            ("electronic", mode.electronic),
        ] {
            check_code(&mut d, "delivery_mode", name, code, 5);
        }
        if config.api_version == 0 {
            d.error(
                "/config/api_version",
                "payline.bad_api_version",
                "Payline API versions start at 1",
            );
        }
        match zone {
            Some(zone) if !d.has_errors() => Ok(Self {
                zone,
                today: config.today,
                delivery_time: time,
                delivery_mode: mode,
                soap_element: config.soap_element,
                api_version: config.api_version,
            }),
            _ => Err(d),
        }
    }

    /// The injected day, or the system clock's date in the configured zone.
    pub(crate) fn today(&self) -> NaiveDate {
        self.today
            .unwrap_or_else(|| Utc::now().with_timezone(&self.zone).date_naive())
    }
}

fn check_code(d: &mut Diagnostics, group: &str, name: &str, code: Option<u8>, highest: u8) {
    if let Some(code) = code
        && !(1..=highest).contains(&code)
    {
        d.error(
            format!("/config/{group}/{name}"),
            "payline.bad_code",
            format!("{code} is not a Payline {group} code; the codes are 1 to {highest}"),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_specification_codes() {
        let codes = DeliveryModeCodes::default();
        for (code, method) in (1..=5).zip(METHODS) {
            assert_eq!(codes.code(method), Some(code));
            assert_eq!(codes.method(code), Some(method));
        }
        let times = DeliveryTimeCodes::default();
        assert_eq!(times.speed(1), Some(DeliverySpeed::Express));
        assert_eq!(times.speed(2), Some(DeliverySpeed::Standard));
        assert_eq!(times.speed(3), None);
    }

    #[test]
    fn a_shared_code_reads_back_as_its_own_meaning() {
        let codes = DeliveryModeCodes {
            service_point: Some(4),
            ..DeliveryModeCodes::default()
        };
        assert_eq!(codes.code(DeliveryMethod::ServicePoint), Some(4));
        assert_eq!(codes.method(4), Some(DeliveryMethod::HomeDelivery));
        assert_eq!(codes.method(2), None, "nothing is mapped to 2 any more");

        let only_remapped = DeliveryModeCodes {
            service_point: Some(4),
            home_delivery: None,
            ..DeliveryModeCodes::default()
        };
        assert_eq!(only_remapped.method(4), Some(DeliveryMethod::ServicePoint));
    }

    #[test]
    fn bad_settings_are_refused_by_path() {
        let config = PaymentOrderConfig {
            time_zone: "Europe/Pariss".into(),
            delivery_mode: DeliveryModeCodes {
                electronic: Some(6),
                ..DeliveryModeCodes::default()
            },
            api_version: 0,
            ..PaymentOrderConfig::default()
        };
        let d = Settings::new(config).unwrap_err();
        let paths: Vec<_> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/config/time_zone",
                "/config/delivery_mode/electronic",
                "/config/api_version"
            ]
        );
    }

    #[test]
    fn today_is_injectable() {
        let day = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let settings = Settings::new(PaymentOrderConfig {
            today: Some(day),
            ..PaymentOrderConfig::default()
        })
        .unwrap();
        assert_eq!(settings.today(), day);
        assert_eq!(settings.zone, chrono_tz::Europe::Paris);
    }
}
