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

use dentex_db::entities::quote;
use dentex_db::now;
use dentex_http::ApiError;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

pub use dentex_db::entities::credential::Model as Credential;
pub use dentex_db::entities::membership::Model as Membership;
pub use dentex_db::entities::organization::Model as Organization;
pub use dentex_db::entities::user::Model as User;

/// The median turnaround of a lab's quotes (any outcome but withdrawn) over
/// the last year.
///
/// The one read of another crate's table: `quotes` belongs to `dentex-market`,
/// and this function moves there (the labs list will ask the market for it).
pub async fn typical_turnaround<C: ConnectionTrait>(db: &C, lab: Uuid) -> Result<Option<i32>, ApiError> {
    let since = now() - chrono::Duration::days(365);
    let mut days: Vec<i32> = quote::Entity::find()
        .select_only()
        .column(quote::Column::TurnaroundDays)
        .filter(quote::Column::LabOrgId.eq(lab))
        .filter(quote::Column::Status.ne(dentex_domain::QuoteStatus::Withdrawn.as_str()))
        .filter(quote::Column::CreatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    if days.is_empty() {
        return Ok(None);
    }
    days.sort_unstable();
    Ok(Some(days[days.len() / 2]))
}
