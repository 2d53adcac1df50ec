//! Punchout sessions, kept for the `oci_gateway` service: opened at a login, found again
//! by the hash of the token the user's browser carries, ended by the one cart they return.

use serde::Serialize;

use crate::{Acceptance, Reply, Timestamp};

/// A session a login opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPunchoutSession {
    /// An id to name the session by (`tradewire sessions show ID`): not the token.
    pub id: String,
    /// A digest of the token the browser carries: the token itself is never stored, so a
    /// copy of the store opens no session.
    pub token_hash: String,
    /// The service that opened it.
    pub service: String,
    /// The account that logged in.
    pub account: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// What the login said and the cart must be returned with (hook URL, return target,
    /// charset, language, the SAP fields to echo), as JSON. Never a password.
    pub fields: serde_json::Value,
}

/// A session as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PunchoutSessionRecord {
    pub id: String,
    pub service: String,
    pub account: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub fields: serde_json::Value,
    /// The cart it returned, once it has.
    pub cart: Option<ReturnedCart>,
}

/// The cart a session returned, and the page the browser was answered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnedCart {
    /// The accepted document.
    pub document: String,
    pub returned_at: Timestamp,
    #[serde(skip)]
    pub page: Reply,
}

/// How a session is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    /// By its id (support staff).
    Id(String),
    /// By the digest of its token (the browser).
    TokenHash(String),
}

/// What [`crate::Store::return_punchout_cart`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartReturn {
    /// The session had returned no cart: the document was offered to
    /// [`crate::Store::accept`] in the same transaction, and the session now holds it when
    /// it was accepted.
    Returned(Acceptance),
    /// The session returned a cart before: nothing was written; answer with its page.
    AlreadyReturned { document: String, page: Reply },
    /// The session has expired: nothing was written.
    Expired,
    /// No session has this token: nothing was written.
    Unknown,
}
