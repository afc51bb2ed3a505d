//! The e-mails of privacy operations, queued in the transaction of the step
//! they report. They name request ids, kinds, dates and case ids only:
//! never a name, a patient reference or what was asked.

use crate::store::Request;
use dentex_domain::Email;
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_mail::OutgoingMail;
use sea_orm::ConnectionTrait;

pub(crate) fn mail(to: Email, subject: String, text: String) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject,
        text,
    }
}

pub(crate) async fn queue<C: ConnectionTrait>(db: &C, mails: Vec<OutgoingMail>) -> Result<(), ApiError> {
    for m in mails {
        Queue::enqueue_with(db, dentex_mail::JOB_KIND, &m, EnqueueOptions::default())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Who is told about a request: the person it is about (at the address on
/// file), or for a patient the clinic's owners and admins (the controller).
pub(crate) async fn requester<C: ConnectionTrait>(db: &C, r: &Request) -> Result<Vec<Email>, ApiError> {
    if let Some(clinic) = r.clinic_org_id {
        return Ok(dentex_accounts::sweep::managers(db, clinic).await?);
    }
    let Some(user) = r.subject_user_id else {
        return Ok(Vec::new());
    };
    Ok(dentex_accounts::store::users::by_id(db, user)
        .await?
        .and_then(|u| Email::parse(&u.email).ok())
        .into_iter()
        .collect())
}

/// Queues `text` (under `subject`) for the requester of `r`, in `db`.
pub(crate) async fn tell_requester<C: ConnectionTrait>(
    db: &C,
    r: &Request,
    subject: &str,
    text: String,
) -> Result<(), ApiError> {
    let to = requester(db, r).await?;
    queue(
        db,
        to.into_iter()
            .map(|e| mail(e, subject.to_owned(), text.clone()))
            .collect(),
    )
    .await
}

/// Queues `text` (under `subject`) for the owners and admins of `org`.
pub(crate) async fn tell_managers<C: ConnectionTrait>(
    db: &C,
    org: uuid::Uuid,
    subject: &str,
    text: &str,
) -> Result<(), ApiError> {
    let to = dentex_accounts::sweep::managers(db, org).await?;
    queue(
        db,
        to.into_iter()
            .map(|e| mail(e, subject.to_owned(), text.to_owned()))
            .collect(),
    )
    .await
}

/// Queues a note to support's address, when one is configured.
pub(crate) async fn tell_support<C: ConnectionTrait>(
    db: &C,
    support: Option<&str>,
    subject: &str,
    text: String,
) -> Result<(), ApiError> {
    let Some(to) = support.and_then(|a| Email::parse(a).ok()) else {
        return Ok(());
    };
    queue(db, vec![mail(to, subject.to_owned(), text)]).await
}

pub(crate) fn date(d: chrono::DateTime<chrono::Utc>) -> String {
    d.format("%Y-%m-%d").to_string()
}
