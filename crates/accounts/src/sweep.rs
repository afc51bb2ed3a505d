//! The daily credential sweep: warns organisations whose credentials expire
//! within the notice period (once per credential) and marks expired ones, telling
//! the organisation whether it is still verified. Idempotent, so any number of
//! gateways may run it.

use crate::verification::{self, APPROVED, EXPIRED};
use chrono::NaiveDate;
use dentex_audit::{AuditEvent, Outcome};
use dentex_db::entities::{credential, membership, organization, user};
use dentex_db::now;
use dentex_domain::{Email, OrgId, OrgRole};
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_mail::{OutgoingMail, templates};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

/// Job kind of the daily sweep.
pub const JOB_KIND: &str = "credentials.expiry_sweep";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub notices_sent: u64,
    pub expired: u64,
}

/// Owners' and admins' addresses: who hears about credentials.
pub async fn managers<C: ConnectionTrait>(db: &C, org: uuid::Uuid) -> Result<Vec<Email>, DbErr> {
    let ms = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org))
        .filter(membership::Column::Role.is_in([OrgRole::Owner.as_str(), OrgRole::Admin.as_str()]))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for m in ms {
        if let Some(u) = user::Entity::find_by_id(m.user_id).one(db).await?
            && let Ok(e) = Email::parse(&u.email)
        {
            out.push(e);
        }
    }
    Ok(out)
}

async fn mail_all<C: ConnectionTrait>(db: &C, mails: Vec<OutgoingMail>) -> Result<(), DbErr> {
    for m in mails {
        Queue::enqueue_with(db, dentex_mail::JOB_KIND, &m, EnqueueOptions::default())
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    Ok(())
}

pub async fn run(db: &DatabaseConnection, today: NaiveDate, notice_days: i64) -> Result<SweepReport, DbErr> {
    let mut report = SweepReport::default();
    let horizon = today + chrono::Duration::days(notice_days);
    let approved = credential::Entity::find()
        .filter(credential::Column::Status.eq(APPROVED))
        .filter(credential::Column::ExpiresOn.lte(horizon))
        .all(db)
        .await?;
    for c in approved {
        let Some(org) = organization::Entity::find_by_id(c.org_id).one(db).await? else {
            continue;
        };
        // The status change and the mail it announces commit together.
        let txn = dentex_db::begin_write(db).await?;
        if c.expires_on < today {
            // Expired: mark it (only if still approved, so a racing sweep does it once).
            let r = credential::Entity::update_many()
                .col_expr(credential::Column::Status, sea_orm::sea_query::Expr::value(EXPIRED))
                .col_expr(credential::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now()))
                .filter(credential::Column::Id.eq(c.id))
                .filter(credential::Column::Status.eq(APPROVED))
                .exec(&txn)
                .await?;
            if r.rows_affected != 1 {
                continue;
            }
            let still = verification::status(&txn, &org, today).await?.verified;
            let mails = managers(&txn, org.id)
                .await?
                .into_iter()
                .map(|to| templates::credential_expired(to, &org.name, &c.kind, still))
                .collect();
            mail_all(&txn, mails).await?;
            let mut ev = AuditEvent::new("credential.expire", "credential", Outcome::Success);
            ev.org_id = Some(OrgId(org.id));
            ev.resource_id = Some(c.id.to_string());
            ev.reason = Some(
                if still {
                    "organisation still verified"
                } else {
                    "organisation unverified"
                }
                .into(),
            );
            // With the change, in its transaction.
            dentex_audit::append_in(&txn, &[ev]).await?;
            txn.commit().await?;
            report.expired += 1;
        } else if c.expiry_notice_sent_at.is_none() {
            let r = credential::Entity::update_many()
                .col_expr(
                    credential::Column::ExpiryNoticeSentAt,
                    sea_orm::sea_query::Expr::value(now()),
                )
                .filter(credential::Column::Id.eq(c.id))
                .filter(credential::Column::ExpiryNoticeSentAt.is_null())
                .exec(&txn)
                .await?;
            if r.rows_affected != 1 {
                continue;
            }
            let date = c.expires_on.format("%Y-%m-%d").to_string();
            let mails = managers(&txn, org.id)
                .await?
                .into_iter()
                .map(|to| templates::credential_expiring(to, &org.name, &c.kind, &date))
                .collect();
            mail_all(&txn, mails).await?;
            txn.commit().await?;
            report.notices_sent += 1;
        }
    }
    tracing::info!(
        notices = report.notices_sent,
        expired = report.expired,
        "credential sweep finished"
    );
    Ok(report)
}

/// Every member of `org` with the address mail goes to (chat's notices).
pub async fn members<C: ConnectionTrait>(db: &C, org: uuid::Uuid) -> Result<Vec<(uuid::Uuid, Email)>, DbErr> {
    let ms = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org))
        .all(db)
        .await?;
    let ids: Vec<uuid::Uuid> = ms.iter().map(|m| m.user_id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let users = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
    Ok(users
        .into_iter()
        .filter_map(|u| Email::parse(&u.email).ok().map(|e| (u.id, e)))
        .collect())
}
