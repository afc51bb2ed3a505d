//! Professional credentials: `/organizations/{org}/credentials` (list, submit,
//! the document up and down) and support's `/support/credentials` (queue,
//! decision).

use super::parse_org;
use crate::service::credentials::{self as service, Submission};
use crate::store;
use crate::{AccountsState, Actor};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use service::sniff;

dentex_domain::doc_enum!(
    /// `Credential.status` in the document.
    CredentialStatus = "Where a credential stands: waiting for support, approved, rejected, or past its expiry date.",
    ["pending", "approved", "rejected", "expired"]
);

dentex_domain::doc_enum!(
    /// `Decision.decision` in the document.
    DecisionKind = "Support's decision on a pending credential.",
    ["approve", "reject"]
);

#[derive(Serialize, utoipa::ToSchema)]
pub struct Credential {
    pub id: Uuid,
    pub organization_id: Uuid,
    #[schema(value_type = dentex_domain::CredentialKind)]
    pub kind: String,
    pub number: String,
    pub issuing_authority: String,
    pub country: String,
    pub state: Option<String>,
    pub expires_on: NaiveDate,
    /// `pending`, `approved`, `rejected` or `expired`.
    #[schema(value_type = crate::http::credentials::CredentialStatus)]
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

impl From<store::Credential> for Credential {
    fn from(c: store::Credential) -> Self {
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

/// The organisation's credentials, newest first. Members and support staff.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/credentials", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = CredentialList), (status = 404, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/organizations/{org}/credentials")]
pub async fn list(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let credentials = service::list(&state, &actor, parse_org(&path)?).await?;
    Ok(HttpResponse::Ok().json(CredentialList {
        items: credentials.into_iter().map(Credential::from).collect(),
        next_cursor: None,
    }))
}

/// One of the organisation's credentials. Members and support staff.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/credentials/{cred}", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organization id"), ("cred" = Uuid, Path)),
    responses((status = 200, body = Credential), (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/organizations/{org}/credentials/{cred}")]
pub async fn get_credential(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, cred) = path.into_inner();
    let c = service::read(&state, &actor, parse_org(&org)?, &cred).await?;
    Ok(HttpResponse::Ok().json(Credential::from(c)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    /// `dental_license`, `npi`, `lab_registration`,
    /// `medical_device_manufacturer_registration`, `iso_13485` or `other`.
    #[schema(value_type = dentex_domain::CredentialKind)]
    pub kind: String,
    pub number: String,
    pub issuing_authority: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// State or province, where licences are issued per state.
    pub state: Option<String>,
    /// `YYYY-MM-DD`, in the future.
    #[schema(value_type = chrono::NaiveDate)]
    pub expires_on: String,
}

impl From<NewCredential> for Submission {
    fn from(b: NewCredential) -> Self {
        let trim = |s: &str| s.trim().to_owned();
        Self {
            number: trim(&b.number),
            issuing_authority: trim(&b.issuing_authority),
            state: b.state.as_deref().map(trim),
            kind: b.kind,
            country: b.country,
            expires_on: b.expires_on,
        }
    }
}

/// Submits a credential for review (owners and admins). Upload its document next.
#[utoipa::path(post, path = "/api/v1/organizations/{org}/credentials", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = NewCredential,
    responses((status = 201, body = Credential), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/credentials")]
pub async fn submit(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<NewCredential>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    let c = service::submit(&state, &actor, org, body.into_inner().into()).await?;
    let location = format!("/api/v1/organizations/{}/credentials/{}", c.org_id, c.id);
    Ok(dentex_http::created(location).json(Credential::from(c)))
}

/// Uploads the scanned document of a pending credential: the request body is
/// the file (PDF, JPEG or PNG, decided from its content), streamed to storage.
#[utoipa::path(post, path = "/api/v1/organizations/{org}/credentials/{cred}/document", tag = "credentials", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id"), ("cred" = Uuid, Path, description = "Credential id")),
    request_body(content = dentex_http::Binary, content_type = "application/octet-stream", description = "The scan as PDF, JPEG or PNG bytes; the type is read from the bytes."),
    responses((status = 200, body = Credential),
        (status = 400, description = "`empty_body`, `unreadable_body`", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 409, description = "`credential_decided`: the credential was already reviewed", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 413, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a PDF, JPEG or PNG", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/credentials/{cred}/document")]
pub async fn upload_document(
    req: HttpRequest,
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (org, cred) = path.into_inner();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let c = service::upload_document(&state, &actor, parse_org(&org)?, &cred, declared, payload).await?;
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
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, cred) = path.into_inner();
    let (c, content_type, body) = service::read_document(&state, &actor, parse_org(&org)?, &cred).await?;
    let ext = match content_type.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    };
    let mut resp = HttpResponse::Ok();
    resp.content_type(content_type).insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"credential-{}.{ext}\"", c.id),
    ));
    if let Some(size) = c.document_size {
        resp.no_chunking(u64::try_from(size).unwrap_or(0));
    }
    Ok(resp.streaming(tokio_util::io::ReaderStream::new(body)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueueQuery {
    /// `pending` (default), `approved`, `rejected` or `expired`.
    #[param(value_type = Option<crate::http::credentials::CredentialStatus>)]
    pub status: Option<String>,
    /// At most 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    pub credential: Credential,
    pub organization_name: String,
    #[schema(value_type = dentex_domain::OrgKind)]
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
    actor: Actor,
    state: web::Data<AccountsState>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let queued = service::queue(&state, &actor, q.status.as_deref(), q.limit).await?;
    let items = queued
        .into_iter()
        .map(|q| QueueItem {
            credential: q.credential.into(),
            organization_name: q.organization.name,
            organization_kind: q.organization.kind,
            kind_fits_organization: q.kind_fits,
        })
        .collect();
    Ok(HttpResponse::Ok().json(QueueList {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `approve` or `reject`.
    #[schema(value_type = crate::http::credentials::DecisionKind)]
    pub decision: String,
    /// Told to the organisation; never patient data. 3 to 1000 characters
    /// (fewer than 3 once trimmed is refused: 422).
    #[schema(min_length = 3, max_length = 1000)]
    pub reason: String,
}

/// Approves or rejects a pending credential with a reason; the organisation's
/// owners and admins are told by e-mail.
#[utoipa::path(post, path = "/api/v1/support/credentials/{cred}/decision", tag = "support", security(("bearer" = [])),
    params(("cred" = Uuid, Path, description = "Credential id")), request_body = Decision,
    responses((status = 200, body = Credential),
        (status = 403, description = "`forbidden`: support staff only", body = dentex_http::Problem),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`credential_decided` or `document_missing`", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/support/credentials/{cred}/decision")]
pub async fn decide(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<Decision>,
) -> Result<HttpResponse, ApiError> {
    let c = service::decide(&state, &actor, &path, &body.decision, &body.reason).await?;
    Ok(HttpResponse::Ok().json(Credential::from(c)))
}
