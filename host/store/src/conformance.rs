//! The suite every [`Store`] implementation must pass.
//!
//! Each property is a public async function taking a fresh, empty store;
//! [`store_conformance_tests!`](crate::store_conformance_tests) makes one `#[tokio::test]` of
//! each, so that a test runner lists them one by one:
//!
//! ```ignore
//! mod conformance {
//!     // The factory returns a pointer to a fresh store (a Box, an Arc, or a type of yours
//!     // that derefs to the store and keeps what it needs alive, such as a temporary
//!     // directory). The calling crate needs tokio with `macros` and `rt`.
//!     tradewire_store::store_conformance_tests!(async || Box::new(MyStore::new().await));
//! }
//! ```
//!
//! A property fails by panicking (an `assert!`), or by returning the [`StoreError`] a call
//! returned. Times are whole milliseconds near the wall clock's: [`Store::requeue`] makes a
//! delivery due at the wall clock's now.

#![allow(
    clippy::expect_used,
    reason = "a property that finds the store wrong fails its test by panicking"
)]

use std::time::Duration;

use chrono::{SubsecRound, TimeDelta, Utc};
use serde_json::json;

use crate::service::CatalogueKind::{self, Product};
use crate::service::{CatalogueEntry, Put, PutMode};
use crate::{
    Acceptance, Attempt, AttemptOutcome, CartReturn, Claimed, DeadLetterKind, DeliveryState,
    Incoming, NewDelivery, NewPunchoutSession, Next, QueueStats, Refusal, Reply, SessionLookup,
    Store, StoreError, Timestamp,
};

/// Makes one `#[tokio::test]` per property of the suite, each on a store the factory made
/// fresh: `store_conformance_tests!(async || Box::new(MyStore::new()))`.
#[macro_export]
macro_rules! store_conformance_tests {
    // The one list of properties: `@list callback args` hands it to `@callback args;`.
    (@list $callback:ident $($argument:tt)*) => {
        $crate::store_conformance_tests! { @$callback $($argument)*;
            accept_then_claim_returns_each_sinks_delivery,
            trace_shows_what_was_accepted,
            claim_is_exclusive_until_the_lease_ends,
            record_ends_the_claim,
            release_makes_claims_due_at_once,
            claim_respects_the_due_time,
            retry_now_makes_waiting_deliveries_due,
            claim_takes_the_oldest_due_first_up_to_the_limit,
            same_key_and_content_is_a_duplicate_answered_as_the_first,
            same_key_with_other_content_is_a_conflict,
            same_key_on_another_source_is_independent,
            documents_without_a_key_never_collide,
            concurrent_accepts_of_one_key_accept_one,
            refuse_keeps_the_input_as_a_dead_letter,
            a_refused_input_does_not_hold_its_key,
            record_delivered_ends_the_delivery,
            dead_letter_keeps_every_attempt,
            requeue_makes_it_claimable_with_its_key_and_attempts,
            requeue_takes_only_undeliverable_dead_letters,
            accept_replayed_commits_and_removes_the_refusal,
            accept_replayed_leaves_the_refusal_when_not_accepted,
            refuse_again_replaces_the_diagnostics,
            drop_dead_letter_drops_either_kind_once,
            dead_letter_ids_are_never_reused,
            record_after_the_delivery_ended_keeps_the_first_end,
            record_of_an_unknown_delivery_is_refused,
            queue_stats_counts_pending_and_the_oldest,
            next_due_is_when_a_claim_would_next_return_something,
            prune_deletes_only_what_it_must,
            trace_finds_documents_and_refusals_by_id_or_key,
            // Punchout sessions.
            punchout_sessions_are_found_by_id_or_token_hash,
            a_punchout_session_returns_one_cart,
            an_expired_or_unknown_punchout_session_returns_no_cart,
            prune_punchout_sessions_deletes_only_the_expired,
            // A served webservice's state.
            service_catalogue_adds_and_updates_as_asked,
            service_catalogue_pages_are_stable,
            service_orders_wait_until_exported,
            service_tracking_numbers_are_kept_once_each,
            service_customers_are_listed_by_date,
            service_price_rules_and_sales_documents_are_replaced_by_key,
        }
    };
    (@tests $factory:expr; $($property:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $property() -> ::std::result::Result<(), $crate::StoreError> {
                let made = ($factory)().await;
                $crate::conformance::$property(&*made).await
            }
        )+
    };
    (@names; $($property:ident),+ $(,)?) => {
        &[$(stringify!($property)),+]
    };
    ($factory:expr $(,)?) => {
        $crate::store_conformance_tests!(@list tests $factory);
    };
}

type Outcome = Result<(), StoreError>;

const LEASE: Duration = Duration::from_secs(60);

/// A claim that asks for everything due.
const ALL: usize = 1000;

pub async fn accept_then_claim_returns_each_sinks_delivery(store: &dyn Store) -> Outcome {
    let now = start();
    let incoming = document(
        "doc-1",
        "carts",
        Some("order-7"),
        "the order",
        now,
        &["rest", "ois"],
    );
    assert_eq!(store.accept(incoming.clone()).await?, Acceptance::Accepted);

    for delivery in &incoming.deliveries {
        let claimed = store.claim(&delivery.sink, ALL, now, LEASE).await?;
        assert_eq!(
            claimed.iter().map(without_id).collect::<Vec<_>>(),
            [Claimed {
                id: 0,
                document: "doc-1".to_owned(),
                sink: delivery.sink.clone(),
                key: delivery.key.clone(),
                payload: delivery.payload.clone(),
                attempts: 0,
                created_at: now,
            }],
            "claiming {}",
            delivery.sink
        );
    }
    assert_eq!(store.claim("elsewhere", ALL, now, LEASE).await?, []);
    Ok(())
}

pub async fn trace_shows_what_was_accepted(store: &dyn Store) -> Outcome {
    let now = start();
    let mut incoming = document("doc-1", "carts", Some("order-7"), "", now, &["rest"]);
    // Bytes as received, whatever they are.
    incoming.raw = vec![0, 0xff, b'\n', 0xc3, 0x28];
    incoming.context =
        json!({"content_type": "text/xml; charset=ISO-8859-1", "headers": {"x-a": ["1", "2"]}});
    store.accept(incoming.clone()).await?;

    let trace = store.trace("doc-1").await?;
    assert_eq!(trace.refusals, []);
    let [document] = &trace.documents[..] else {
        panic!("trace of doc-1 found {:?}", trace.documents);
    };
    assert_eq!(
        (
            &document.id,
            &document.source,
            &document.key,
            document.received_at
        ),
        (
            &incoming.id,
            &incoming.source,
            &incoming.key,
            incoming.received_at
        )
    );
    assert_eq!(document.raw, incoming.raw);
    assert_eq!(document.context, incoming.context);
    let [delivery] = &document.deliveries[..] else {
        panic!("doc-1 has deliveries {:?}", document.deliveries);
    };
    assert_eq!(
        (&delivery.sink, &delivery.key, &delivery.payload),
        (
            &incoming.deliveries[0].sink,
            &incoming.deliveries[0].key,
            &incoming.deliveries[0].payload
        )
    );
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(
        delivery.next_attempt_at,
        Some(now),
        "a new delivery is due at once"
    );
    assert_eq!((delivery.attempts.len(), delivery.dead_letter), (0, None));
    Ok(())
}

