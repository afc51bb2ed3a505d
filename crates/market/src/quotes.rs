//! Quotes: `POST/GET /api/v1/cases/{case}/quotes`, `PUT /api/v1/quotes/{quote}`,
//! `POST …/withdraw`, `POST …/accept`.

use crate::idempotency::{self, Claim};
use crate::orders::{OrderView, order_view, record_transition};
use crate::{MarketState, notify, today};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_accounts::{Principal, policy};
use dentex_audit::{AuditEvent, Outcome};
use dentex_cases::access::{self, Viewer};
use dentex_db::entities::{case, order, organization, quote, quote_version};
use dentex_db::now;
use dentex_domain::market::{self as rules, Money, OrderStatus};
use dentex_domain::rx::Rx;
use dentex_domain::{CaseStatus, FieldError, QuoteStatus};
use dentex_http::ApiError;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

const NOTES_MAX: usize = 4000;
const TURNAROUND_MAX: i32 = 120;
const VALIDITY_MAX_DAYS: i64 = 180;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_quote)
        .service(list_quotes)
        .service(revise_quote)
        .service(withdraw_quote)
        .service(accept_quote);
}

// ---------------------------------------------------------------- wire types

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    pub amount_minor: i64,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct LineItemInput {
    /// Index of the Rx item this prices (0-based, as in `rx.items`).
    pub item: usize,
    pub amount_minor: i64,
    pub notes: Option<String>,
}

/// A quote's terms, sent to create one or to revise it (a new version).
#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    /// The lab quoting; needed only when you belong to several.
    pub organization: Option<Uuid>,
    pub price: PriceInput,
    /// Working days from award to shipping (weekends skipped).
    pub turnaround_days: i32,
    /// The last day the clinic may accept it.
    pub valid_until: NaiveDate,
    pub notes: Option<String>,
    /// Optional prices per Rx item; they must add up to the price.
    pub line_items: Option<Vec<LineItemInput>>,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteVersionView {
    pub version: i32,
    pub price: Price,
    pub turnaround_days: i32,
    pub valid_until: NaiveDate,
    pub notes: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub line_items: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct LabSummary {
    pub id: Uuid,
    pub name: String,
    /// An approved, unexpired credential right now.
    pub verified: bool,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub lab: LabSummary,
    /// `active`, `withdrawn`, `accepted`, `declined`, or `cancelled` (it was
    /// accepted, then its order was cancelled).
    pub status: String,
    pub version: i32,
    pub price: Price,
    pub turnaround_days: i32,
    pub valid_until: NaiveDate,
    /// Past `valid_until`: it can no longer be accepted.
    pub expired: bool,
    /// When the work would ship if the quote were accepted today.
    pub delivery_date: NaiveDate,
    pub notes: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub line_items: Option<serde_json::Value>,
    /// Every version, oldest first (the current one included).
    pub versions: Vec<QuoteVersionView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteList {
    pub items: Vec<QuoteView>,
}

// ------------------------------------------------------------------ helpers

pub use crate::trail::Price;
use crate::trail::{Trail, audit, audit_in, denied, guard, not_found, require_manager, trail_event};

/// The request carries no body (no length, or a length of 0, and not chunked).
fn body_absent(req: &HttpRequest) -> bool {
    use actix_web::http::header;
    let h = req.headers();
    !h.contains_key(header::TRANSFER_ENCODING)
        && h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim() == "0")
}

fn quote_trail<'a>(c: &case::Model, q: &quote::Model, v: Viewer, action: &'a str, outcome: Outcome) -> Trail<'a> {
    Trail {
        clinic: c.clinic_org_id,
        action,
        resource: "quote",
        id: q.id.to_string(),
        lab: match v {
            Viewer::Lab { org } => Some(org),
            Viewer::Clinic { .. } => None,
        },
        outcome,
    }
}

/// Changing a quote is for the owners and admins of the lab that made it
/// (the trail's `lab`, set when a lab views it); the clinic is refused.
/// Refusals are audited.
async fn only_quoting_lab(state: &MarketState, req: &HttpRequest, p: &Principal, t: Trail<'_>) -> Result<(), ApiError> {
    let check = match t.lab {
        Some(lab) => require_manager(p, lab, "of the lab that made a quote change it"),
        _ => Err(policy::forbidden("Only the lab that made a quote changes it.")),
    };
    guard(state, req, p, t, check).await
}

