//! Keeping sister platforms in sync with the person (issue 12): every change
//! a platform may care about writes a change event in the same transaction
//! as the change (a transactional outbox, [`outbox`]), and a delivery worker
//! posts each event to the platforms the person uses, signed in the
//! Standard Webhooks format ([`webhook`], [`deliver`]). Atrium's own open
//! tabs hear of the same changes through [`live`].

pub mod deliver;
pub mod live;
pub mod outbox;
pub mod status;
pub mod webhook;

/// A delivery that has not succeeded within this long is dead-lettered.
pub const RETRY_FOR_SECS: i64 = 24 * 3600;
/// A platform must answer a webhook within this long; a 2xx is delivered.
pub const DELIVERY_TIMEOUT_SECS: u64 = 10;
/// A claimed delivery is another worker's to take after this long (the
/// claiming process died mid-delivery); `WEBHOOK_LEASE_SECS` by default.
pub const LEASE_SECS: i64 = 60;
/// The first retry waits this long; each further one twice as long.
pub const FIRST_RETRY_SECS: i64 = 5;
/// No retry waits longer than this.
pub const MAX_RETRY_SECS: i64 = 3600;
/// Deliveries claimed per pass of the worker.
pub const BATCH: i64 = 16;
