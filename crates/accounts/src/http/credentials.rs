//! Professional credentials: an organisation submits them with a scanned
//! document; support reviews them; approved, unexpired ones of a fitting kind
//! make the organisation verified.

use super::{AccountsState, Principal, authorized_org, event_by, queue_mail, record, record_in};
use crate::policy::{self, Action};
use crate::sweep::managers;
use crate::verification::{APPROVED, PENDING, REJECTED};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_audit::Outcome;
use dentex_db::entities::{credential, organization};
use dentex_db::now;
use dentex_domain::{CountryCode, CredentialKind, FieldError, OrgId};
use dentex_http::ApiError;
use dentex_mail::templates;
use futures_util::StreamExt;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Credential {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub kind: String,
    pub number: String,
    pub issuing_authority: String,
    pub country: String,
    pub state: Option<String>,
    pub expires_on: NaiveDate,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub document: Option<DocumentInfo>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DocumentInfo {
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

impl From<credential::Model> for Credential {
    fn from(c: credential::Model) -> Self {
        let document = match (c.document_content_type, c.document_size, c.document_sha256) {
            (Some(content_type), Some(size_bytes), Some(sha256)) => Some(DocumentInfo {
                content_type,
                size_bytes,
                sha256,
            }),
            _ => None,
        };
        Self {
            id: c.id,
            organization_id: c.org_id,
            kind: c.kind,
            number: c.number,
            issuing_authority: c.issuing_authority,
            country: c.country,
            state: c.state,
            expires_on: c.expires_on,
            status: c.status,
            decision_reason: c.decision_reason,
            decided_at: c.decided_at,
            document,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CredentialList {
    pub items: Vec<Credential>,
    pub next_cursor: Option<String>,
}

fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

async fn credential_of(state: &AccountsState, org: OrgId, raw: &str) -> Result<credential::Model, ApiError> {
    let id: Uuid = parse_id(raw)?;
    credential::Entity::find_by_id(id)
        .filter(credential::Column::OrgId.eq(org.0))
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The organisation's credentials, newest first. Members and support staff.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/credentials", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = CredentialList), (status = 404, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/organizations/{org}/credentials")]
pub async fn list(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgId = parse_id(&path)?;
    authorized_org(&state, &req, &p, org, Action::ViewCredentials).await?;
    let items = credential::Entity::find()
        .filter(credential::Column::OrgId.eq(org.0))
        .order_by_desc(credential::Column::CreatedAt)
        .order_by_desc(credential::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(Credential::from)
        .collect();
    Ok(HttpResponse::Ok().json(CredentialList {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    /// `dental_licence`, `npi`, `lab_registration`,
    /// `medical_device_manufacturer_registration`, `iso_13485` or `other`.
    pub kind: String,
    pub number: String,
    pub issuing_authority: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// State or province, where licences are issued per state.
    pub state: Option<String>,
    /// `YYYY-MM-DD`, in the future.
    pub expires_on: String,
}

fn text_field(errs: &mut Vec<FieldError>, field: &str, v: &str, max: usize) -> String {
    let t = v.trim().to_owned();
    if t.is_empty() || t.chars().count() > max {
        errs.push(FieldError::new(
            field,
            "invalid_length",
            format!("Give 1 to {max} characters."),
        ));
    }
    t
}

/// Submits a credential for review (owners and admins). Upload its document next.
#[utoipa::path(post, path = "/api/v1/organizations/{org}/credentials", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = NewCredential,
    responses((status = 201, body = Credential), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/credentials")]
pub async fn submit(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<NewCredential>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgId = parse_id(&path)?;
    authorized_org(&state, &req, &p, org, Action::SubmitCredential).await?;
    let b = body.into_inner();
    let mut errs = Vec::new();
    let kind = b
        .kind
        .parse::<CredentialKind>()
        .map_err(|e| errs.push(FieldError::new("kind", "invalid_choice", e)))
        .ok();
    let number = text_field(&mut errs, "number", &b.number, 100);
    let authority = text_field(&mut errs, "issuing_authority", &b.issuing_authority, 200);
    let country = CountryCode::parse(&b.country)
        .map_err(|e| errs.push(FieldError::new("country", "invalid_country", e)))
        .ok();
    let state_name = b.state.as_deref().map(|s| text_field(&mut errs, "state", s, 100));
    let today = Utc::now().date_naive();
    let expires_on = match NaiveDate::parse_from_str(b.expires_on.trim(), "%Y-%m-%d") {
        Ok(d) if d > today => Some(d),
        Ok(_) => {
            errs.push(FieldError::new(
                "expires_on",
                "not_in_future",
                "An expired credential cannot be verified.",
            ));
            None
        }
        Err(_) => {
            errs.push(FieldError::new(
                "expires_on",
                "invalid_date",
                "Use the form YYYY-MM-DD.",
            ));
            None
        }
    };
    let (Some(kind), Some(country), Some(expires_on)) = (kind, country, expires_on) else {
        return Err(ApiError::validation(errs));
    };
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let t = now();
    let txn = dentex_db::begin_write(&state.db).await?;
    let c = credential::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.0),
        kind: Set(kind.as_str().into()),
        number: Set(number),
        issuing_authority: Set(authority),
        country: Set(country.to_string()),
        state: Set(state_name),
        expires_on: Set(expires_on),
        status: Set(PENDING.into()),
        decision_reason: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        document_key: Set(None),
        document_sha256: Set(None),
        document_size: Set(None),
        document_content_type: Set(None),
        submitted_by: Set(p.user_id.0),
        expiry_notice_sent_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&txn)
    .await?;
    let mut ev = event_by(&req, &p, "credential.submit", "credential", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(c.id.to_string());
    record_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(Credential::from(c)))
}

/// The document type, from its first bytes: PDF, JPEG or PNG.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::payload_too_large(usize::try_from(max).unwrap_or(usize::MAX))
}

/// Uploads the scanned document of a pending credential: the request body is
/// the file (PDF, JPEG or PNG, decided from its content), streamed to storage.
#[utoipa::path(post, path = "/api/v1/organizations/{org}/credentials/{cred}/document", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id"), ("cred" = Uuid, Path, description = "Credential id")),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 200, body = Credential),
        (status = 409, description = "`credential_decided`: the credential was already reviewed", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 413, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a PDF, JPEG or PNG", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/credentials/{cred}/document")]
pub async fn upload_document(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (raw_org, raw_cred) = path.into_inner();
    let org: OrgId = parse_id(&raw_org)?;
    let o = authorized_org(&state, &req, &p, org, Action::SubmitCredential).await?;
    let c = credential_of(&state, org, &raw_cred).await?;
    if c.status != PENDING {
        return Err(ApiError::new(
            &crate::codes::CREDENTIAL_DECIDED,
            "This credential was already reviewed; submit a new one instead.",
        ));
    }
    let max = state.document_max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    // Read just enough to know what the bytes are.
    let mut head = BytesMut::new();
    while head.len() < 8 {
        match payload.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => {
                return Err(ApiError::new(
                    &dentex_http::codes::UNREADABLE_BODY,
                    "The upload was interrupted.",
                ));
            }
            None => break,
        }
    }
    if head.is_empty() {
        return Err(ApiError::new(
            &dentex_http::codes::EMPTY_BODY,
            "The body is empty: send the document's bytes.",
        ));
    }
    let Some(content_type) = sniff(&head) else {
        let mut ev = event_by(&req, &p, "credential.document_upload", "credential", Outcome::Denied);
        ev.org_id = Some(org);
        ev.resource_id = Some(c.id.to_string());
        ev.reason = Some("not a PDF, JPEG or PNG".into());
        record(&state, ev).await?;
        return Err(ApiError::new(
            &dentex_http::codes::UNSUPPORTED_MEDIA_TYPE,
            "Upload the document as PDF, JPEG or PNG.",
        ));
    };
    let first: Bytes = head.freeze();
    let body =
        futures_util::stream::once(async move { Ok::<Bytes, actix_web::error::PayloadError>(first) }).chain(payload);
    // Keys come from ids only; no client file name reaches storage. Each upload
    // gets its own object, so the bytes support approved can never be replaced.
    let key = format!("{}/{}/credentials/{}/{}", o.region, o.id, c.id, Uuid::now_v7());
    let stored = state
        .store
        .put_stream(&key, content_type, Box::pin(body), max)
        .await
        .map_err(|e| match e {
            dentex_storage::StorageError::TooLarge { .. } => too_large(max),
            dentex_storage::StorageError::Source(_) => {
                ApiError::new(&dentex_http::codes::UNREADABLE_BODY, "The upload was interrupted.")
            }
            other => ApiError::from(other),
        })?;
    // Only while still pending: a decision that landed during the upload wins.
    let previous = c.document_key.clone();
    let mut ev = event_by(&req, &p, "credential.document_upload", "credential", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(c.id.to_string());
    // The row and its audit record land together; otherwise the new object goes.
    let saved: Result<(), ApiError> = async {
        let txn = dentex_db::begin_write(&state.db).await?;
        let r = credential::Entity::update_many()
            .col_expr(
                credential::Column::DocumentKey,
                sea_orm::sea_query::Expr::value(key.clone()),
            )
            .col_expr(
                credential::Column::DocumentSha256,
                sea_orm::sea_query::Expr::value(stored.sha256.clone()),
            )
            .col_expr(
                credential::Column::DocumentSize,
                sea_orm::sea_query::Expr::value(i64::try_from(stored.size).unwrap_or(i64::MAX)),
            )
            .col_expr(
                credential::Column::DocumentContentType,
                sea_orm::sea_query::Expr::value(content_type),
            )
            .col_expr(credential::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now()))
            .filter(credential::Column::Id.eq(c.id))
            .filter(credential::Column::Status.eq(PENDING))
            .exec(&txn)
            .await?;
        if r.rows_affected != 1 {
            return Err(ApiError::new(
                &crate::codes::CREDENTIAL_DECIDED,
                "This credential was reviewed while the upload ran; submit a new one instead.",
            ));
        }
        record_in(&txn, ev).await?;
        txn.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = saved {
        if let Err(gone) = state.store.delete(&key).await {
            tracing::warn!(error = %gone, credential.id = %c.id, "removing an unkept document failed; the sweep will");
        }
        return Err(e);
    }
    // The replaced document of a pending credential is not kept.
    if let Some(old) = previous {
        state.store.delete(&old).await?;
    }
    let c = credential::Entity::find_by_id(c.id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Credential::from(c)))
}

/// The scanned document, streamed. Owners, admins and support staff; every
/// read and every refusal is audited.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/credentials/{cred}/document", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id"), ("cred" = Uuid, Path, description = "Credential id")),
    responses((status = 200, description = "The document", content_type = "application/pdf"),
        (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/organizations/{org}/credentials/{cred}/document")]
pub async fn read_document(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_org, raw_cred) = path.into_inner();
    let org: OrgId = parse_id(&raw_org)?;
    authorized_org(&state, &req, &p, org, Action::ReadCredentialDocument).await?;
    let c = credential_of(&state, org, &raw_cred).await?;
    let (Some(key), Some(ct)) = (c.document_key.clone(), c.document_content_type.clone()) else {
        return Err(ApiError::not_found());
    };
    let body = state.store.get_stream(&key).await?;
    let mut ev = event_by(&req, &p, "credential.document_read", "credential", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(c.id.to_string());
    record(&state, ev).await?;
    let ext = match ct.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    };
    let stream = tokio_util::io::ReaderStream::new(body.into_async_read());
    let mut resp = HttpResponse::Ok();
    resp.content_type(ct).insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"credential-{}.{ext}\"", c.id),
    ));
    if let Some(size) = c.document_size {
        resp.no_chunking(u64::try_from(size).unwrap_or(0));
    }
    Ok(resp.streaming(stream))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueueQuery {
    /// `pending` (default), `approved`, `rejected` or `expired`.
    pub status: Option<String>,
    /// At most 200; default 50.
    pub limit: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    pub credential: Credential,
    pub organization_name: String,
    pub organization_kind: String,
    /// Whether this kind of credential can verify this kind of organisation.
    pub kind_fits_organization: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueList {
    pub items: Vec<QueueItem>,
    pub next_cursor: Option<String>,
}

/// Support's review queue, oldest first.
#[utoipa::path(get, path = "/api/v1/support/credentials", tag = "support", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = QueueList), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/support/credentials")]
pub async fn support_queue(
    p: Principal,
    state: web::Data<AccountsState>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    policy::authorize_support(&p)?;
    let status = q.status.clone().unwrap_or_else(|| PENDING.into());
    if ![PENDING, APPROVED, REJECTED, crate::verification::EXPIRED].contains(&status.as_str()) {
        return Err(ApiError::new(
            &dentex_http::codes::INVALID_QUERY,
            "status is pending, approved, rejected or expired.",
        ));
    }
    let rows = credential::Entity::find()
        .filter(credential::Column::Status.eq(status))
        .order_by_asc(credential::Column::CreatedAt)
        .order_by_asc(credential::Column::Id)
        .limit(q.limit.unwrap_or(50).clamp(1, 200))
        .all(&state.db)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for c in rows {
        let Some(o) = organization::Entity::find_by_id(c.org_id).one(&state.db).await? else {
            continue;
        };
        let fits = match (c.kind.parse::<CredentialKind>(), o.kind.parse()) {
            (Ok(k), Ok(ok)) => k.fits(ok),
            _ => false,
        };
        items.push(QueueItem {
            credential: c.into(),
            organization_name: o.name,
            organization_kind: o.kind,
            kind_fits_organization: fits,
        });
    }
    Ok(HttpResponse::Ok().json(QueueList {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `approve` or `reject`.
    pub decision: String,
    /// Told to the organisation; never patient data.
    pub reason: String,
}

/// Approves or rejects a pending credential with a reason; the organisation's
/// owners and admins are told by e-mail.
#[utoipa::path(post, path = "/api/v1/support/credentials/{cred}/decision", tag = "support", security(("bearer" = [])),
    params(("cred" = Uuid, Path, description = "Credential id")), request_body = Decision,
    responses((status = 200, body = Credential),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`credential_decided` or `document_missing`", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/support/credentials/{cred}/decision")]
pub async fn decide(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<Decision>,
) -> Result<HttpResponse, ApiError> {
    policy::authorize_support(&p)?;
    let id: Uuid = parse_id(&path)?;
    let mut errs = Vec::new();
    let approve = match body.decision.as_str() {
        "approve" => Some(true),
        "reject" => Some(false),
        _ => {
            errs.push(FieldError::new("decision", "invalid_choice", "Use approve or reject."));
            None
        }
    };
    let reason = body.reason.trim().to_owned();
    if reason.chars().count() < 3 || reason.chars().count() > 1000 {
        errs.push(FieldError::new(
            "reason",
            "invalid_length",
            "Give a reason of 3 to 1000 characters.",
        ));
    }
    let Some(approve) = approve.filter(|_| errs.is_empty()) else {
        return Err(ApiError::validation(errs));
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let c = credential::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if c.status != PENDING {
        return Err(ApiError::new(
            &crate::codes::CREDENTIAL_DECIDED,
            "This credential was already reviewed.",
        ));
    }
    if approve && c.document_key.is_none() {
        return Err(ApiError::new(
            &crate::codes::DOCUMENT_MISSING,
            "A credential is approved only with its scanned document.",
        ));
    }
    let o = organization::Entity::find_by_id(c.org_id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let t = now();
    let new_status = if approve { APPROVED } else { REJECTED };
    // Conditional on still pending: two reviewers cannot both decide.
    let r = credential::Entity::update_many()
        .col_expr(credential::Column::Status, sea_orm::sea_query::Expr::value(new_status))
        .col_expr(
            credential::Column::DecisionReason,
            sea_orm::sea_query::Expr::value(reason.clone()),
        )
        .col_expr(
            credential::Column::DecidedBy,
            sea_orm::sea_query::Expr::value(p.user_id.0),
        )
        .col_expr(credential::Column::DecidedAt, sea_orm::sea_query::Expr::value(t))
        .col_expr(credential::Column::UpdatedAt, sea_orm::sea_query::Expr::value(t))
        .filter(credential::Column::Id.eq(c.id))
        .filter(credential::Column::Status.eq(PENDING))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(ApiError::new(
            &crate::codes::CREDENTIAL_DECIDED,
            "This credential was already reviewed.",
        ));
    }
    for to in managers(&txn, o.id).await? {
        queue_mail(
            &txn,
            &templates::credential_decision(to, &o.name, &c.kind, approve, &reason),
        )
        .await?;
    }
    let mut ev = event_by(
        &req,
        &p,
        if approve {
            "credential.approve"
        } else {
            "credential.reject"
        },
        "credential",
        Outcome::Success,
    );
    ev.org_id = Some(OrgId(o.id));
    ev.resource_id = Some(c.id.to_string());
    ev.reason = Some(reason);
    record_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    let c = credential::Entity::find_by_id(c.id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Credential::from(c)))
}