/// The case, if `p` may see it, and how.
async fn visible_case(state: &MarketState, p: &Principal, id: Uuid) -> Result<Option<(case::Model, Viewer)>, ApiError> {
    let Some(c) = case::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(None);
    };
    Ok(access::viewer(&state.db, p, &c, today()).await?.map(|v| (c, v)))
}

/// Checks a quote's terms against the case's Rx; every problem at once.
fn check_input(input: &QuoteInput, rx: &Rx) -> Result<(Money, Option<String>, Option<String>), ApiError> {
    let mut errors = Vec::new();
    let money = match Money::parse(input.price.amount_minor, &input.price.currency, "price") {
        Ok(m) => Some(m),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    if !(1..=TURNAROUND_MAX).contains(&input.turnaround_days) {
        errors.push(FieldError::new(
            "turnaround_days",
            "out_of_range",
            format!("Between 1 and {TURNAROUND_MAX} working days."),
        ));
    }
    let t = today();
    if input.valid_until < t {
        errors.push(FieldError::new(
            "valid_until",
            "in_the_past",
            "A quote must be valid at least until today.",
        ));
    } else if input.valid_until > t + chrono::Duration::days(VALIDITY_MAX_DAYS) {
        errors.push(FieldError::new(
            "valid_until",
            "too_far",
            format!("At most {VALIDITY_MAX_DAYS} days ahead."),
        ));
    }
    let notes = input.notes.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if notes.is_some_and(|n| n.chars().count() > NOTES_MAX) {
        errors.push(FieldError::new(
            "notes",
            "too_long",
            format!("At most {NOTES_MAX} characters."),
        ));
    }
    let mut line_items = None;
    if let Some(items) = &input.line_items {
        let mut seen = Vec::new();
        let mut sum: i64 = 0;
        for (i, li) in items.iter().enumerate() {
            if li.item >= rx.items.len() || seen.contains(&li.item) {
                errors.push(FieldError::new(
                    format!("line_items[{i}].item"),
                    "unknown_item",
                    format!("Price each of the Rx's {} items at most once.", rx.items.len()),
                ));
            }
            seen.push(li.item);
            if li.amount_minor < 0 || li.amount_minor > rules::MAX_AMOUNT_MINOR {
                errors.push(FieldError::new(
                    format!("line_items[{i}].amount_minor"),
                    "out_of_range",
                    "Not negative, and no more than the largest price.",
                ));
            }
            if li.notes.as_deref().is_some_and(|n| n.chars().count() > NOTES_MAX) {
                errors.push(FieldError::new(
                    format!("line_items[{i}].notes"),
                    "too_long",
                    format!("At most {NOTES_MAX} characters."),
                ));
            }
            sum = sum.saturating_add(li.amount_minor);
        }
        if !items.is_empty() && sum != input.price.amount_minor {
            errors.push(FieldError::new(
                "line_items",
                "sum_mismatch",
                format!(
                    "The line items add up to {sum}, the price is {}.",
                    input.price.amount_minor
                ),
            ));
        }
        line_items = Some(serde_json::to_string(items).map_err(ApiError::internal)?);
    }
    match (errors.is_empty(), money) {
        (true, Some(m)) => Ok((m, notes.map(str::to_owned), line_items)),
        _ => Err(ApiError::validation(errors)),
    }
}

async fn quote_view<C: ConnectionTrait>(db: &C, q: quote::Model) -> Result<QuoteView, ApiError> {
    quote_views(db, vec![q]).await?.pop().ok_or_else(ApiError::not_found)
}

/// The views of several quotes in three queries whatever their number: the
/// versions, the labs, the labs' credentials.
async fn quote_views<C: ConnectionTrait>(db: &C, rows: Vec<quote::Model>) -> Result<Vec<QuoteView>, ApiError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut versions: HashMap<Uuid, Vec<quote_version::Model>> = HashMap::new();
    for v in quote_version::Entity::find()
        .filter(quote_version::Column::QuoteId.is_in(rows.iter().map(|q| q.id)))
        .order_by_asc(quote_version::Column::Version)
        .all(db)
        .await?
    {
        versions.entry(v.quote_id).or_default().push(v);
    }
    let labs: HashMap<Uuid, organization::Model> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(rows.iter().map(|q| q.lab_org_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let t = today();
    let verified = {
        let all: Vec<&organization::Model> = labs.values().collect();
        dentex_accounts::verification::statuses(db, &all, t).await?
    };
    Ok(rows
        .into_iter()
        .map(|q| {
            let v = versions.remove(&q.id).unwrap_or_default();
            let lab = match labs.get(&q.lab_org_id) {
                Some(l) => LabSummary {
                    id: l.id,
                    verified: verified.get(&l.id).is_some_and(|v| v.verified),
                    name: l.name.clone(),
                },
                None => LabSummary {
                    id: q.lab_org_id,
                    name: String::new(),
                    verified: false,
                },
            };
            build_quote_view(q, v, lab, t)
        })
        .collect())
}

fn build_quote_view(q: quote::Model, versions: Vec<quote_version::Model>, lab: LabSummary, t: NaiveDate) -> QuoteView {
    let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str(s).ok());
    QuoteView {
        id: q.id,
        case_id: q.case_id,
        lab,
        expired: q.valid_until < t,
        delivery_date: rules::add_working_days(t, u32::try_from(q.turnaround_days).unwrap_or(0)),
        price: Price {
            amount_minor: q.amount_minor,
            currency: q.currency.clone(),
        },
        line_items: parse(&q.line_items),
        versions: versions
            .into_iter()
            .map(|v| QuoteVersionView {
                version: v.version,
                price: Price {
                    amount_minor: v.amount_minor,
                    currency: v.currency,
                },
                turnaround_days: v.turnaround_days,
                valid_until: v.valid_until,
                notes: v.notes,
                line_items: parse(&v.line_items),
                created_at: v.created_at,
            })
            .collect(),
        status: q.status,
        version: q.version,
        turnaround_days: q.turnaround_days,
        valid_until: q.valid_until,
        notes: q.notes,
        created_at: q.created_at,
        updated_at: q.updated_at,
    }
}

/// A quote the caller may see: the clinic of its case, or the lab that made
/// it while that lab may still see the case. Anyone else: 404.
async fn load_quote(
    state: &MarketState,
    req: &HttpRequest,
    p: &Principal,
    raw: &str,
) -> Result<(quote::Model, case::Model, Viewer), ApiError> {
    policy::require_full_session(p)?;
    let found = match Uuid::parse_str(raw) {
        Ok(id) => quote::Entity::find_by_id(id).one(&state.db).await?,
        Err(_) => None,
    };
    if let Some(q) = found
        && let Some(c) = case::Entity::find_by_id(q.case_id).one(&state.db).await?
    {
        // The clinic, or the lab that made the quote (acting for that lab,
        // whichever other labs the user is in).
        let day = today();
        let v = match access::viewer(&state.db, p, &c, day).await? {
            Some(v) if v.is_clinic() || v.org() == q.lab_org_id => Some(v),
            _ => access::viewer_for(&state.db, p, &c, day, Some(q.lab_org_id)).await?,
        };
        if let Some(v) = v {
            return Ok((q, c, v));
        }
    }
    Err(not_found(state, req, p, "quote", raw).await)
}

fn version_row(q: &quote::Model) -> quote_version::ActiveModel {
    quote_version::ActiveModel {
        quote_id: Set(q.id),
        version: Set(q.version),
        amount_minor: Set(q.amount_minor),
        currency: Set(q.currency.clone()),
        turnaround_days: Set(q.turnaround_days),
        valid_until: Set(q.valid_until),
        notes: Set(q.notes.clone()),
        line_items: Set(q.line_items.clone()),
        created_by: Set(q.created_by),
        created_at: Set(q.updated_at),
    }
}

/// Takes the case's row for this transaction while it is still open to
/// quotes (`submitted`): an award or a cancellation waits, or has won.
async fn lock_open_case(txn: &sea_orm::DatabaseTransaction, id: Uuid) -> Result<(), ApiError> {
    if dentex_cases::service::cases::lock_open_to_quotes(txn, id).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            &crate::codes::CASE_NOT_OPEN,
            "The case is no longer open to quotes (awarded or cancelled).",
        ))
    }
}

