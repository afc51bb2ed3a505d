//! sea-orm entities, one module per table.

pub mod audit_event;
pub mod audit_head;
pub mod case;
pub mod case_file;
pub mod case_lab;
pub mod case_upload;
pub mod credential;
pub mod idempotency_key;
pub mod job;
pub mod login_throttle;
pub mod membership;
pub mod one_time_token;
pub mod order;
pub mod order_transition;
pub mod organization;
pub mod quote;
pub mod quote_version;
pub mod recovery_code;
pub mod session;
pub mod user;
