//! The cases crate's queries: the only code that reads or writes `cases`,
//! `case_labs`, `case_files` and `case_uploads` (and reads, as the table of
//! ownership in `docs/architecture.md` allows, `organizations` and a case's
//! rows of `audit_events`). Other crates change these rows only through
//! [`crate::service`].

use chrono::{DateTime, Utc};
use dentex_db::entities::{audit_event, case, case_file, case_lab, case_upload, organization};
use dentex_db::now;
use dentex_domain::{AnalysisStatus, CaseStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The organisation kinds that are labs.
pub const LAB_KINDS: [&str; 2] = ["dental_lab", "manufacturing_lab"];

/// A claim on an upload's `complete` older than this is taken to have died.
pub const CLAIM_TIMEOUT: chrono::Duration = chrono::Duration::minutes(15);

// ------------------------------------------------------------------- cases

pub async fn find_case<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<case::Model>, DbErr> {
    case::Entity::find_by_id(id).one(db).await
}

/// The files of `case` among `ids`.
pub async fn files_among<C: ConnectionTrait>(
    db: &C,
    case: Uuid,
    ids: Vec<Uuid>,
) -> Result<Vec<case_file::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    case_file::Entity::find()
        .filter(case_file::Column::CaseId.eq(case))
        .filter(case_file::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// The case, its row held against changes until the transaction ends
/// (`FOR SHARE` on PostgreSQL; SQLite serialises writers): an award or a
/// cancellation waits for the holder, or the holder sees it.
pub async fn case_shared<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<Option<case::Model>, DbErr> {
    let mut q = case::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_shared();
    }
    q.one(txn).await
}

/// The cases of `ids` that exist.
pub async fn cases_by_ids<C: ConnectionTrait>(db: &C, ids: Vec<Uuid>) -> Result<Vec<case::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    case::Entity::find().filter(case::Column::Id.is_in(ids)).all(db).await
}

pub async fn insert_case<C: ConnectionTrait>(txn: &C, am: case::ActiveModel) -> Result<case::Model, DbErr> {
    am.insert(txn).await
}

pub async fn update_case<C: ConnectionTrait>(txn: &C, am: case::ActiveModel) -> Result<case::Model, DbErr> {
    am.update(txn).await
}