pub async fn claim_is_exclusive_until_the_lease_ends(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    let first = store.claim("rest", ALL, now, LEASE).await?;
    assert_eq!(first.len(), 1);

    assert_eq!(
        store.claim("rest", ALL, now, LEASE).await?,
        [],
        "claimed again at once"
    );
    let just_before = now + lease() - TimeDelta::milliseconds(1);
    assert_eq!(
        store.claim("rest", ALL, just_before, LEASE).await?,
        [],
        "claimed within the lease"
    );
    let again = store.claim("rest", ALL, now + lease(), LEASE).await?;
    assert_eq!(ids(&again), ids(&first), "the lease ended: claimable again");
    Ok(())
}

pub async fn record_ends_the_claim(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    let [claimed] = claim_n(store, "rest", now).await?;
    let retry_at = now + TimeDelta::milliseconds(1);
    store
        .record(
            claimed.id,
            attempt(now, AttemptOutcome::Temporary, Some(503)),
            Next::RetryAt(retry_at),
        )
        .await?;

    let [again] = claim_n(store, "rest", retry_at).await?;
    assert_eq!(
        (again.id, again.attempts),
        (claimed.id, 1),
        "recorded: claimable when due, within the old lease"
    );
    Ok(())
}

pub async fn release_makes_claims_due_at_once(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    store
        .accept(document("doc-2", "carts", None, "b", now, &["rest"]))
        .await?;
    let claimed = store.claim("rest", ALL, now, LEASE).await?;
    assert_eq!(claimed.len(), 2);

    store
        .release(&[claimed[0].id, claimed[1].id, 987_654_321])
        .await?;
    let again = store.claim("rest", ALL, now, LEASE).await?;
    assert_eq!(ids(&again), ids(&claimed));
    assert!(
        again.iter().all(|delivery| delivery.attempts == 0),
        "a release is no attempt"
    );
    Ok(())
}

pub async fn claim_respects_the_due_time(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    let [claimed] = claim_n(store, "rest", now).await?;
    let retry_at = now + TimeDelta::seconds(10);
    store
        .record(
            claimed.id,
            attempt(now, AttemptOutcome::Temporary, None),
            Next::RetryAt(retry_at),
        )
        .await?;

    for early in [now, retry_at - TimeDelta::milliseconds(1)] {
        assert_eq!(
            store.claim("rest", ALL, early, LEASE).await?,
            [],
            "claimed at {early}, due at {retry_at}"
        );
    }
    let [due] = claim_n(store, "rest", retry_at).await?;
    assert_eq!(due.id, claimed.id);
    Ok(())
}

pub async fn retry_now_makes_waiting_deliveries_due(store: &dyn Store) -> Outcome {
    let now = start();
    for (id, key) in [("doc-1", "a"), ("doc-2", "b"), ("doc-3", "c")] {
        store
            .accept(document(id, "carts", None, key, now, &["rest", "archive"]))
            .await?;
    }
    let claimed = store.claim("rest", 2, now, LEASE).await?;
    let [waiting, held] = [&claimed[0], &claimed[1]];
    let retry_at = now + TimeDelta::hours(1);
    store
        .record(
            waiting.id,
            attempt(now, AttemptOutcome::Temporary, None),
            Next::RetryAt(retry_at),
        )
        .await?;

    let later = now + TimeDelta::seconds(5);
    assert_eq!(
        store.retry_now("rest", later).await?,
        1,
        "only the delivery waiting for its retry: the due one and the claimed one need nothing"
    );
    assert_eq!(store.retry_now("archive", later).await?, 0);
    let due = store.claim("rest", ALL, later, LEASE).await?;
    assert_eq!(
        documents(&due),
        ["doc-3", "doc-1"],
        "the retried one is due again (at `later`, after the one due all along); the claimed \
         one stays claimed"
    );
    assert!(!ids(&due).contains(&held.id));
    assert_eq!(due[1].attempts, 1, "its attempt is kept");
    Ok(())
}

pub async fn claim_takes_the_oldest_due_first_up_to_the_limit(store: &dyn Store) -> Outcome {
    let now = start();
    for (id, offset) in [("doc-late", 20), ("doc-early", 0), ("doc-middle", 10)] {
        let received_at = now + TimeDelta::milliseconds(offset);
        store
            .accept(document(id, "carts", None, id, received_at, &["rest"]))
            .await?;
    }
    let later = now + TimeDelta::seconds(1);
    assert_eq!(store.claim("rest", 0, later, LEASE).await?, []);
    let first = store.claim("rest", 2, later, LEASE).await?;
    assert_eq!(documents(&first), ["doc-early", "doc-middle"]);
    let rest = store.claim("rest", 2, later, LEASE).await?;
    assert_eq!(documents(&rest), ["doc-late"]);
    Ok(())
}

pub async fn same_key_and_content_is_a_duplicate_answered_as_the_first(
    store: &dyn Store,
) -> Outcome {
    let now = start();
    let first = document(
        "doc-1",
        "carts",
        Some("order-7"),
        "the order",
        now,
        &["rest"],
    );
    store.accept(first.clone()).await?;

    let mut repeat = document(
        "doc-2",
        "carts",
        Some("order-7"),
        "the order",
        now,
        &["rest", "ois"],
    );
    repeat.reply.body = b"another answer".to_vec();
    assert_eq!(
        store.accept(repeat).await?,
        Acceptance::Duplicate {
            id: "doc-1".to_owned(),
            reply: first.reply.clone()
        }
    );
    assert_nothing_of(store, "doc-2").await?;
    assert_eq!(
        documents(&store.claim("rest", ALL, now, LEASE).await?),
        ["doc-1"]
    );
    assert_eq!(store.claim("ois", ALL, now, LEASE).await?, []);
    Ok(())
}

pub async fn same_key_with_other_content_is_a_conflict(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document(
            "doc-1",
            "carts",
            Some("order-7"),
            "the order",
            now,
            &["rest"],
        ))
        .await?;

    let other = document(
        "doc-2",
        "carts",
        Some("order-7"),
        "another order",
        now,
        &["rest"],
    );
    assert_eq!(
        store.accept(other).await?,
        Acceptance::Conflict {
            id: "doc-1".to_owned()
        }
    );
    assert_nothing_of(store, "doc-2").await?;
    assert_eq!(
        documents(&store.claim("rest", ALL, now, LEASE).await?),
        ["doc-1"]
    );
    Ok(())
}

pub async fn same_key_on_another_source_is_independent(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document(
            "doc-1",
            "carts",
            Some("order-7"),
            "the order",
            now,
            &["rest"],
        ))
        .await?;
    let elsewhere = document(
        "doc-2",
        "punchout",
        Some("order-7"),
        "another order",
        now,
        &["rest"],
    );
    assert_eq!(store.accept(elsewhere).await?, Acceptance::Accepted);

    let claimed = store.claim("rest", ALL, now, LEASE).await?;
    let mut claimed = documents(&claimed);
    claimed.sort_unstable();
    assert_eq!(claimed, ["doc-1", "doc-2"]);
    Ok(())
}

pub async fn documents_without_a_key_never_collide(store: &dyn Store) -> Outcome {
    let now = start();
    for id in ["doc-1", "doc-2"] {
        let incoming = document(id, "carts", None, "the same bytes", now, &["rest"]);
        assert_eq!(
            store.accept(incoming).await?,
            Acceptance::Accepted,
            "accepting {id}"
        );
    }
    Ok(())
}

