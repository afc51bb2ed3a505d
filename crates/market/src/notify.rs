//! E-mail notices to the other side, queued in the same transaction as the
//! change they report. They name ids and states only, never patient data.

use dentex_db::entities::{membership, user};
use dentex_domain::Email;
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_mail::OutgoingMail;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The owners and admins of an organisation: who hears about its business.
pub async fn contacts<C: ConnectionTrait>(db: &C, org: Uuid) -> Result<Vec<Email>, ApiError> {
    let people = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org))
        .filter(membership::Column::Role.is_in(["owner", "admin"]))
        .all(db)
        .await?;
    let ids: Vec<Uuid> = people.iter().map(|m| m.user_id).collect();
    let users = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
    Ok(users.iter().filter_map(|u| Email::parse(&u.email).ok()).collect())
}

/// Queues `make(address)` for every contact of `org`, inside `txn`.
pub async fn tell<C: ConnectionTrait>(
    txn: &C,
    org: Uuid,
    make: impl Fn(Email) -> OutgoingMail,
) -> Result<(), ApiError> {
    for to in contacts(txn, org).await? {
        Queue::enqueue_with(txn, dentex_mail::JOB_KIND, &make(to), EnqueueOptions::default())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}