// ------------------------------------------------------------------ routes

/// A lab quotes on a case open to it (owners and admins of a verified lab).
#[utoipa::path(post, path = "/api/v1/cases/{case}/quotes", tag = "market", security(("bearer" = [])),
    params(("case" = Uuid, Path)), request_body = QuoteInput,
    responses((status = 201, body = QuoteView), (status = 403, body = dentex_http::Problem), (status = 404, body = dentex_http::Problem),
        (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/cases/{case}/quotes")]
pub async fn create_quote(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: dentex_http::Json<QuoteInput>,
) -> Result<HttpResponse, ApiError> {
    policy::require_full_session(&p)?;
    let input = input.into_inner();
    let Some((c, v)) = (match Uuid::parse_str(&path) {
        Ok(id) => visible_case(&state, &p, id).await?,
        Err(_) => None,
    }) else {
        return Err(not_found(&state, &req, &p, "case", &path).await);
    };
    let case_trail = |lab| Trail {
        clinic: c.clinic_org_id,
        action: "quote.create",
        resource: "case",
        id: c.id.to_string(),
        lab,
        outcome: Outcome::Denied,
    };
    let Viewer::Lab { org: lab } = v else {
        return Err(denied(
            &state,
            &req,
            &p,
            case_trail(None),
            policy::forbidden("Labs quote; the clinic accepts."),
        )
        .await);
    };
    // A user in several labs names the one that quotes.
    let lab = match input.organization {
        Some(o) if o != lab => match access::viewer_for(&state.db, &p, &c, today(), Some(o)).await? {
            Some(Viewer::Lab { org }) => org,
            _ => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "organization",
                    "not_your_lab",
                    "Quote for a lab you belong to that may see this case.",
                )]));
            }
        },
        _ => lab,
    };
    guard(
        &state,
        &req,
        &p,
        case_trail(Some(lab)),
        require_manager(&p, lab, "of a lab quote"),
    )
    .await?;
    let lab_row = organization::Entity::find_by_id(lab)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let verified = policy::require_verified(&state.db, &lab_row, today()).await;
    guard(&state, &req, &p, case_trail(Some(lab)), verified).await?;
    if CaseStatus::parse(&c.status) != Some(CaseStatus::Submitted) {
        return Err(ApiError::new(
            &crate::codes::CASE_NOT_OPEN,
            "The case is no longer open to quotes.",
        ));
    }
    let rx: Rx = serde_json::from_str(&c.rx).unwrap_or_default();
    let (money, notes, line_items) = check_input(&input, &rx)?;
    let t = now();
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_open_case(&txn, c.id).await?;
    let existing = quote::Entity::find()
        .filter(quote::Column::CaseId.eq(c.id))
        .filter(quote::Column::LabOrgId.eq(lab))
        .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Active.as_str()))
        .one(&txn)
        .await?;
    if let Some(q) = existing {
        return Err(ApiError::new(
            &crate::codes::QUOTE_EXISTS,
            format!(
                "Your lab already quoted on this case: revise quote {} (PUT /api/v1/quotes/{}).",
                q.id, q.id
            ),
        ));
    }
    let q = quote::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(c.id),
        lab_org_id: Set(lab),
        clinic_org_id: Set(c.clinic_org_id),
        status: Set(QuoteStatus::Active.as_str().into()),
        version: Set(1),
        amount_minor: Set(money.amount_minor),
        currency: Set(money.currency),
        turnaround_days: Set(input.turnaround_days),
        valid_until: Set(input.valid_until),
        notes: Set(notes),
        line_items: Set(line_items),
        created_by: Set(p.user_id.0),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&txn)
    .await?;
    version_row(&q).insert(&txn).await?;
    let case_id = c.id.to_string();
    notify::tell(&txn, c.clinic_org_id, |to| {
        dentex_mail::templates::quote_received(to, &case_id, false)
    })
    .await?;
    audit_in(
        &txn,
        &req,
        &p,
        Trail {
            clinic: c.clinic_org_id,
            action: "quote.create",
            resource: "quote",
            id: q.id.to_string(),
            lab: Some(lab),
            outcome: Outcome::Success,
        },
    )
    .await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(HttpResponse::Created().json(quote_view(&state.db, q).await?))
}