pub async fn concurrent_accepts_of_one_key_accept_one(store: &dyn Store) -> Outcome {
    let now = start();
    let accept = |id: &str| {
        store.accept(document(
            id,
            "carts",
            Some("order-7"),
            "the order",
            now,
            &["rest"],
        ))
    };
    let (a, b, c, d) = tokio::join!(
        accept("doc-a"),
        accept("doc-b"),
        accept("doc-c"),
        accept("doc-d")
    );
    let answers = [a?, b?, c?, d?];

    let accepted: Vec<_> = ["doc-a", "doc-b", "doc-c", "doc-d"]
        .into_iter()
        .zip(&answers)
        .filter(|(_, answer)| **answer == Acceptance::Accepted)
        .map(|(id, _)| id)
        .collect();
    let [winner] = accepted[..] else {
        panic!("accepted {accepted:?} of one key");
    };
    for answer in &answers {
        match answer {
            Acceptance::Accepted => {}
            Acceptance::Duplicate { id, .. } => assert_eq!(id, winner),
            Acceptance::Conflict { .. } => panic!("the same content conflicted: {answer:?}"),
        }
    }
    assert_eq!(
        documents(&store.claim("rest", ALL, now, LEASE).await?),
        [winner]
    );
    Ok(())
}

pub async fn refuse_keeps_the_input_as_a_dead_letter(store: &dyn Store) -> Outcome {
    let now = start();
    let refusal = refusal("carts", Some("order-7"), now);
    let id = store.refuse(refusal.clone()).await?;

    let summaries = store.dead_letters().await?;
    let [summary] = &summaries[..] else {
        panic!("dead letters {summaries:?}");
    };
    assert_eq!(summary.id, id);
    assert_eq!(summary.created_at, now);
    assert_eq!(summary.kind, DeadLetterKind::Refused);
    assert_eq!(summary.component, "carts");
    assert_eq!(
        (summary.document.as_deref(), summary.key.as_deref()),
        (None, Some("order-7"))
    );
    assert_eq!(
        summary.reason,
        "error[oci.missing_field] at NEW_ITEM-PRICE[1]: the price is missing"
    );

    let letter = store
        .dead_letter(id)
        .await?
        .expect("the dead letter just made");
    assert_eq!(&letter.summary, summary);
    assert_eq!(letter.raw.as_deref(), Some(&refusal.raw[..]));
    assert_eq!(letter.context.as_ref(), Some(&refusal.context));
    assert_eq!(letter.diagnostics.as_ref(), Some(&refusal.diagnostics));
    assert_eq!(letter.delivery, None);
    assert_eq!(store.dead_letter(id + 1000).await?, None);
    Ok(())
}

pub async fn a_refused_input_does_not_hold_its_key(store: &dyn Store) -> Outcome {
    let now = start();
    store.refuse(refusal("carts", Some("order-7"), now)).await?;
    let fixed = document(
        "doc-1",
        "carts",
        Some("order-7"),
        "the order",
        now,
        &["rest"],
    );
    assert_eq!(store.accept(fixed).await?, Acceptance::Accepted);
    Ok(())
}

pub async fn record_delivered_ends_the_delivery(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    let [claimed] = claim_n(store, "rest", now).await?;
    let delivered = attempt(now, AttemptOutcome::Delivered, Some(201));
    store
        .record(claimed.id, delivered.clone(), Next::Delivered)
        .await?;

    let much_later = now + TimeDelta::days(1);
    assert_eq!(store.claim("rest", ALL, much_later, LEASE).await?, []);
    assert_eq!(store.next_due("rest").await?, None);
    let delivery = only_delivery(store, "doc-1").await?;
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert_eq!(
        (delivery.next_attempt_at, delivery.dead_letter),
        (None, None)
    );
    assert_eq!(delivery.attempts, [delivered]);
    assert_eq!(store.dead_letters().await?, []);
    Ok(())
}

pub async fn dead_letter_keeps_every_attempt(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document(
            "doc-1",
            "carts",
            Some("order-7"),
            "a",
            now,
            &["rest"],
        ))
        .await?;
    let (delivery, attempts) = dead_lettered(store, "rest", now).await?;

    let summaries = store.dead_letters().await?;
    let [summary] = &summaries[..] else {
        panic!("dead letters {summaries:?}");
    };
    assert_eq!(summary.kind, DeadLetterKind::Undeliverable);
    assert_eq!(summary.component, "rest");
    assert_eq!(summary.document.as_deref(), Some("doc-1"));
    assert_eq!(
        summary.key.as_deref(),
        Some("order-7"),
        "the document's key"
    );
    assert_eq!(
        summary.created_at, attempts[2].at,
        "made by the last attempt"
    );
    assert_eq!(
        summary.reason, "400 Bad Request: the order has no lines",
        "one line"
    );

    let letter = store
        .dead_letter(summary.id)
        .await?
        .expect("the dead letter listed");
    assert_eq!(
        (letter.raw, letter.context, letter.diagnostics),
        (None, None, None)
    );
    let held = letter
        .delivery
        .expect("an undeliverable dead letter's delivery");
    assert_eq!(
        (held.id, held.state, &held.key),
        (delivery, DeliveryState::Dead, &"doc-1:rest".to_owned())
    );
    assert_eq!(
        (held.next_attempt_at, held.dead_letter),
        (None, Some(summary.id))
    );
    assert_eq!(held.attempts, attempts);

    assert_eq!(
        only_delivery(store, "doc-1").await?,
        held,
        "trace shows the same"
    );
    assert_eq!(
        store
            .claim("rest", ALL, now + TimeDelta::days(1), LEASE)
            .await?,
        []
    );
    Ok(())
}

pub async fn requeue_makes_it_claimable_with_its_key_and_attempts(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    let (delivery, attempts) = dead_lettered(store, "rest", now).await?;
    let letter = only_dead_letter(store).await?;

    store.requeue(letter).await?;
    assert_eq!(store.dead_letter(letter).await?, None);
    assert_eq!(store.dead_letters().await?, []);
    let [claimed] = claim_n(store, "rest", Utc::now()).await?;
    assert_eq!(
        (claimed.id, &claimed.key, claimed.attempts),
        (delivery, &"doc-1:rest".to_owned(), 3)
    );

    let traced = only_delivery(store, "doc-1").await?;
    assert_eq!(
        (traced.state, traced.dead_letter),
        (DeliveryState::Pending, None)
    );
    assert_eq!(
        traced.attempts, attempts,
        "the attempts before the dead letter are kept"
    );
    Ok(())
}

pub async fn requeue_takes_only_undeliverable_dead_letters(store: &dyn Store) -> Outcome {
    let now = start();
    let refused = store.refuse(refusal("carts", None, now)).await?;
    assert_eq!(
        store.requeue(refused).await,
        Err(StoreError::WrongKind {
            id: refused,
            kind: DeadLetterKind::Refused
        })
    );
    assert!(store.dead_letter(refused).await?.is_some(), "left in place");
    let missing = refused + 1000;
    assert_eq!(
        store.requeue(missing).await,
        Err(StoreError::NoSuchDeadLetter(missing))
    );
    Ok(())
}

pub async fn accept_replayed_commits_and_removes_the_refusal(store: &dyn Store) -> Outcome {
    let now = start();
    let refused = store.refuse(refusal("carts", Some("order-7"), now)).await?;
    let replayed = document(
        "doc-1",
        "carts",
        Some("order-7"),
        "the order",
        now,
        &["rest"],
    );

    assert_eq!(
        store.accept_replayed(refused, replayed).await?,
        Acceptance::Accepted
    );
    assert_eq!(store.dead_letter(refused).await?, None);
    assert_eq!(store.dead_letters().await?, []);
    assert_eq!(
        documents(&store.claim("rest", ALL, now, LEASE).await?),
        ["doc-1"]
    );
    assert_eq!(store.trace("order-7").await?.refusals, []);
    Ok(())
}

