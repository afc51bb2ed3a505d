//! The only code that runs queries on chat's tables (`chat_*`,
//! `event_tickets`).

pub mod messages;
pub mod notices;
pub mod threads;
pub mod tickets;