/// Takes the case's row for this transaction if its status is one of
/// `statuses` (a write to the row: PostgreSQL holds its lock and SQLite its
/// write lock until commit); `false` when it is not.
pub async fn lock_case_in<C: ConnectionTrait>(txn: &C, id: Uuid, statuses: &[CaseStatus]) -> Result<bool, DbErr> {
    let r = case::Entity::update_many()
        .col_expr(case::Column::UpdatedAt, Expr::col(case::Column::UpdatedAt))
        .filter(case::Column::Id.eq(id))
        .filter(case::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Like [`lock_case_in`] for a draft, marking the change's time.
pub async fn touch_draft<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<bool, DbErr> {
    let r = case::Entity::update_many()
        .col_expr(case::Column::UpdatedAt, Expr::value(now()))
        .filter(case::Column::Id.eq(id))
        .filter(case::Column::Status.eq(CaseStatus::Draft.as_str()))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Moves the case from `from` to `to`, setting the awarded lab; `false`
/// when it was not in `from`.
pub async fn move_case<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    from: CaseStatus,
    to: CaseStatus,
    awarded_lab: Option<Uuid>,
) -> Result<bool, DbErr> {
    let r = case::Entity::update_many()
        .col_expr(case::Column::Status, Expr::value(to.as_str()))
        .col_expr(case::Column::AwardedLabOrgId, Expr::value(awarded_lab))
        .col_expr(case::Column::UpdatedAt, Expr::value(now()))
        .filter(case::Column::Id.eq(id))
        .filter(case::Column::Status.eq(from.as_str()))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Marks a draft submitted, with its targets.
pub async fn mark_submitted<C: ConnectionTrait>(txn: &C, id: Uuid, open: bool, labs: &[Uuid]) -> Result<(), DbErr> {
    let t = now();
    case::Entity::update_many()
        .col_expr(case::Column::Status, Expr::value(CaseStatus::Submitted.as_str()))
        .col_expr(case::Column::OpenToAll, Expr::value(open))
        .col_expr(case::Column::SubmittedAt, Expr::value(t))
        .col_expr(case::Column::UpdatedAt, Expr::value(t))
        .filter(case::Column::Id.eq(id))
        .exec(txn)
        .await?;
    for lab in labs {
        case_lab::ActiveModel {
            case_id: sea_orm::Set(id),
            lab_org_id: sea_orm::Set(*lab),
            created_at: sea_orm::Set(t),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

pub async fn mark_cancelled<C: ConnectionTrait>(txn: &C, id: Uuid, reason: String) -> Result<(), DbErr> {
    let t = now();
    case::Entity::update_many()
        .col_expr(case::Column::Status, Expr::value(CaseStatus::Canceled.as_str()))
        .col_expr(case::Column::CancelReason, Expr::value(reason))
        .col_expr(case::Column::CancelledAt, Expr::value(t))
        .col_expr(case::Column::UpdatedAt, Expr::value(t))
        .filter(case::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The labs a case was sent to by name, in id order.
pub async fn named_labs<C: ConnectionTrait>(db: &C, case: Uuid) -> Result<Vec<Uuid>, DbErr> {
    Ok(named_labs_of(db, vec![case]).await?.remove(&case).unwrap_or_default())
}

/// The labs a case was sent to by name, with when.
pub async fn sent_to<C: ConnectionTrait>(db: &C, case: Uuid) -> Result<Vec<case_lab::Model>, DbErr> {
    case_lab::Entity::find()
        .filter(case_lab::Column::CaseId.eq(case))
        .all(db)
        .await
}

/// [`named_labs`] for a page of cases, in one query.
pub async fn named_labs_of<C: ConnectionTrait>(db: &C, cases: Vec<Uuid>) -> Result<HashMap<Uuid, Vec<Uuid>>, DbErr> {
    let mut named: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if cases.is_empty() {
        return Ok(named);
    }
    for l in case_lab::Entity::find()
        .filter(case_lab::Column::CaseId.is_in(cases))
        .order_by_asc(case_lab::Column::LabOrgId)
        .all(db)
        .await?
    {
        named.entry(l.case_id).or_default().push(l.lab_org_id);
    }
    Ok(named)
}

/// Organisations by id (a read of accounts' table, allowed to cases).
pub async fn organizations<C: ConnectionTrait>(db: &C, ids: Vec<Uuid>) -> Result<Vec<organization::Model>, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// The labs of a data region that take new work and are not suspended
/// (for the live event of a case open to all; services and verification
/// are decided after).
pub async fn working_labs_in<C: ConnectionTrait>(db: &C, region: &str) -> Result<Vec<organization::Model>, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::Kind.is_in(LAB_KINDS.iter().copied()))
        .filter(organization::Column::Region.eq(region))
        .filter(organization::Column::SuspendedAt.is_null())
        .filter(organization::Column::AcceptsNewWork.eq(true))
        .all(db)
        .await
}

pub async fn organization<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<organization::Model>, DbErr> {
    organization::Entity::find_by_id(id).one(db).await
}

/// The labs among `orgs` (a read of accounts' table, allowed to cases).
pub async fn labs_among<C: ConnectionTrait>(db: &C, orgs: Vec<Uuid>) -> Result<Vec<organization::Model>, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::Id.is_in(orgs))
        .filter(organization::Column::Kind.is_in(LAB_KINDS))
        .all(db)
        .await
}

/// Which of `labs` were named on which of `cases`: (case, lab) pairs.
pub async fn named_pairs<C: ConnectionTrait>(
    db: &C,
    cases: impl IntoIterator<Item = Uuid>,
    labs: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    Ok(case_lab::Entity::find()
        .filter(case_lab::Column::CaseId.is_in(cases))
        .filter(case_lab::Column::LabOrgId.is_in(labs))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.case_id, r.lab_org_id))
        .collect())
}

/// Which cases the caller's organisations may list: a clinic's own, and for
/// its labs the awarded ones and those submitted to them or open in their
/// regions (the page's rows are then checked one by one by the policy).
#[derive(Debug, Clone, Default)]
pub struct ListScope {
    pub clinics: Vec<Uuid>,
    pub labs: Vec<Uuid>,
    pub lab_regions: Vec<String>,
}

impl ListScope {
    pub fn of(orgs: &[organization::Model]) -> Self {
        let mut s = Self::default();
        for o in orgs {
            if o.kind == "clinic" {
                s.clinics.push(o.id);
            } else if LAB_KINDS.contains(&o.kind.as_str()) {
                s.labs.push(o.id);
                s.lab_regions.push(o.region.clone());
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.clinics.is_empty() && self.labs.is_empty()
    }

    fn condition(&self) -> Condition {
        let mut visible = Condition::any();
        if !self.clinics.is_empty() {
            visible = visible.add(case::Column::ClinicOrgId.is_in(self.clinics.clone()));
        }
        if !self.labs.is_empty() {
            let named = case_lab::Entity::find()
                .select_only()
                .column(case_lab::Column::CaseId)
                .filter(case_lab::Column::LabOrgId.is_in(self.labs.clone()))
                .into_query();
            visible = visible.add(
                Condition::all()
                    .add(case::Column::Status.eq(CaseStatus::Awarded.as_str()))
                    .add(case::Column::AwardedLabOrgId.is_in(self.labs.clone())),
            );
            visible = visible.add(
                Condition::all()
                    .add(case::Column::Status.eq(CaseStatus::Submitted.as_str()))
                    .add(
                        Condition::any().add(case::Column::Id.in_subquery(named)).add(
                            Condition::all()
                                .add(case::Column::OpenToAll.eq(true))
                                .add(case::Column::Region.is_in(self.lab_regions.clone())),
                        ),
                    ),
            );
        }
        visible
    }
}

/// Up to `limit` cases in `scope`, newest first, before `after`.
pub async fn case_page<C: ConnectionTrait>(
    db: &C,
    scope: &ListScope,
    status: Option<CaseStatus>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<case::Model>, DbErr> {
    let mut query = case::Entity::find().filter(scope.condition());
    if let Some(s) = status {
        query = query.filter(case::Column::Status.eq(s.as_str()));
    }
    if let Some(a) = after {
        query = query.filter(case::Column::Id.lt(a));
    }
    query.order_by_desc(case::Column::Id).limit(limit).all(db).await
}

/// A page of the clinic's chain's rows about a case and its files, newest
/// first, before sequence number `before` (a read of the audit trail's
/// table, allowed to cases).
pub async fn access_log<C: ConnectionTrait>(
    db: &C,
    c: &case::Model,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    let mut q = audit_event::Entity::find();
    if let Some(b) = before {
        q = q.filter(audit_event::Column::Seq.lt(b));
    }
    q.filter(audit_event::Column::Chain.eq(c.clinic_org_id.to_string()))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(audit_event::Column::ResourceType.eq("case"))
                        .add(audit_event::Column::ResourceId.eq(c.id.to_string())),
                )
                .add(
                    Condition::all()
                        .add(audit_event::Column::ResourceType.eq("case_file"))
                        .add(audit_event::Column::ResourceId.starts_with(format!("{}/", c.id))),
                ),
        )
        .order_by_desc(audit_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

// ------------------------------------------------------------------- files

pub async fn file_in_case<C: ConnectionTrait>(db: &C, case: Uuid, id: Uuid) -> Result<Option<case_file::Model>, DbErr> {
    case_file::Entity::find_by_id(id)
        .filter(case_file::Column::CaseId.eq(case))
        .one(db)
        .await
}

pub async fn file<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<case_file::Model>, DbErr> {
    case_file::Entity::find_by_id(id).one(db).await
}

/// A page of a case's files, oldest first, after `after`.
pub async fn files_of<C: ConnectionTrait>(
    db: &C,
    case: Uuid,
    lab: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<case_file::Model>, DbErr> {
    let mut q = case_file::Entity::find().filter(case_file::Column::CaseId.eq(case));
    if let Some(lab) = lab {
        q = q.filter(
            sea_orm::Condition::any()
                .add(case_file::Column::LabOrgId.is_null())
                .add(case_file::Column::LabOrgId.eq(lab)),
        );
    }
    if let Some(a) = after {
        q = q.filter(case_file::Column::Id.gt(a));
    }
    q.order_by_asc(case_file::Column::Id).limit(limit).all(db).await
}

pub async fn count_scans<C: ConnectionTrait>(db: &C, case: Uuid) -> Result<u64, DbErr> {
    case_file::Entity::find()
        .filter(case_file::Column::CaseId.eq(case))
        .filter(case_file::Column::Kind.eq("scan"))
        .count(db)
        .await
}

pub async fn insert_file<C: ConnectionTrait>(txn: &C, am: case_file::ActiveModel) -> Result<case_file::Model, DbErr> {
    am.insert(txn).await
}

pub async fn delete_file<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<(), DbErr> {
    case_file::Entity::delete_by_id(id).exec(txn).await?;
    Ok(())
}

/// The analysis of a file done: its report and preview; `false` when the
/// file went, or was analysed, meanwhile.
pub async fn analysis_done<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    report: String,
    thumbnail_key: &str,
) -> Result<bool, DbErr> {
    let r = pending_analysis(id)
        .col_expr(
            case_file::Column::AnalysisStatus,
            Expr::value(AnalysisStatus::Done.as_str()),
        )
        .col_expr(case_file::Column::Analysis, Expr::value(report))
        .col_expr(case_file::Column::ThumbnailKey, Expr::value(thumbnail_key))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// The analysis of a file failed: the scan is not a readable mesh.
pub async fn analysis_failed<C: ConnectionTrait>(db: &C, id: Uuid, reason: String) -> Result<(), DbErr> {
    pending_analysis(id)
        .col_expr(
            case_file::Column::AnalysisStatus,
            Expr::value(AnalysisStatus::Failed.as_str()),
        )
        .col_expr(case_file::Column::AnalysisError, Expr::value(reason))
        .exec(db)
        .await?;
    Ok(())
}

fn pending_analysis(id: Uuid) -> sea_orm::UpdateMany<case_file::Entity> {
    case_file::Entity::update_many()
        .filter(case_file::Column::Id.eq(id))
        .filter(case_file::Column::AnalysisStatus.eq(AnalysisStatus::Pending.as_str()))
}

/// Bytes stored for an organisation's case files, plus the declared sizes
/// of its presigned uploads still in flight (they hold their room).
pub async fn org_usage<C: ConnectionTrait>(db: &C, org: Uuid) -> Result<u64, DbErr> {
    // SUM of a bigint is numeric on PostgreSQL: cast it back.
    let stored = case_file::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"), "total")
        .filter(case_file::Column::OrgId.eq(org))
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0);
    let reserved = case_upload::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"), "total")
        .filter(case_upload::Column::OrgId.eq(org))
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0);
    Ok(u64::try_from(stored.saturating_add(reserved)).unwrap_or(0))
}

/// Takes the organisation's row for this transaction (through its owner,
/// `dentex-accounts`) and reads its usage: every quota decision is made one
/// at a time, under this lock.
pub async fn usage_locked<C: ConnectionTrait>(txn: &C, org: Uuid) -> Result<u64, DbErr> {
    dentex_accounts::locks::lock_organization(txn, org).await?;
    org_usage(txn, org).await
}

// ----------------------------------------------------------------- uploads

pub async fn upload_in_case<C: ConnectionTrait>(
    db: &C,
    case: Uuid,
    id: Uuid,
) -> Result<Option<case_upload::Model>, DbErr> {
    case_upload::Entity::find_by_id(id)
        .filter(case_upload::Column::CaseId.eq(case))
        .one(db)
        .await
}

pub async fn insert_upload<C: ConnectionTrait>(
    txn: &C,
    am: case_upload::ActiveModel,
) -> Result<case_upload::Model, DbErr> {
    am.insert(txn).await
}

/// Removes an upload's row; `false` when it was already gone.
pub async fn delete_upload<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    Ok(case_upload::Entity::delete_by_id(id).exec(db).await?.rows_affected == 1)
}

/// Takes the upload for one `complete` (or the sweep) at a time; a claim
/// older than [`CLAIM_TIMEOUT`] is taken to have died.
pub async fn claim_upload<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    let t = now();
    let r = case_upload::Entity::update_many()
        .col_expr(case_upload::Column::CompletingAt, Expr::value(t))
        .filter(case_upload::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(case_upload::Column::CompletingAt.is_null())
                .add(case_upload::Column::CompletingAt.lt(t - CLAIM_TIMEOUT)),
        )
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

pub async fn release_upload<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<(), DbErr> {
    case_upload::Entity::update_many()
        .col_expr(
            case_upload::Column::CompletingAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(case_upload::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