pub async fn accept_replayed_leaves_the_refusal_when_not_accepted(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document(
            "doc-1",
            "carts",
            Some("order-7"),
            "the order",
            now,
            &["ois"],
        ))
        .await?;
    let refused = store.refuse(refusal("carts", Some("order-7"), now)).await?;

    let other = document(
        "doc-2",
        "carts",
        Some("order-7"),
        "another order",
        now,
        &["rest"],
    );
    assert_eq!(
        store.accept_replayed(refused, other).await?,
        Acceptance::Conflict {
            id: "doc-1".to_owned()
        }
    );
    assert!(
        store.dead_letter(refused).await?.is_some(),
        "kept after a conflict"
    );
    let same = document(
        "doc-3",
        "carts",
        Some("order-7"),
        "the order",
        now,
        &["rest"],
    );
    assert!(matches!(
        store.accept_replayed(refused, same).await?,
        Acceptance::Duplicate { .. }
    ));
    assert!(
        store.dead_letter(refused).await?.is_some(),
        "kept after a duplicate"
    );
    assert_nothing_of(store, "doc-2").await?;
    assert_nothing_of(store, "doc-3").await?;

    store
        .accept(document("doc-4", "carts", None, "b", now, &["rest"]))
        .await?;
    let (_, _) = dead_lettered(store, "rest", now).await?;
    let undeliverable = store
        .dead_letters()
        .await?
        .into_iter()
        .find(|letter| letter.kind == DeadLetterKind::Undeliverable)
        .expect("the dead letter just made")
        .id;
    let replay = document("doc-5", "carts", None, "c", now, &["rest"]);
    assert_eq!(
        store.accept_replayed(undeliverable, replay).await,
        Err(StoreError::WrongKind {
            id: undeliverable,
            kind: DeadLetterKind::Undeliverable
        })
    );
    assert_nothing_of(store, "doc-5").await?;
    let missing = undeliverable + 1000;
    let replay = document("doc-6", "carts", None, "d", now, &["rest"]);
    assert_eq!(
        store.accept_replayed(missing, replay).await,
        Err(StoreError::NoSuchDeadLetter(missing))
    );
    assert_nothing_of(store, "doc-6").await?;
    Ok(())
}

pub async fn refuse_again_replaces_the_diagnostics(store: &dyn Store) -> Outcome {
    let now = start();
    let first = refusal("carts", Some("order-7"), now);
    let id = store.refuse(first.clone()).await?;
    let diagnostics = json!([
        {"severity": "error", "path": "/lines/0/quantity", "code": "order.quantity", "message": "zero\nitems"},
        {"severity": "error", "path": "/currency", "code": "money.currency", "message": "unknown"},
    ]);

    store.refuse_again(id, diagnostics.clone()).await?;
    let letter = store
        .dead_letter(id)
        .await?
        .expect("the refused dead letter");
    assert_eq!(letter.diagnostics, Some(diagnostics.clone()));
    assert_eq!(
        letter.summary.reason,
        "error[order.quantity] at /lines/0/quantity: zero items"
    );
    assert_eq!(
        (letter.raw, letter.context),
        (Some(first.raw), Some(first.context)),
        "the input is kept"
    );
    assert_eq!((letter.summary.id, letter.summary.created_at), (id, now));

    let missing = id + 1000;
    assert_eq!(
        store.refuse_again(missing, diagnostics.clone()).await,
        Err(StoreError::NoSuchDeadLetter(missing))
    );
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    dead_lettered(store, "rest", now).await?;
    let undeliverable = store
        .dead_letters()
        .await?
        .into_iter()
        .find(|letter| letter.kind == DeadLetterKind::Undeliverable)
        .expect("the dead letter just made");
    assert_eq!(
        store.refuse_again(undeliverable.id, diagnostics).await,
        Err(StoreError::WrongKind {
            id: undeliverable.id,
            kind: DeadLetterKind::Undeliverable
        })
    );
    assert_eq!(
        store
            .dead_letter(undeliverable.id)
            .await?
            .map(|letter| letter.summary),
        Some(undeliverable)
    );
    Ok(())
}

pub async fn drop_dead_letter_drops_either_kind_once(store: &dyn Store) -> Outcome {
    let now = start();
    let refused = store.refuse(refusal("carts", Some("order-7"), now)).await?;
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    dead_lettered(store, "rest", now).await?;
    let undeliverable = store
        .dead_letters()
        .await?
        .into_iter()
        .find(|letter| letter.kind == DeadLetterKind::Undeliverable)
        .expect("the dead letter just made")
        .id;

    for id in [refused, undeliverable] {
        assert!(store.drop_dead_letter(id).await?, "dropping {id}");
        assert!(!store.drop_dead_letter(id).await?, "dropping {id} again");
        assert_eq!(store.dead_letter(id).await?, None);
    }
    assert_eq!(store.dead_letters().await?, []);
    let delivery = only_delivery(store, "doc-1").await?;
    assert_eq!(
        (delivery.state, delivery.dead_letter),
        (DeliveryState::Dead, None),
        "its delivery stays dead"
    );
    assert_eq!(
        store
            .claim("rest", ALL, now + TimeDelta::days(1), LEASE)
            .await?,
        []
    );
    Ok(())
}

pub async fn dead_letter_ids_are_never_reused(store: &dyn Store) -> Outcome {
    let now = start();
    let first = store.refuse(refusal("carts", None, now)).await?;
    let second = store.refuse(refusal("carts", None, now)).await?;
    assert!(store.drop_dead_letter(second).await?);
    let third = store.refuse(refusal("carts", None, now)).await?;
    assert!(
        first != second && third != first && third != second,
        "ids {first}, {second}, {third}"
    );
    Ok(())
}

pub async fn record_after_the_delivery_ended_keeps_the_first_end(store: &dyn Store) -> Outcome {
    let now = start();
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    let short = Duration::from_millis(100);
    let [slow] = claim_n_for(store, "rest", now, short).await?;
    let after_lease = now + TimeDelta::milliseconds(100);
    let [fast] = claim_n_for(store, "rest", after_lease, short).await?;
    assert_eq!(slow.id, fast.id);

    let delivered = attempt(after_lease, AttemptOutcome::Delivered, Some(200));
    store
        .record(fast.id, delivered.clone(), Next::Delivered)
        .await?;
    let timed_out = attempt(after_lease, AttemptOutcome::Temporary, None);
    store
        .record(slow.id, timed_out.clone(), Next::RetryAt(after_lease))
        .await?;

    let delivery = only_delivery(store, "doc-1").await?;
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert_eq!(
        delivery.attempts,
        [delivered, timed_out],
        "both attempts happened"
    );
    assert_eq!(
        store
            .claim("rest", ALL, now + TimeDelta::days(1), LEASE)
            .await?,
        []
    );
    Ok(())
}

pub async fn record_of_an_unknown_delivery_is_refused(store: &dyn Store) -> Outcome {
    let now = start();
    let unknown = 424_242;
    let answer = store
        .record(
            unknown,
            attempt(now, AttemptOutcome::Delivered, Some(200)),
            Next::Delivered,
        )
        .await;
    assert_eq!(answer, Err(StoreError::NoSuchDelivery(unknown)));
    Ok(())
}

