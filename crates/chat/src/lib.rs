//! `dentex-chat`: the conversation of a clinic with each lab about a case,
//! and the live event stream every client screen listens to.
//!
//! - Threads ([`service::threads`]): one per (case, lab), there as soon as
//!   the case is open to the lab. Access is the case's
//!   (`dentex_cases::access`), asked on every read and every delivery: a
//!   lab that lost the case loses its thread at once (404).
//! - Messages ([`service::messages`]): plain text with attachments (files
//!   of the case the thread may carry), ordered by a per-thread sequence
//!   number taken under the thread's row lock in the writing transaction;
//!   the sender may delete a message within 15 minutes (a tombstone stays).
//!   System messages ([`service::system`]) are written by the market's
//!   services in their own transactions.
//! - Read marks ([`service::marks`]) only move forward; unread counts are
//!   derived (the thread's last sequence minus the person's mark).
//! - [`notices`]: the job that mails a person one notice per thread and
//!   window when messages wait unread (the case id and a link, nothing else).
//! - The live stream ([`service::live`], `GET /api/v1/events`): Server-Sent
//!   Events from `dentex-events`, resumable with `Last-Event-ID`, with
//!   single-use tickets for browsers' `EventSource`.
//!
//! The tree every feature crate follows: [`http`] → [`service`] →
//! [`store`]; [`policy`] decides, [`codes`] is the catalogue, [`state`]
//! what the services need.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod codes;
pub mod hooks;
pub mod http;
pub mod notices;
pub mod policy;
pub mod privacy;
pub mod service;
pub mod state;
pub(crate) mod store;

pub use state::{ChatConfig, ChatState};

/// Every thread, message and event-stream route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    http::configure(cfg);
}