/// The quotes on a case: the clinic sees every lab's side by side; a lab
/// sees only its own.
#[utoipa::path(get, path = "/api/v1/cases/{case}/quotes", tag = "market", security(("bearer" = [])),
    params(("case" = Uuid, Path)), responses((status = 200, body = QuoteList), (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/cases/{case}/quotes")]
pub async fn list_quotes(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    policy::require_full_session(&p)?;
    let Some((c, v)) = (match Uuid::parse_str(&path) {
        Ok(id) => visible_case(&state, &p, id).await?,
        Err(_) => None,
    }) else {
        return Err(not_found(&state, &req, &p, "case", &path).await);
    };
    let mut q = quote::Entity::find().filter(quote::Column::CaseId.eq(c.id));
    if let Viewer::Lab { .. } = v {
        // Each lab sees its own; a user in several labs sees those of each
        // lab that may see the case.
        let mut labs = Vec::new();
        for (org, _) in &p.memberships {
            if let Some(Viewer::Lab { org }) = access::viewer_for(&state.db, &p, &c, today(), Some(org.0)).await? {
                labs.push(org);
            }
        }
        q = q.filter(quote::Column::LabOrgId.is_in(labs));
    }
    let rows = q.order_by_asc(quote::Column::Id).all(&state.db).await?;
    let items = quote_views(&state.db, rows).await?;
    let lab = match v {
        Viewer::Lab { org } => Some(org),
        Viewer::Clinic { .. } => None,
    };
    audit(
        &state,
        &req,
        &p,
        Trail {
            clinic: c.clinic_org_id,
            action: "quote.list",
            resource: "case",
            id: c.id.to_string(),
            lab,
            outcome: Outcome::Success,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(QuoteList { items }))
}

/// The lab revises its quote: the new terms become the next version; the
/// clinic keeps seeing every version.
#[utoipa::path(put, path = "/api/v1/quotes/{quote}", tag = "market", security(("bearer" = [])),
    params(("quote" = Uuid, Path)), request_body = QuoteInput,
    responses((status = 200, body = QuoteView), (status = 404, body = dentex_http::Problem), (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[put("/api/v1/quotes/{quote}")]
pub async fn revise_quote(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: dentex_http::Json<QuoteInput>,
) -> Result<HttpResponse, ApiError> {
    let (q, c, v) = load_quote(&state, &req, &p, &path).await?;
    only_quoting_lab(
        &state,
        &req,
        &p,
        quote_trail(&c, &q, v, "quote.revise", Outcome::Denied),
    )
    .await?;
    let input = input.into_inner();
    let rx: Rx = serde_json::from_str(&c.rx).unwrap_or_default();
    let (money, notes, line_items) = check_input(&input, &rx)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_open_case(&txn, c.id).await?;
    let r = quote::Entity::update_many()
        .col_expr(quote::Column::Version, Expr::col(quote::Column::Version).add(1))
        .col_expr(quote::Column::AmountMinor, Expr::value(money.amount_minor))
        .col_expr(quote::Column::Currency, Expr::value(money.currency))
        .col_expr(quote::Column::TurnaroundDays, Expr::value(input.turnaround_days))
        .col_expr(quote::Column::ValidUntil, Expr::value(input.valid_until))
        .col_expr(quote::Column::Notes, Expr::value(notes))
        .col_expr(quote::Column::LineItems, Expr::value(line_items))
        .col_expr(quote::Column::CreatedBy, Expr::value(p.user_id.0))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
        .filter(quote::Column::Id.eq(q.id))
        .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Active.as_str()))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(not_active(&q));
    }
    let q = quote::Entity::find_by_id(q.id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    version_row(&q).insert(&txn).await?;
    let case_id = c.id.to_string();
    notify::tell(&txn, c.clinic_org_id, |to| {
        dentex_mail::templates::quote_received(to, &case_id, true)
    })
    .await?;
    audit_in(&txn, &req, &p, quote_trail(&c, &q, v, "quote.revise", Outcome::Success)).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(HttpResponse::Ok().json(quote_view(&state.db, q).await?))
}

fn not_active(q: &quote::Model) -> ApiError {
    ApiError::new(
        &crate::codes::QUOTE_NOT_ACTIVE,
        format!("The quote is {}; only an active quote changes.", q.status),
    )
}

/// The lab withdraws its quote before the award.
#[utoipa::path(post, path = "/api/v1/quotes/{quote}/withdraw", tag = "market", security(("bearer" = [])),
    params(("quote" = Uuid, Path)),
    responses((status = 200, body = QuoteView), (status = 404, body = dentex_http::Problem), (status = 409, body = dentex_http::Problem)))]
#[post("/api/v1/quotes/{quote}/withdraw")]
pub async fn withdraw_quote(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (q, c, v) = load_quote(&state, &req, &p, &path).await?;
    only_quoting_lab(
        &state,
        &req,
        &p,
        quote_trail(&c, &q, v, "quote.withdraw", Outcome::Denied),
    )
    .await?;
    // The quote's own row decides: an accept that took it first wins.
    let txn = dentex_db::begin_write(&state.db).await?;
    let r = quote::Entity::update_many()
        .col_expr(
            quote::Column::Status,
            Expr::value(dentex_domain::QuoteStatus::Withdrawn.as_str()),
        )
        .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
        .filter(quote::Column::Id.eq(q.id))
        .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Active.as_str()))
        .exec(&txn)
        .await?;
    let q = quote::Entity::find_by_id(q.id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if r.rows_affected != 1 {
        return Err(not_active(&q));
    }
    audit_in(
        &txn,
        &req,
        &p,
        quote_trail(&c, &q, v, "quote.withdraw", Outcome::Success),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(quote_view(&state.db, q).await?))
}