pub async fn queue_stats_counts_pending_and_the_oldest(store: &dyn Store) -> Outcome {
    let now = start();
    assert_eq!(store.queue_stats(&[]).await?, []);
    let later = now + TimeDelta::seconds(5);
    store
        .accept(document(
            "doc-1",
            "carts",
            None,
            "a",
            later,
            &["rest", "ois"],
        ))
        .await?;
    store
        .accept(document("doc-2", "carts", None, "b", now, &["rest"]))
        .await?;
    // Claimed is still pending; delivered is not.
    claim_n::<1>(store, "ois", later).await?;
    store
        .accept(document("doc-3", "carts", None, "c", now, &["file"]))
        .await?;
    let [done] = claim_n(store, "file", now).await?;
    store
        .record(
            done.id,
            attempt(now, AttemptOutcome::Delivered, Some(200)),
            Next::Delivered,
        )
        .await?;

    let stats = store
        .queue_stats(&["stdout".to_owned(), "rest".to_owned()])
        .await?;
    assert_eq!(
        stats,
        [
            queue("ois", 1, Some(later)),
            queue("rest", 2, Some(now)),
            queue("stdout", 0, None),
        ]
    );
    Ok(())
}

pub async fn next_due_is_when_a_claim_would_next_return_something(store: &dyn Store) -> Outcome {
    let now = start();
    assert_eq!(store.next_due("rest").await?, None);
    store
        .accept(document("doc-1", "carts", None, "a", now, &["rest"]))
        .await?;
    store
        .accept(document(
            "doc-2",
            "carts",
            None,
            "b",
            now + TimeDelta::days(1),
            &["other"],
        ))
        .await?;
    assert_eq!(store.next_due("rest").await?, Some(now));

    let [claimed] = claim_n(store, "rest", now).await?;
    assert_eq!(
        store.next_due("rest").await?,
        Some(now + lease()),
        "claimed: when the lease ends"
    );
    let retry_at = now + TimeDelta::seconds(30);
    store
        .record(
            claimed.id,
            attempt(now, AttemptOutcome::Temporary, Some(429)),
            Next::RetryAt(retry_at),
        )
        .await?;
    assert_eq!(store.next_due("rest").await?, Some(retry_at));

    let sooner = now + TimeDelta::seconds(3);
    store
        .accept(document("doc-3", "carts", None, "c", sooner, &["rest"]))
        .await?;
    assert_eq!(store.next_due("rest").await?, Some(sooner), "the earliest");
    Ok(())
}

pub async fn prune_deletes_only_what_it_must(store: &dyn Store) -> Outcome {
    let old = start() - TimeDelta::days(30);
    let before = old + TimeDelta::days(1);

    // Old enough, and pruned: delivered; dead with its dead letter dropped.
    store
        .accept(document(
            "old-delivered",
            "carts",
            Some("k-delivered"),
            "a",
            old,
            &["rest"],
        ))
        .await?;
    let [claimed] = claim_n(store, "rest", old).await?;
    store
        .record(
            claimed.id,
            attempt(old, AttemptOutcome::Delivered, Some(200)),
            Next::Delivered,
        )
        .await?;
    store
        .accept(document("old-dropped", "carts", None, "b", old, &["rest"]))
        .await?;
    dead_lettered(store, "rest", old).await?;
    store
        .drop_dead_letter(only_dead_letter(store).await?)
        .await?;

    // Kept: old but dead with a live dead letter, old but one delivery still pending, too
    // new, and refused input (dead letters stay until dropped).
    store
        .accept(document("old-dead", "carts", None, "c", old, &["rest"]))
        .await?;
    dead_lettered(store, "rest", old).await?;
    store
        .accept(document(
            "old-pending",
            "carts",
            None,
            "d",
            old,
            &["rest", "ois"],
        ))
        .await?;
    let [partly] = claim_n(store, "rest", old).await?;
    store
        .record(
            partly.id,
            attempt(old, AttemptOutcome::Delivered, Some(200)),
            Next::Delivered,
        )
        .await?;
    store
        .accept(document(
            "new-delivered",
            "carts",
            None,
            "e",
            before,
            &["file"],
        ))
        .await?;
    let [new] = claim_n(store, "file", before).await?;
    store
        .record(
            new.id,
            attempt(before, AttemptOutcome::Delivered, Some(200)),
            Next::Delivered,
        )
        .await?;
    let refused = store
        .refuse(refusal("carts", Some("k-refused"), old))
        .await?;

    assert_eq!(
        store.prune(before, 1).await?,
        1,
        "at most `limit` at a time"
    );
    assert_eq!(store.prune(before, 100).await?, 1);
    for pruned in ["old-delivered", "old-dropped"] {
        assert_nothing_of(store, pruned).await?;
    }
    for kept in ["old-dead", "old-pending", "new-delivered"] {
        assert_eq!(
            store.trace(kept).await?.documents.len(),
            1,
            "{kept} is kept"
        );
    }
    assert!(store.dead_letter(refused).await?.is_some());
    assert_eq!(store.prune(before, 100).await?, 0, "nothing more to prune");
    let again = document(
        "again",
        "carts",
        Some("k-delivered"),
        "other content",
        before,
        &["rest"],
    );
    assert_eq!(
        store.accept(again).await?,
        Acceptance::Accepted,
        "a pruned document's key is free"
    );
    Ok(())
}

pub async fn trace_finds_documents_and_refusals_by_id_or_key(store: &dyn Store) -> Outcome {
    let now = start();
    let second = now + TimeDelta::seconds(1);
    store
        .accept(document(
            "doc-b",
            "punchout",
            Some("order-7"),
            "b",
            second,
            &["rest"],
        ))
        .await?;
    store
        .accept(document(
            "doc-a",
            "carts",
            Some("order-7"),
            "a",
            now,
            &["rest"],
        ))
        .await?;
    store
        .accept(document(
            "doc-c",
            "carts",
            Some("order-8"),
            "c",
            now,
            &["rest"],
        ))
        .await?;
    let refused = store.refuse(refusal("carts", Some("order-7"), now)).await?;
    store.refuse(refusal("carts", Some("order-8"), now)).await?;

    let by_key = store.trace("order-7").await?;
    let found: Vec<_> = by_key
        .documents
        .iter()
        .map(|document| document.id.as_str())
        .collect();
    assert_eq!(found, ["doc-a", "doc-b"], "by key, oldest first");
    let refusals: Vec<_> = by_key
        .refusals
        .iter()
        .map(|letter| letter.summary.id)
        .collect();
    assert_eq!(refusals, [refused]);
    assert!(by_key.refusals[0].raw.is_some(), "a refusal whole");

    let by_id = store.trace("doc-c").await?;
    assert_eq!(by_id.documents.len(), 1);
    assert_eq!(
        (by_id.documents[0].key.as_deref(), by_id.refusals.len()),
        (Some("order-8"), 0)
    );
    assert_nothing_of(store, "order-9").await?;
    Ok(())
}

// Punchout sessions (the `oci_gateway` service).

pub async fn punchout_sessions_are_found_by_id_or_token_hash(store: &dyn Store) -> Outcome {
    let t = start();
    store
        .open_punchout_session(session("s-1", "hash-1", t, t + TimeDelta::hours(4)))
        .await?;
    store
        .open_punchout_session(session(
            "s-2",
            "hash-2",
            t + TimeDelta::seconds(1),
            t + TimeDelta::hours(4),
        ))
        .await?;
    let by_id = store
        .punchout_session(SessionLookup::Id("s-1".into()))
        .await?
        .expect("s-1 by id");
    assert_eq!(by_id.account, "buyer01");
    assert_eq!(by_id.created_at, t);
    assert_eq!(by_id.expires_at, t + TimeDelta::hours(4));
    assert_eq!(by_id.fields["hook_url"], "https://srm.example/hook");
    assert_eq!(by_id.cart, None);
    let by_hash = store
        .punchout_session(SessionLookup::TokenHash("hash-1".into()))
        .await?;
    assert_eq!(by_hash.as_ref(), Some(&by_id));
    // A token digest is no id, and an id no token digest.
    assert_eq!(
        store
            .punchout_session(SessionLookup::Id("hash-1".into()))
            .await?,
        None
    );
    assert_eq!(
        store
            .punchout_session(SessionLookup::TokenHash("s-1".into()))
            .await?,
        None
    );
    let listed: Vec<String> = store
        .punchout_sessions(10)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["s-2", "s-1"], "the newest first");
    assert_eq!(store.punchout_sessions(1).await?.len(), 1);
    Ok(())
}

