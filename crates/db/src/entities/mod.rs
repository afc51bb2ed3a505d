//! sea-orm entities, one module per table.

pub mod audit_event;
pub mod audit_head;
pub mod job;
pub mod session;
pub mod user;
