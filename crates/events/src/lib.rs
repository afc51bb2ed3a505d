//! `dentex-events`: what a client shows live (a message, a quote, an order's
//! move, a scan's report) as events, with the database as the truth.
//!
//! - [`outbox`]: a change writes its events in its own transaction
//!   ([`Outbox::write_in`]), one row per receiving organisation, at the next
//!   position of that organisation's stream. The position is taken under the
//!   stream's row lock (`event_streams`), held until commit, so positions
//!   commit in order: a reader of "after n" never skips an event that
//!   commits late. On PostgreSQL the transaction also sends `NOTIFY`
//!   (organisation and position only), delivered at commit.
//! - [`hub`]: one per process. It listens (`LISTEN` on PostgreSQL; the
//!   in-process [`committed`] wake on either backend; a one-second poll
//!   besides), reads what is new for the organisations it has subscribers
//!   for, asks its [`Gate`] once per organisation and batch what that
//!   organisation may still see, and hands each event to the subscribers'
//!   bounded buffers. A subscriber that cannot keep up is dropped (its
//!   client resumes from its cursor).
//! - [`store`]: the crate's queries, the reads after a cursor included.
//! - [`purge`]: the job that removes events older than `events.keep_secs`.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod hub;
pub mod outbox;
pub mod privacy;
pub mod purge;
pub mod store;

pub use hub::{Delivered, Gate, Hub, HubConfig, Subscription};
pub use outbox::{Outbox, Recipient, committed};

/// The job that purges old events.
pub const PURGE_JOB: &str = "events.purge";

/// The `NOTIFY` channel of the outbox.
pub const CHANNEL: &str = "dentex_events";