pub async fn a_punchout_session_returns_one_cart(store: &dyn Store) -> Outcome {
    let t = start();
    store
        .open_punchout_session(session("s-1", "hash-1", t, t + TimeDelta::hours(4)))
        .await?;
    let mut first = document(
        "cart-1",
        "punchout.carts",
        Some("s-1"),
        "cart one",
        t,
        &["a"],
    );
    first.reply = page("first page");
    assert_eq!(
        store.return_punchout_cart("hash-1", first, t).await?,
        CartReturn::Returned(Acceptance::Accepted)
    );
    let mut second = document("cart-2", "punchout.carts", None, "cart two", t, &["a"]);
    second.reply = page("second page");
    assert_eq!(
        store.return_punchout_cart("hash-1", second, t).await?,
        CartReturn::AlreadyReturned {
            document: "cart-1".into(),
            page: page("first page"),
        }
    );
    assert_eq!(ids(&claim_n::<1>(store, "a", t).await?).len(), 1);
    assert_nothing_of(store, "cart-2").await?;
    let returned = store
        .punchout_session(SessionLookup::Id("s-1".into()))
        .await?
        .and_then(|s| s.cart)
        .expect("the session holds its cart");
    assert_eq!(returned.document, "cart-1");
    assert_eq!(returned.page, page("first page"));
    Ok(())
}

pub async fn an_expired_or_unknown_punchout_session_returns_no_cart(store: &dyn Store) -> Outcome {
    let t = start();
    store
        .open_punchout_session(session("s-1", "hash-1", t, t + TimeDelta::hours(1)))
        .await?;
    let cart = document("cart-1", "punchout.carts", Some("s-1"), "cart", t, &["a"]);
    assert_eq!(
        store
            .return_punchout_cart("hash-1", cart.clone(), t + TimeDelta::hours(1))
            .await?,
        CartReturn::Expired
    );
    assert_eq!(
        store
            .return_punchout_cart("hash-9", cart.clone(), t)
            .await?,
        CartReturn::Unknown
    );
    assert_nothing_of(store, "cart-1").await?;
    // Still open before it expires.
    assert_eq!(
        store
            .return_punchout_cart("hash-1", cart, t + TimeDelta::minutes(59))
            .await?,
        CartReturn::Returned(Acceptance::Accepted)
    );
    Ok(())
}

pub async fn prune_punchout_sessions_deletes_only_the_expired(store: &dyn Store) -> Outcome {
    let t = start();
    store
        .open_punchout_session(session("old", "hash-1", t, t + TimeDelta::hours(1)))
        .await?;
    store
        .open_punchout_session(session("new", "hash-2", t, t + TimeDelta::hours(5)))
        .await?;
    let cart = document("cart-1", "punchout.carts", Some("old"), "cart", t, &["a"]);
    store.return_punchout_cart("hash-1", cart, t).await?;
    assert_eq!(
        store
            .prune_punchout_sessions(t + TimeDelta::hours(2), 10)
            .await?,
        1
    );
    assert_eq!(
        store
            .punchout_session(SessionLookup::Id("old".into()))
            .await?,
        None
    );
    assert!(
        store
            .punchout_session(SessionLookup::Id("new".into()))
            .await?
            .is_some()
    );
    assert_eq!(
        store.trace("cart-1").await?.documents.len(),
        1,
        "the cart stays"
    );
    Ok(())
}

fn session(
    id: &str,
    token_hash: &str,
    created_at: Timestamp,
    expires_at: Timestamp,
) -> NewPunchoutSession {
    NewPunchoutSession {
        id: id.to_owned(),
        token_hash: token_hash.to_owned(),
        service: "punchout".to_owned(),
        account: "buyer01".to_owned(),
        created_at,
        expires_at,
        fields: json!({"hook_url": "https://srm.example/hook", "charset": "ISO-8859-1"}),
    }
}

fn page(text: &str) -> Reply {
    Reply {
        status: 200,
        content_type: "text/html; charset=UTF-8".to_owned(),
        body: text.as_bytes().to_vec(),
    }
}

// ---- A served webservice's state ----

pub async fn service_catalogue_adds_and_updates_as_asked(store: &dyn Store) -> Outcome {
    let at = start();
    let put = |service: &'static str, kind, sku: &'static str, name: &str, mode| {
        let document = product_json(sku, name);
        async move {
            store
                .service_put_product(service, kind, sku, document, mode, at)
                .await
        }
    };
    let Put::Done { id } = put("erp", Product, "A-1", "first", PutMode::Add).await? else {
        panic!("a new SKU is added");
    };
    assert_eq!(
        put("erp", Product, "A-1", "again", PutMode::Add).await?,
        Put::Exists { id }
    );
    assert_eq!(
        put("erp", Product, "B-1", "unknown", PutMode::Update).await?,
        Put::Unknown
    );
    assert_eq!(store.service_product("erp", Product, "B-1").await?, None);
    let later = at + TimeDelta::seconds(5);
    let updated = store
        .service_put_product(
            "erp",
            Product,
            "A-1",
            product_json("A-1", "second"),
            PutMode::Update,
            later,
        )
        .await?;
    assert_eq!(updated, Put::Done { id }, "an update keeps the id");
    let stored = store
        .service_product("erp", Product, "A-1")
        .await?
        .expect("stored");
    assert_eq!(
        (stored.id, stored.document, stored.updated_at),
        (id, product_json("A-1", "second"), later)
    );
    // Options, and other services, are catalogues of their own.
    assert!(matches!(
        put("erp", CatalogueKind::Option, "A-1", "option", PutMode::Add).await?,
        Put::Done { id: other } if other != id
    ));
    assert!(matches!(
        put("shop-2", Product, "A-1", "elsewhere", PutMode::Upsert).await?,
        Put::Done { .. }
    ));
    assert_eq!(
        put("erp", Product, "A-1", "upserted", PutMode::Upsert).await?,
        Put::Done { id }
    );
    let listed = store.service_list_products("erp", Product, 0, None).await?;
    assert_eq!(
        listed,
        [CatalogueEntry {
            id,
            sku: "A-1".into()
        }]
    );
    Ok(())
}

