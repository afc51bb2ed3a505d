//! Platform staff accounts (`support`, `platform_admin`), created from the
//! command line by an operator: staff belong to no organisation.

use dentex_audit::{ActorKind, AuditEvent, Outcome};
use dentex_db::entities::user;
use dentex_db::{is_unique_violation, now};
use dentex_domain::{Email, StaffRole, UserId};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

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

/// A new user row: `verified` says whether the address is already proven
/// (an operator vouched for it, or an e-mailed link was followed).
pub(crate) fn new_user(
    id: UserId,
    email: &str,
    display_name: &str,
    password_hash: String,
    staff_role: Option<StaffRole>,
    verified: bool,
) -> user::ActiveModel {
    let t = now();
    user::ActiveModel {
        id: Set(id.0),
        email: Set(email.to_lowercase()),
        display_name: Set(display_name.trim().to_owned()),
        password_hash: Set(password_hash),
        staff_role: Set(staff_role.map(|r| r.as_str().to_owned())),
        created_at: Set(t),
        updated_at: Set(t),
        email_verified_at: Set(verified.then_some(t)),
        password_changed_at: Set(Some(t)),
        mfa_secret: Set(None),
        mfa_pending_secret: Set(None),
        mfa_enabled_at: Set(None),
        mfa_last_step: Set(None),
    }
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
    let res = new_user(id, email.as_str(), display_name, hash, Some(role), true)
        .insert(&txn)
        .await;
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
