//! `credentials`: professional credentials and their scanned documents.

use super::{Credential, Organization};
use crate::verification::PENDING;
use chrono::NaiveDate;
use dentex_db::entities::{credential, organization};
use dentex_db::now;
use dentex_domain::{CountryCode, CredentialKind, OrgId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

/// A credential as submitted, before review.
pub struct NewCredential {
    pub kind: CredentialKind,
    pub number: String,
    pub issuing_authority: String,
    pub country: CountryCode,
    pub state: Option<String>,
    pub expires_on: NaiveDate,
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    submitted_by: Uuid,
    n: NewCredential,
) -> Result<Credential, DbErr> {
    let t = now();
    credential::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.0),
        kind: Set(n.kind.as_str().into()),
        number: Set(n.number),
        issuing_authority: Set(n.issuing_authority),
        country: Set(n.country.to_string()),
        state: Set(n.state),
        expires_on: Set(n.expires_on),
        status: Set(PENDING.into()),
        decision_reason: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        document_key: Set(None),
        document_sha256: Set(None),
        document_size: Set(None),
        document_content_type: Set(None),
        submitted_by: Set(submitted_by),
        expiry_notice_sent_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
}

pub async fn by_id<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Credential>, DbErr> {
    credential::Entity::find_by_id(id).one(db).await
}

/// A credential of `org` (none when it belongs to another organisation).
pub async fn in_org<C: ConnectionTrait>(db: &C, org: OrgId, id: Uuid) -> Result<Option<Credential>, DbErr> {
    credential::Entity::find_by_id(id)
        .filter(credential::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

/// The organisation's credentials, newest first.
pub async fn of_org<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<Credential>, DbErr> {
    credential::Entity::find()
        .filter(credential::Column::OrgId.eq(org.0))
        .order_by_desc(credential::Column::CreatedAt)
        .order_by_desc(credential::Column::Id)
        .all(db)
        .await
}

/// Up to `limit` credentials in `status`, oldest first, with their organisations.
pub async fn with_status<C: ConnectionTrait>(
    db: &C,
    status: &str,
    limit: u64,
) -> Result<Vec<(Credential, Organization)>, DbErr> {
    let rows = credential::Entity::find()
        .filter(credential::Column::Status.eq(status))
        .order_by_asc(credential::Column::CreatedAt)
        .order_by_asc(credential::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        if let Some(o) = organization::Entity::find_by_id(c.org_id).one(db).await? {
            out.push((c, o));
        }
    }
    Ok(out)
}

/// A stored document, as the credential names it.
pub struct Document<'a> {
    pub key: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub content_type: &'a str,
}

/// Names the document on the credential, only while it is still pending (a
/// decision that landed during the upload wins); `false` when it was not.
pub async fn attach_document<C: ConnectionTrait>(db: &C, id: Uuid, d: Document<'_>) -> Result<bool, DbErr> {
    let r = credential::Entity::update_many()
        .col_expr(credential::Column::DocumentKey, Expr::value(d.key))
        .col_expr(credential::Column::DocumentSha256, Expr::value(d.sha256))
        .col_expr(
            credential::Column::DocumentSize,
            Expr::value(i64::try_from(d.size).unwrap_or(i64::MAX)),
        )
        .col_expr(credential::Column::DocumentContentType, Expr::value(d.content_type))
        .col_expr(credential::Column::UpdatedAt, Expr::value(now()))
        .filter(credential::Column::Id.eq(id))
        .filter(credential::Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Records a review decision, only while the credential is pending (two
/// reviewers cannot both decide); `false` when it was not.
pub async fn decide<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    status: &str,
    reason: &str,
    decided_by: Uuid,
) -> Result<bool, DbErr> {
    let t = now();
    let r = credential::Entity::update_many()
        .col_expr(credential::Column::Status, Expr::value(status))
        .col_expr(credential::Column::DecisionReason, Expr::value(reason))
        .col_expr(credential::Column::DecidedBy, Expr::value(decided_by))
        .col_expr(credential::Column::DecidedAt, Expr::value(t))
        .col_expr(credential::Column::UpdatedAt, Expr::value(t))
        .filter(credential::Column::Id.eq(id))
        .filter(credential::Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}