pub async fn service_catalogue_pages_are_stable(store: &dyn Store) -> Outcome {
    let at = start();
    let mut ids = Vec::new();
    for sku in ["P-5", "P-3", "P-1", "P-4", "P-2"] {
        match store
            .service_put_product(
                "erp",
                Product,
                sku,
                product_json(sku, sku),
                PutMode::Add,
                at,
            )
            .await?
        {
            Put::Done { id } => ids.push((id, sku)),
            other => panic!("{sku}: {other:?}"),
        }
    }
    let page = |offset, count| store.service_list_products("erp", Product, offset, count);
    let skus = |entries: Vec<CatalogueEntry>| -> Vec<String> {
        entries.into_iter().map(|e| e.sku).collect()
    };
    // In the order they were added, whatever their SKUs.
    assert_eq!(skus(page(0, Some(2)).await?), ["P-5", "P-3"]);
    let first = page(0, Some(2)).await?;
    assert!(first[0].id < first[1].id);
    // An update does not move an entry; an addition comes last.
    store
        .service_put_product(
            "erp",
            Product,
            "P-5",
            product_json("P-5", "new"),
            PutMode::Update,
            at,
        )
        .await?;
    store
        .service_put_product(
            "erp",
            Product,
            "P-0",
            product_json("P-0", "P-0"),
            PutMode::Add,
            at,
        )
        .await?;
    assert_eq!(skus(page(2, Some(2)).await?), ["P-1", "P-4"]);
    assert_eq!(skus(page(4, Some(2)).await?), ["P-2", "P-0"]);
    assert_eq!(skus(page(6, Some(2)).await?), Vec::<String>::new());
    assert_eq!(skus(page(3, None).await?), ["P-4", "P-2", "P-0"]);
    assert_eq!(page(0, None).await?.len(), 6);
    assert_eq!(page(u64::MAX, Some(1)).await?, []);
    assert!(
        store
            .service_list_products("erp", CatalogueKind::Option, 0, None)
            .await?
            .is_empty()
    );
    Ok(())
}

pub async fn service_orders_wait_until_exported(store: &dyn Store) -> Outcome {
    let at = start();
    let mut ids = Vec::new();
    for (document, state) in [("doc-1", "1"), ("doc-2", "2"), ("doc-3", "3")] {
        ids.push(
            store
                .service_add_order("erp", new_order(document, state, at))
                .await?,
        );
    }
    assert!(ids[0] < ids[1] && ids[1] < ids[2]);
    // The same document again: the same order.
    assert_eq!(
        store
            .service_add_order("erp", new_order("doc-2", "9", at))
            .await?,
        ids[1]
    );
    let listed = |states: &'static [&'static str]| {
        let states: Vec<String> = states.iter().map(|s| (*s).to_owned()).collect();
        async move {
            store.service_list_orders("erp", &states).await.map(|refs| {
                refs.into_iter()
                    .map(|r| (r.id, r.state))
                    .collect::<Vec<_>>()
            })
        }
    };
    let all: Vec<(i64, String)> = ids
        .iter()
        .zip(["1", "2", "3"])
        .map(|(id, state)| (*id, state.to_owned()))
        .collect();
    assert_eq!(listed(&[]).await?, all);
    assert_eq!(
        listed(&["3", "1", "3"]).await?,
        [all[0].clone(), all[2].clone()]
    );
    assert_eq!(listed(&["7"]).await?, []);

    let later = at + TimeDelta::seconds(3);
    let exported = store
        .service_mark_exported("erp", ids[1], Some("4"), later)
        .await?
        .expect("the order exists");
    assert_eq!(
        (exported.state.as_str(), exported.exported_at),
        ("4", Some(later))
    );
    assert_eq!(listed(&[]).await?, [all[0].clone(), all[2].clone()]);
    assert_eq!(
        listed(&["4"]).await?,
        [],
        "an exported order is listed no more"
    );
    // Marked again: the first time stands, the state follows.
    let again = store
        .service_mark_exported("erp", ids[1], None, later + TimeDelta::seconds(1))
        .await?
        .expect("the order exists");
    assert_eq!(
        (again.state.as_str(), again.exported_at),
        ("4", Some(later))
    );
    let order = store.service_order("erp", ids[0]).await?.expect("stored");
    assert_eq!(
        (
            order.document.as_str(),
            order.order,
            order.received_at,
            order.exported_at
        ),
        ("doc-1", order_json("doc-1"), at, None)
    );
    assert_eq!(
        store
            .service_mark_exported("erp", 999_999, None, at)
            .await?,
        None
    );
    assert_eq!(store.service_order("shop-2", ids[0]).await?, None);
    assert_eq!(
        store.service_list_orders("shop-2", &[]).await?,
        [],
        "another service has no orders"
    );
    Ok(())
}

pub async fn service_tracking_numbers_are_kept_once_each(store: &dyn Store) -> Outcome {
    let at = start();
    let id = store
        .service_add_order("erp", new_order("doc-1", "1", at))
        .await?;
    for number in ["TRK-1", "TRK-2", "TRK-1"] {
        store
            .service_add_tracking("erp", id, number, at)
            .await?
            .expect("the order exists");
    }
    let order = store.service_order("erp", id).await?.expect("stored");
    assert_eq!(order.tracking, ["TRK-1", "TRK-2"]);
    assert_eq!(
        store
            .service_add_tracking("erp", id + 1, "TRK-3", at)
            .await?,
        None
    );
    assert_eq!(
        store
            .service_add_tracking("shop-2", id, "TRK-3", at)
            .await?,
        None
    );
    Ok(())
}

