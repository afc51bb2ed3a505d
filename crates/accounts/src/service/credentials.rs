//! Professional credentials: an organisation submits them with a scanned
//! document; support reviews them; approved, unexpired ones of a fitting kind
//! make the organisation verified ([`crate::verification`]).

use super::{audit_in, authorized_org, queue_mail};
use crate::policy::{self, Action};
use crate::store::{self, Credential, Organization, credentials::NewCredential};
use crate::sweep::managers;
use crate::verification::{APPROVED, EXPIRED, PENDING, REJECTED};
use crate::{AccountsState, Actor, validate};
use chrono::{NaiveDate, Utc};
use dentex_audit::Outcome;
use dentex_domain::{CountryCode, CredentialKind, FieldError, OrgId};
use dentex_http::ApiError;
use dentex_mail::templates;
use uuid::Uuid;

mod document;

pub use document::{read_document, sniff, upload_document};

fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

fn decided(detail: &str) -> ApiError {
    ApiError::new(&crate::codes::CREDENTIAL_DECIDED, detail)
}

/// The organisation's credentials, newest first. Members and support staff.
pub async fn list(state: &AccountsState, actor: &Actor, org: OrgId) -> Result<Vec<Credential>, ApiError> {
    authorized_org(state, actor, org, Action::ViewCredentials).await?;
    Ok(store::credentials::of_org(&state.db, org).await?)
}