/// Which version of the quote the clinic accepts: the terms it saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    /// The quote's `version` as the clinic read it; a quote revised since is
    /// refused (409 `quote_revised`), never accepted on terms not seen.
    pub version: i32,
}

/// The clinic accepts a quote (owners and admins, with an
/// `Idempotency-Key`): exactly one order is made, every other quote is
/// declined and their labs lose the case at once. A retry with the same key
/// gets the same order.
#[utoipa::path(post, path = "/api/v1/quotes/{quote}/accept", tag = "market", security(("bearer" = [])),
    params(("quote" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "A unique key for this acceptance")),
    request_body = AcceptInput,
    responses((status = 201, body = OrderView), (status = 400, body = dentex_http::Problem), (status = 404, body = dentex_http::Problem),
        (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/quotes/{quote}/accept")]
pub async fn accept_quote(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: Result<dentex_http::Json<AcceptInput>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let (q, c, v) = load_quote(&state, &req, &p, &path).await?;
    let check = if v.is_clinic() {
        require_manager(&p, c.clinic_org_id, "of the clinic accept quotes")
    } else {
        Err(policy::forbidden("Only the clinic accepts a quote."))
    };
    guard(
        &state,
        &req,
        &p,
        quote_trail(&c, &q, v, "quote.accept", Outcome::Denied),
        check,
    )
    .await?;
    let key = idempotency::header(&req)?;
    // Checked after tenancy: a body that is missing or unreadable is told
    // what to send, once the quote is known to be the caller's to accept.
    let input = match input {
        Ok(i) => Some(i.into_inner()),
        // No body at all: told what to send. A body that is there but
        // unreadable (wrong type, repeated key, bad JSON) says what is wrong.
        Err(_) if body_absent(&req) => None,
        Err(e) => return Err(e),
    };
    let Some(version) = input.map(|i| i.version) else {
        return Err(ApiError::validation(vec![FieldError::new(
            "version",
            "required",
            format!(
                "Send {{\"version\": {}}} as JSON: the version of the quote you read (it is accepted only on those terms).",
                q.version
            ),
        )]));
    };
    let request = format!("{} v{version}", q.id);
    let k = match idempotency::claim(&state.db, p.user_id.0, key, "quote.accept", &request).await? {
        Claim::Replay { status, body } => {
            return Ok(HttpResponse::build(status)
                .content_type("application/json")
                .insert_header(("Idempotent-Replayed", "true"))
                .body(body));
        }
        Claim::Fresh(k) => k,
    };
    // The answer is stored in the award's own transaction: once the order
    // exists, a retry finds it, whatever happens after the commit.
    let accepted = trail_event(&req, &p, quote_trail(&c, &q, v, "quote.accept", Outcome::Success));
    let body = match award(&state, &p, &q, &c, version, &k, accepted).await {
        Ok(body) => body,
        Err(e) => {
            idempotency::release(&state.db, k).await;
            return Err(e);
        }
    };
    state.queue.wake();
    Ok(HttpResponse::Created().content_type("application/json").body(body))
}

/// The award itself, in one transaction: the case row first (so racing
/// accepts queue behind it and then find the case awarded), then the quote
/// at the version the clinic saw (an accept and a withdrawal or revision race
/// on its row), the lab checked again, the others declined, the order, its
/// first recorded state, the stored answer for retries and the mails.
async fn award(
    state: &MarketState,
    p: &Principal,
    q: &quote::Model,
    c: &case::Model,
    version: i32,
    k: &idempotency::Key,
    accepted: AuditEvent,
) -> Result<String, ApiError> {
    let t = now();
    let day = today();
    let txn = dentex_db::begin_write(&state.db).await?;
    let awarded = dentex_cases::service::cases::award(&txn, c.id, q.lab_org_id).await?;
    if !awarded {
        return Err(ApiError::new(
            &crate::codes::CASE_NOT_OPEN,
            "The case was already awarded or cancelled.",
        ));
    }
    let r = quote::Entity::update_many()
        .col_expr(
            quote::Column::Status,
            Expr::value(dentex_domain::QuoteStatus::Accepted.as_str()),
        )
        .col_expr(quote::Column::UpdatedAt, Expr::value(t))
        .filter(quote::Column::Id.eq(q.id))
        .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Active.as_str()))
        .filter(quote::Column::Version.eq(version))
        .filter(quote::Column::ValidUntil.gte(day))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        let now_q = quote::Entity::find_by_id(q.id)
            .one(&txn)
            .await?
            .ok_or_else(ApiError::not_found)?;
        return Err(if QuoteStatus::parse(&now_q.status) != Some(QuoteStatus::Active) {
            not_active(&now_q)
        } else if now_q.version != version {
            ApiError::new(
                &crate::codes::QUOTE_REVISED,
                format!(
                    "The lab revised this quote: it is at version {}, you accepted version {version}. Read it again.",
                    now_q.version
                ),
            )
        } else {
            ApiError::new(
                &crate::codes::QUOTE_EXPIRED,
                format!(
                    "The quote was valid until {}; ask the lab to revise it.",
                    now_q.valid_until
                ),
            )
        });
    }
    let q = quote::Entity::find_by_id(q.id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    // The lab may have lost its verification or been suspended since it quoted.
    let lab = organization::Entity::find_by_id(q.lab_org_id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if lab.suspended_at.is_some() || !dentex_accounts::verification::status(&txn, &lab, day).await?.verified {
        return Err(ApiError::new(
            &crate::codes::LAB_UNAVAILABLE,
            "This lab is not verified or is suspended right now; it cannot be awarded work.",
        ));
    }
    // Only the quotes this statement declines are told (a withdrawal that
    // got in first is not).
    let declined = quote::Entity::update_many()
        .col_expr(
            quote::Column::Status,
            Expr::value(dentex_domain::QuoteStatus::Declined.as_str()),
        )
        .col_expr(quote::Column::UpdatedAt, Expr::value(t))
        .filter(quote::Column::CaseId.eq(c.id))
        .filter(quote::Column::Id.ne(q.id))
        .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Active.as_str()))
        .exec_with_returning(&txn)
        .await?;
    let status = OrderStatus::InProduction;
    let o = order::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(c.id),
        award_case_id: Set(Some(c.id)),
        quote_id: Set(q.id),
        quote_version: Set(q.version),
        clinic_org_id: Set(c.clinic_org_id),
        lab_org_id: Set(q.lab_org_id),
        status: Set(status.as_str().into()),
        amount_minor: Set(q.amount_minor),
        currency: Set(q.currency.clone()),
        turnaround_days: Set(q.turnaround_days),
        due_date: Set(rules::add_working_days(
            day,
            u32::try_from(q.turnaround_days).unwrap_or(0),
        )),
        carrier: Set(None),
        tracking_number: Set(None),
        cancel_reason: Set(None),
        cancelled_by: Set(None),
        remake_of: Set(None),
        remake_reason: Set(None),
        remake_notes: Set(None),
        cost_bearer: Set(None),
        created_by: Set(p.user_id.0),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        // The unique award_case_id: another award won.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::new(&crate::codes::CASE_NOT_OPEN, "The case was already awarded.")
        }
        _ => ApiError::from(e),
    })?;
    record_transition(&txn, o.id, None, status, p, "clinic", None).await?;
    let (case_id, order_id) = (c.id.to_string(), o.id.to_string());
    notify::tell(&txn, q.lab_org_id, |to| {
        dentex_mail::templates::quote_accepted(to, &case_id, &order_id)
    })
    .await?;
    for d in &declined {
        notify::tell(&txn, d.lab_org_id, |to| {
            dentex_mail::templates::quote_declined(to, &case_id)
        })
        .await?;
    }
    let body = serde_json::to_string(&order_view(&txn, o, true).await?).map_err(ApiError::internal)?;
    idempotency::finish(&txn, k, StatusCode::CREATED, &body).await?;
    dentex_accounts::http::record_in(&txn, accepted).await?;
    txn.commit().await?;
    Ok(body)
}