pub async fn service_customers_are_listed_by_date(store: &dyn Store) -> Outcome {
    let t1 = start();
    let (t2, t3) = (t1 + TimeDelta::days(1), t1 + TimeDelta::days(2));
    let customer = |id: &str, name: &str| {
        (
            id.to_owned(),
            format!(r#"{{"id":"{id}","last_name":"{name}"}}"#).into_bytes(),
        )
    };
    store
        .service_put_customers("erp", vec![customer("A", "a"), customer("B", "b")], t1)
        .await?;
    store
        .service_put_customers("erp", vec![customer("C", "c")], t2)
        .await?;
    store
        .service_put_customers("erp", vec![customer("A", "a, again")], t3)
        .await?;
    let ids = |customers: Vec<crate::service::StoredCustomer>| -> Vec<String> {
        customers.into_iter().map(|c| c.id).collect()
    };
    assert_eq!(
        ids(store.service_list_customers("erp", None).await?),
        ["B", "C", "A"]
    );
    assert_eq!(
        ids(store.service_list_customers("erp", Some(t2)).await?),
        ["C", "A"]
    );
    let since_t3 = store.service_list_customers("erp", Some(t3)).await?;
    assert_eq!(since_t3.len(), 1);
    assert_eq!(
        (since_t3[0].document.clone(), since_t3[0].updated_at),
        (customer("A", "a, again").1, t3)
    );
    assert!(
        store
            .service_list_customers("shop-2", None)
            .await?
            .is_empty()
    );
    Ok(())
}

pub async fn service_price_rules_and_sales_documents_are_replaced_by_key(
    store: &dyn Store,
) -> Outcome {
    let at = start();
    let rule = |key: &str, price: &str| {
        (
            key.to_owned(),
            format!(r#"{{"id":"{key}","price":"{price}"}}"#).into_bytes(),
        )
    };
    store
        .service_put_price_rules("erp", vec![rule("G2", "2"), rule("G1", "1")], at)
        .await?;
    store
        .service_put_price_rules("erp", vec![rule("G2", "20")], at)
        .await?;
    let rules = store.service_price_rules("erp").await?;
    let found: Vec<(String, Vec<u8>)> = rules.into_iter().map(|r| (r.key, r.document)).collect();
    assert_eq!(found, [rule("G1", "1"), rule("G2", "20")]);
    assert!(store.service_price_rules("shop-2").await?.is_empty());

    let invoice = |pdf: Option<&[u8]>, at| crate::service::SalesDocument {
        reference: "FA-1".into(),
        document: order_json("FA-1"),
        pdf: pdf.map(<[u8]>::to_vec),
        received_at: at,
    };
    let pdf = b"%PDF-1.4 \x00\xff binary".as_slice();
    store
        .service_put_sales_document("erp", invoice(Some(b"%PDF-1.4 old"), at))
        .await?;
    let later = at + TimeDelta::seconds(1);
    store
        .service_put_sales_document("erp", invoice(Some(pdf), later))
        .await?;
    assert_eq!(
        store.service_sales_document("erp", "FA-1").await?,
        Some(invoice(Some(pdf), later))
    );
    store
        .service_put_sales_document("erp", invoice(None, later))
        .await?;
    assert_eq!(
        store.service_sales_document("erp", "FA-1").await?,
        Some(invoice(None, later))
    );
    assert_eq!(store.service_sales_document("shop-2", "FA-1").await?, None);
    Ok(())
}

fn product_json(sku: &str, name: &str) -> Vec<u8> {
    format!(r#"{{"contract":"product/v1","sku":"{sku}","text":{{"name":"{name}"}}}}"#).into_bytes()
}

fn order_json(reference: &str) -> Vec<u8> {
    format!(r#"{{"contract":"order/v1","reference":"{reference}"}}"#).into_bytes()
}

fn new_order(document: &str, state: &str, at: Timestamp) -> crate::service::NewServiceOrder {
    crate::service::NewServiceOrder {
        document: document.to_owned(),
        state: state.to_owned(),
        order: order_json(document),
        received_at: at,
    }
}

/// A time to start from: the wall clock's, in whole milliseconds.
fn start() -> Timestamp {
    Utc::now().trunc_subsecs(3)
}

fn lease() -> TimeDelta {
    TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::MAX)
}

/// A document of `content` with one delivery per sink, keyed `<id>:<sink>`.
fn document(
    id: &str,
    source: &str,
    key: Option<&str>,
    content: &str,
    received_at: Timestamp,
    sinks: &[&str],
) -> Incoming {
    Incoming {
        id: id.to_owned(),
        source: source.to_owned(),
        key: key.map(str::to_owned),
        content_hash: format!("digest of {content}"),
        received_at,
        raw: content.as_bytes().to_vec(),
        context: json!({"content_type": "application/x-www-form-urlencoded"}),
        reply: Reply {
            status: 202,
            content_type: "application/json".to_owned(),
            body: format!(r#"{{"id":"{id}"}}"#).into_bytes(),
        },
        deliveries: sinks
            .iter()
            .map(|sink| NewDelivery {
                sink: (*sink).to_owned(),
                key: format!("{id}:{sink}"),
                payload: format!(r#"{{"contract":"order/v1","for":"{sink}","id":"{id}"}}"#)
                    .into_bytes(),
            })
            .collect(),
    }
}

fn refusal(source: &str, key: Option<&str>, received_at: Timestamp) -> Refusal {
    Refusal {
        source: source.to_owned(),
        key: key.map(str::to_owned),
        received_at,
        raw: b"NEW_ITEM-DESCRIPTION[1]=Pen&NEW_ITEM-PRICE[1]=".to_vec(),
        context: json!({"content_type": "application/x-www-form-urlencoded"}),
        diagnostics: json!([
            {"severity": "error", "path": "NEW_ITEM-PRICE[1]", "code": "oci.missing_field", "message": "the price is missing"},
            {"severity": "warning", "path": "NEW_ITEM-UNIT[1]", "code": "oci.unit", "message": "no unit"},
        ]),
    }
}

fn attempt(at: Timestamp, outcome: AttemptOutcome, status: Option<u16>) -> Attempt {
    Attempt {
        at,
        duration_ms: 12,
        outcome,
        status,
        detail: format!("{outcome:?} at {at}"),
    }
}

fn queue(sink: &str, pending: u64, oldest_pending_at: Option<Timestamp>) -> QueueStats {
    QueueStats {
        sink: sink.to_owned(),
        pending,
        oldest_pending_at,
    }
}

/// Claims `sink`'s due deliveries at `now`, which must be exactly `N`.
async fn claim_n<const N: usize>(
    store: &dyn Store,
    sink: &str,
    now: Timestamp,
) -> Result<[Claimed; N], StoreError> {
    claim_n_for(store, sink, now, LEASE).await
}

async fn claim_n_for<const N: usize>(
    store: &dyn Store,
    sink: &str,
    now: Timestamp,
    lease: Duration,
) -> Result<[Claimed; N], StoreError> {
    let claimed = store.claim(sink, ALL, now, lease).await?;
    Ok(claimed.try_into().unwrap_or_else(|claimed: Vec<_>| {
        panic!("expected {N} deliveries of {sink} due at {now}, claimed {claimed:?}")
    }))
}

/// Claims `sink`'s one due delivery at `now` and gives it up after three attempts, the
/// last permanent: its id and the attempts, in order.
async fn dead_lettered(
    store: &dyn Store,
    sink: &str,
    now: Timestamp,
) -> Result<(i64, Vec<Attempt>), StoreError> {
    let mut attempts = Vec::new();
    let mut at = now;
    for (outcome, status) in [
        (AttemptOutcome::Temporary, Some(503)),
        (AttemptOutcome::Temporary, None),
    ] {
        let [claimed] = claim_n(store, sink, at).await?;
        let tried = attempt(at, outcome, status);
        at += TimeDelta::seconds(1);
        store
            .record(claimed.id, tried.clone(), Next::RetryAt(at))
            .await?;
        attempts.push(tried);
    }
    let [claimed] = claim_n(store, sink, at).await?;
    let last = attempt(at, AttemptOutcome::Permanent, Some(400));
    let reason = "400 Bad Request:\n  the order has no lines\n".to_owned();
    store
        .record(claimed.id, last.clone(), Next::DeadLetter { reason })
        .await?;
    attempts.push(last);
    Ok((claimed.id, attempts))
}

async fn only_dead_letter(store: &dyn Store) -> Result<i64, StoreError> {
    let letters = store.dead_letters().await?;
    let [letter] = &letters[..] else {
        panic!("expected one dead letter, found {letters:?}");
    };
    Ok(letter.id)
}

async fn only_delivery(
    store: &dyn Store,
    document: &str,
) -> Result<crate::DeliveryTrace, StoreError> {
    let trace = store.trace(document).await?;
    let [found] = &trace.documents[..] else {
        panic!("trace of {document} found {:?}", trace.documents);
    };
    let [delivery] = &found.deliveries[..] else {
        panic!("{document} has deliveries {:?}", found.deliveries);
    };
    Ok(delivery.clone())
}

async fn assert_nothing_of(store: &dyn Store, id_or_key: &str) -> Outcome {
    let trace = store.trace(id_or_key).await?;
    assert_eq!(
        (trace.documents, trace.refusals),
        (vec![], vec![]),
        "trace of {id_or_key}"
    );
    Ok(())
}

fn without_id(claimed: &Claimed) -> Claimed {
    Claimed {
        id: 0,
        ..claimed.clone()
    }
}

fn ids(claimed: &[Claimed]) -> Vec<i64> {
    claimed.iter().map(|delivery| delivery.id).collect()
}

fn documents(claimed: &[Claimed]) -> Vec<&str> {
    claimed
        .iter()
        .map(|delivery| delivery.document.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    /// A property written but left out of the macro would never run anywhere.
    #[test]
    fn every_property_is_in_the_macro() {
        let listed: &[&str] = crate::store_conformance_tests!(@list names);
        let written: Vec<&str> = include_str!("conformance.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("pub async fn "))
            .filter_map(|rest| rest.split('(').next())
            .collect();
        assert!(written.len() >= 25, "found only {written:?}");
        assert_eq!(
            listed, written,
            "the macro's list and the properties, in order"
        );
    }
}
