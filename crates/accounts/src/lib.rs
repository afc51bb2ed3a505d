//! `dentex-accounts` owns who someone is: users, passwords (Argon2id, hashed off
//! the async threads), sessions (random 256-bit bearer tokens stored as SHA-256,
//! with absolute and idle expiry, revocable on the server), platform staff, and
//! the [`Principal`] extractor: a handler that takes a `Principal` only runs for
//! a live session of an existing user, checked again on every request.
//! It also owns organisations, members and invitations, and the authorisation
//! policy ([`policy`]) that every handler asks.

pub mod codes;
pub mod http;
pub mod locks;
pub mod mfa;
pub mod password;
pub mod policy;
pub mod principal;
pub mod sessions;
pub mod staff;
pub mod state;
pub mod sweep;
pub mod throttle;
pub mod tokens;
pub mod verification;

pub use http::configure;
pub use principal::{Actor, Principal, audit_in};
pub use state::AccountsState;
