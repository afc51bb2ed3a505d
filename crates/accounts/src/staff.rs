//! Platform staff accounts (`support`, `platform_admin`), created from the
//! command line by an operator: staff belong to no organisation.

use crate::store::{self, users::NewUser};
use dentex_audit::{ActorKind, AuditEvent, Outcome};
use dentex_db::is_unique_violation;
use dentex_domain::{Email, StaffRole, UserId};
use sea_orm::DatabaseConnection;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{0}")]
    Invalid(String),
    #[error("an account with this e-mail address already exists")]
    Exists,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Hash(#[from] crate::password::HashError),
    #[error(transparent)]
    Audit(#[from] dentex_audit::AuditError),
}

pub async fn create_staff(
    db: &DatabaseConnection,
    email: &str,
    display_name: &str,
    role: StaffRole,
    password: String,
) -> Result<UserId, StaffError> {
    let email = Email::parse(email).map_err(|e| StaffError::Invalid(format!("--email: {e}")))?;
    crate::password::check_new("password", &password, &[email.as_str()])
        .map_err(|e| StaffError::Invalid(format!("password: {}", e.message)))?;
    let hash = crate::password::hash(password).await?;
    let id = UserId::new();
    // The account and its audit row commit together.
    let txn = dentex_db::begin_write(db).await?;
    let staff = NewUser {
        id,
        email: email.as_str(),
        display_name,
        password_hash: hash,
        staff_role: Some(role),
        verified: true,
    };
    let res = store::users::insert(&txn, staff).await;
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(StaffError::Exists),
        Err(e) => return Err(e.into()),
    }
    let mut ev = AuditEvent::new("staff.create", "user", Outcome::Success);
    ev.actor_kind = ActorKind::System;
    ev.resource_id = Some(id.to_string());
    ev.reason = Some(format!("created with role {role} from the command line"));
    dentex_audit::append_in(&txn, &[ev]).await?;
    txn.commit().await?;
    Ok(id)
}
