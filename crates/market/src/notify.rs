//! E-mail notices to the other side, queued in the same transaction as the
//! change they report. They name ids and states only, never patient data.

use dentex_domain::Email;
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_mail::OutgoingMail;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// Queues `make(address)` for the owners and admins of `org`, inside `txn`.
pub async fn tell<C: ConnectionTrait>(
    txn: &C,
    org: Uuid,
    make: impl Fn(Email) -> OutgoingMail,
) -> Result<(), ApiError> {
    for to in dentex_accounts::sweep::managers(txn, org).await? {
        Queue::enqueue_with(txn, dentex_mail::JOB_KIND, &make(to), EnqueueOptions::default())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}
