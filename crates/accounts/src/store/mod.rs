//! The rows of accounts' tables, read and written: every query on `users`,
//! `organizations`, `memberships`, `recovery_codes` and `credentials` that a
//! service runs is a function here. Sessions, one-time tokens and throttles
//! keep their own modules ([`crate::sessions`], [`crate::tokens`],
//! [`crate::throttle`]), which own those tables the same way.
//!
//! Services and handlers name the rows by the aliases below, never the
//! entities.

pub mod credentials;
pub mod memberships;
pub mod organizations;
pub mod users;

pub use dentex_db::entities::credential::Model as Credential;
pub use dentex_db::entities::membership::Model as Membership;
pub use dentex_db::entities::organization::Model as Organization;
pub use dentex_db::entities::user::Model as User;
