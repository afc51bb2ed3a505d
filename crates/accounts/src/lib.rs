#![cfg_attr(not(test), warn(clippy::too_many_lines))]
//! `dentex-accounts` owns who someone is: users, passwords (Argon2id, hashed off
//! the async threads), sessions (random 256-bit bearer tokens stored as SHA-256,
//! with absolute and idle expiry, revocable on the server), platform staff, and
//! the [`Principal`] extractor: a handler that takes a `Principal` only runs for
//! a live session of an existing user, checked again on every request.
//! It also owns organisations, members and invitations, professional
//! credentials, and the authorisation policy ([`policy`]) that every handler asks.
//!
//! Where things are:
//!
//! - [`http`]: the routes ([`configure`]), one file per resource; handlers
//!   extract, call one service and build the view.
//! - [`service`]: the rules, one function per action, over the database and
//!   the typed caller ([`Actor`]).
//! - [`store`]: the queries on accounts' tables (with [`sessions`],
//!   [`tokens`] and [`throttle`], which own theirs).
//! - [`policy`] (who may do what), [`verification`] (whether an organisation
//!   is verified), [`sweep`] (the daily credential expiry job), [`staff`]
//!   (staff accounts from the CLI), [`password`] and [`mfa`] (the pure rules
//!   of passwords and TOTP), [`validate`] (declared field rules as field errors).

pub mod codes;
pub mod http;
pub mod locks;
pub mod mfa;
pub mod mfa_keys;
pub mod password;
pub mod policy;
pub mod principal;
pub mod privacy;
pub mod service;
pub mod sessions;
pub mod staff;
pub mod state;
pub mod store;
pub mod sweep;
pub mod throttle;
pub mod tokens;
pub mod validate;
pub mod verification;

pub use http::configure;
pub use principal::{Actor, Origin, Principal, SignedIn, audit_in};
pub use state::AccountsState;
