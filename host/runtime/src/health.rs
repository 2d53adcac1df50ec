//! Each component's health, as `/health` reports it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ComponentHealth {
    pub kind: &'static str,
    /// `starting`, `ok` or `failing`.
    pub status: &'static str,
    /// Why it is failing (the last error, secrets never included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Shared by the components and the API; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<BTreeMap<String, ComponentHealth>>>);

impl Health {
    pub fn register(&self, name: &str, kind: &'static str) {
        self.update(name, |_| ComponentHealth {
            kind,
            status: "starting",
            detail: None,
        });
    }

    pub fn set_ok(&self, name: &str) {
        self.update(name, |h| ComponentHealth {
            kind: h.kind,
            status: "ok",
            detail: None,
        });
    }

    pub fn set_failing(&self, name: &str, detail: &str) {
        self.update(name, |h| ComponentHealth {
            kind: h.kind,
            status: "failing",
            detail: Some(detail.to_owned()),
        });
    }

    fn update(&self, name: &str, f: impl FnOnce(&ComponentHealth) -> ComponentHealth) {
        if let Ok(mut map) = self.0.lock() {
            let current = map.get(name).cloned().unwrap_or(ComponentHealth {
                kind: "component",
                status: "starting",
                detail: None,
            });
            map.insert(name.to_owned(), f(&current));
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, ComponentHealth> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}