/// One credential of the organisation. Members and support staff; another
/// organisation's credential is 404.
pub async fn read(state: &AccountsState, actor: &Actor, org: OrgId, raw: &str) -> Result<Credential, ApiError> {
    authorized_org(state, actor, org, Action::ViewCredentials).await?;
    let id = uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found())?;
    store::credentials::in_org(&state.db, org, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// A credential as submitted (text fields trimmed).
#[derive(validator::Validate)]
pub struct Submission {
    pub kind: String,
    #[validate(length(min = 1, max = 100, code = "invalid_length", message = "Give 1 to 100 characters."))]
    pub number: String,
    #[validate(length(min = 1, max = 200, code = "invalid_length", message = "Give 1 to 200 characters."))]
    pub issuing_authority: String,
    pub country: String,
    #[validate(length(min = 1, max = 100, code = "invalid_length", message = "Give 1 to 100 characters."))]
    pub state: Option<String>,
    pub expires_on: String,
}

const SUBMISSION_FIELDS: &[&str] = &["kind", "number", "issuing_authority", "country", "state", "expires_on"];

/// Submits a credential for review (owners and admins); its document comes next.
pub async fn submit(state: &AccountsState, actor: &Actor, org: OrgId, s: Submission) -> Result<Credential, ApiError> {
    authorized_org(state, actor, org, Action::SubmitCredential).await?;
    let n = check_submission(s)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let c = store::credentials::insert(&txn, org, actor.user_id.0, n).await?;
    let mut ev = actor.event("credential.submit", "credential", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(c.id.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(c)
}

/// Every problem of a submission at once, in the order of its fields.
fn check_submission(s: Submission) -> Result<NewCredential, ApiError> {
    let mut errs = validate::field_errors(&s);
    let kind = s
        .kind
        .parse::<CredentialKind>()
        .map_err(|e| errs.push(FieldError::new("kind", "invalid_choice", e)))
        .ok();
    let country = CountryCode::parse(&s.country)
        .map_err(|e| errs.push(FieldError::new("country", "invalid_country", e)))
        .ok();
    let today = Utc::now().date_naive();
    let expires_on = match NaiveDate::parse_from_str(s.expires_on.trim(), "%Y-%m-%d") {
        Ok(d) if d > today => Some(d),
        Ok(_) => {
            let msg = "An expired credential cannot be verified.";
            errs.push(FieldError::new("expires_on", "not_in_future", msg));
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
    validate::in_order(&mut errs, SUBMISSION_FIELDS);
    match (kind, country, expires_on) {
        (Some(kind), Some(country), Some(expires_on)) if errs.is_empty() => Ok(NewCredential {
            kind,
            number: s.number,
            issuing_authority: s.issuing_authority,
            country,
            state: s.state,
            expires_on,
        }),
        _ => Err(ApiError::validation(errs)),
    }
}

/// A credential in support's queue, with its organisation.
pub struct Queued {
    pub credential: Credential,
    pub organization: Organization,
    /// Whether this kind of credential can verify this kind of organisation.
    pub kind_fits: bool,
}

/// Support's review queue: credentials in `status` (default `pending`),
/// oldest first, at most `limit` (1 to 200, default 50).
pub async fn queue(
    state: &AccountsState,
    actor: &Actor,
    status: Option<&str>,
    limit: Option<u64>,
) -> Result<Vec<Queued>, ApiError> {
    policy::authorize_support(actor)?;
    let status = status.unwrap_or(PENDING);
    if ![PENDING, APPROVED, REJECTED, EXPIRED].contains(&status) {
        return Err(ApiError::unknown_value(
            "status",
            [PENDING, APPROVED, REJECTED, EXPIRED],
        ));
    }
    // Out of range is refused, as on every other list (not clamped).
    let page = dentex_http::paging::page::<String>(limit, None)?;
    let rows = store::credentials::with_status(&state.db, status, page.limit).await?;
    Ok(rows
        .into_iter()
        .map(|(c, o)| {
            let kind_fits = match (c.kind.parse::<CredentialKind>(), o.kind.parse()) {
                (Ok(k), Ok(ok)) => k.fits(ok),
                _ => false,
            };
            Queued {
                credential: c,
                organization: o,
                kind_fits,
            }
        })
        .collect())
}

/// Approves (`approve`) or rejects (`reject`) a pending credential with a
/// reason (3 to 1000 characters); the organisation's owners and admins are
/// told by e-mail.
pub async fn decide(
    state: &AccountsState,
    actor: &Actor,
    credential: &str,
    decision: &str,
    reason: &str,
) -> Result<Credential, ApiError> {
    policy::authorize_support(actor)?;
    let id: Uuid = parse_id(credential)?;
    let (approve, reason) = check_decision(decision, reason)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    let c = store::credentials::by_id(&txn, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if c.status != PENDING {
        return Err(decided("This credential was already reviewed."));
    }
    if approve && c.document_key.is_none() {
        return Err(ApiError::new(
            &crate::codes::DOCUMENT_MISSING,
            "A credential is approved only with its scanned document.",
        ));
    }
    let o = store::organizations::find(&txn, OrgId(c.org_id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let new_status = if approve { APPROVED } else { REJECTED };
    if !store::credentials::decide(&txn, c.id, new_status, &reason, actor.user_id.0).await? {
        return Err(decided("This credential was already reviewed."));
    }
    for to in managers(&txn, o.id).await? {
        queue_mail(
            &txn,
            &templates::credential_decision(to, &o.name, &c.kind, approve, &reason),
        )
        .await?;
    }
    let action = if approve {
        "credential.approve"
    } else {
        "credential.reject"
    };
    let mut ev = actor.event(action, "credential", Outcome::Success);
    ev.org_id = Some(OrgId(o.id));
    ev.resource_id = Some(c.id.to_string());
    ev.reason = Some(reason);
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    store::credentials::by_id(&state.db, c.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Whether the decision approves, and the trimmed reason; both problems at once.
fn check_decision(decision: &str, reason: &str) -> Result<(bool, String), ApiError> {
    let mut errs = Vec::new();
    let approve = match decision {
        "approve" => Some(true),
        "reject" => Some(false),
        _ => {
            errs.push(FieldError::new("decision", "invalid_choice", "Use approve or reject."));
            None
        }
    };
    let sent = reason.chars().count();
    let reason = reason.trim().to_owned();
    if reason.chars().count() < 3 || sent > 1000 {
        errs.push(FieldError::new(
            "reason",
            "invalid_length",
            "Give a reason of 3 to 1000 characters.",
        ));
    }
    match approve {
        Some(approve) if errs.is_empty() => Ok((approve, reason)),
        _ => Err(ApiError::validation(errs)),
    }
}
