//! Orders: `GET /api/v1/orders`, `GET /api/v1/orders/{order}`,
//! `POST …/transitions`, `POST …/remakes`.

use crate::trail::{Price, Trail, audit, audit_in, guard, not_found, require_manager};
use crate::{MarketState, notify, today};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use dentex_accounts::{Principal, policy};
use dentex_audit::Outcome;
use dentex_db::entities::{order, order_transition, organization, quote};
use dentex_db::now;
use dentex_domain::market::{self as rules, Actor, CostBearer, OrderStatus, RemakeReason};
use dentex_domain::{FieldError, OrgId};
use dentex_http::ApiError;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const TEXT_MAX: usize = 1000;
const TRACKING_MAX: usize = 100;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_orders)
        .service(get_order)
        .service(transition)
        .service(remake);
}

#[derive(Serialize, ToSchema)]
pub struct TransitionView {
    pub from: Option<String>,
    pub to: String,
    pub by: Uuid,
    /// `clinic`, `lab` or `support`.
    pub side: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub quote_id: Uuid,
    /// The version of the quote that was accepted.
    pub quote_version: i32,
    pub clinic_id: Uuid,
    pub lab_id: Uuid,
    /// `awaiting_payment`, `in_production`, `shipped`, `delivered`, `completed` or `cancelled`.
    pub status: String,
    pub price: Price,
    pub turnaround_days: i32,
    pub due_date: NaiveDate,
    /// Past its due date (the day it should ship) and not shipped yet.
    pub overdue: bool,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<String>,
    /// The order this one remakes.
    pub remake_of: Option<Uuid>,
    pub remake_reason: Option<String>,
    pub remake_notes: Option<String>,
    pub cost_bearer: Option<String>,
    /// Remakes opened from this order.
    pub remakes: Vec<Uuid>,
    /// Every move, oldest first (single-order view only).
    pub transitions: Option<Vec<TransitionView>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct OrderQuery {
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// `in_production`, `shipped`, `delivered`, `completed` or `cancelled`.
    pub to: String,
    /// With `shipped`.
    pub carrier: Option<String>,
    /// With `shipped`.
    pub tracking_number: Option<String>,
    /// With `cancelled`: why (shown to both sides; no patient data, please).
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemakeInput {
    /// `fit`, `margin`, `contact`, `occlusion`, `shade`, `damage` or `other`.
    #[schema(value_type = String)]
    pub reason: RemakeReason,
    pub notes: Option<String>,
    /// `lab`, `clinic` or `shared`.
    #[schema(value_type = String)]
    pub cost_bearer: CostBearer,
    /// Defaults to today plus the original turnaround in working days.
    pub due_date: Option<NaiveDate>,
}

pub(crate) async fn order_view<C: ConnectionTrait>(
    db: &C,
    o: order::Model,
    with_transitions: bool,
) -> Result<OrderView, ApiError> {
    let remakes = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::RemakeOf.eq(o.id))
        .order_by_asc(order::Column::Id)
        .into_tuple::<Uuid>()
        .all(db)
        .await?;
    let transitions = if with_transitions {
        Some(
            order_transition::Entity::find()
                .filter(order_transition::Column::OrderId.eq(o.id))
                .order_by_asc(order_transition::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(|t| TransitionView {
                    from: t.from_status,
                    to: t.to_status,
                    by: t.actor_user_id,
                    side: t.actor_side,
                    note: t.note,
                    at: t.at,
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(build_view(o, remakes, transitions))
}

/// The views of a page of orders: their remakes in one query.
pub(crate) async fn order_views<C: ConnectionTrait>(
    db: &C,
    rows: Vec<order::Model>,
) -> Result<Vec<OrderView>, ApiError> {
    let mut remakes: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if !rows.is_empty() {
        let found: Vec<(Uuid, Option<Uuid>)> = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .column(order::Column::RemakeOf)
            .filter(order::Column::RemakeOf.is_in(rows.iter().map(|o| o.id)))
            .order_by_asc(order::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        for (id, of) in found {
            if let Some(of) = of {
                remakes.entry(of).or_default().push(id);
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|o| {
            let r = remakes.remove(&o.id).unwrap_or_default();
            build_view(o, r, None)
        })
        .collect())
}

fn build_view(o: order::Model, remakes: Vec<Uuid>, transitions: Option<Vec<TransitionView>>) -> OrderView {
    let open = OrderStatus::parse(&o.status).is_some_and(OrderStatus::before_shipping);
    OrderView {
        id: o.id,
        case_id: o.case_id,
        quote_id: o.quote_id,
        quote_version: o.quote_version,
        clinic_id: o.clinic_org_id,
        lab_id: o.lab_org_id,
        overdue: open && o.due_date < today(),
        status: o.status,
        price: Price {
            amount_minor: o.amount_minor,
            currency: o.currency,
        },
        turnaround_days: o.turnaround_days,
        due_date: o.due_date,
        carrier: o.carrier,
        tracking_number: o.tracking_number,
        cancel_reason: o.cancel_reason,
        cancelled_by: o.cancelled_by,
        remake_of: o.remake_of,
        remake_reason: o.remake_reason,
        remake_notes: o.remake_notes,
        cost_bearer: o.cost_bearer,
        remakes,
        transitions,
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

/// Records one move of an order (inside the caller's transaction).
pub(crate) async fn record_transition<C: ConnectionTrait>(
    txn: &C,
    order_id: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    p: &Principal,
    side: &str,
    note: Option<String>,
) -> Result<(), ApiError> {
    order_transition::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order_id),
        from_status: Set(from.map(|f| f.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        actor_user_id: Set(p.user_id.0),
        actor_side: Set(side.to_owned()),
        note: Set(note),
        at: Set(now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// An order the caller's organisation is a side of, and which side; anyone
/// else gets 404.
async fn load_order(
    state: &MarketState,
    req: &HttpRequest,
    p: &Principal,
    raw: &str,
) -> Result<(order::Model, Actor), ApiError> {
    policy::require_full_session(p)?;
    let found = match Uuid::parse_str(raw) {
        Ok(id) => order::Entity::find_by_id(id).one(&state.db).await?,
        Err(_) => None,
    };
    if let Some(o) = found {
        if p.role_in(OrgId(o.clinic_org_id)).is_some() {
            return Ok((o, Actor::Clinic));
        }
        if p.role_in(OrgId(o.lab_org_id)).is_some() {
            return Ok((o, Actor::Lab));
        }
    }
    Err(not_found(state, req, p, "order", raw).await)
}

fn side_name(a: Actor) -> &'static str {
    match a {
        Actor::Clinic => "clinic",
        Actor::Lab => "lab",
        Actor::Support => "support",
    }
}

fn lab_of(o: &order::Model, a: Actor) -> Option<Uuid> {
    (a == Actor::Lab).then_some(o.lab_org_id)
}

/// The order's trail entry for `action` by `side`.
fn order_trail<'a>(o: &order::Model, side: Actor, action: &'a str, outcome: Outcome) -> Trail<'a> {
    Trail {
        clinic: o.clinic_org_id,
        action,
        resource: "order",
        id: o.id.to_string(),
        lab: lab_of(o, side),
        outcome,
    }
}

fn clean(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The orders of the caller's organisations, newest first, keyset paging;
/// `overdue` marks open orders past their due date.
#[utoipa::path(get, path = "/api/v1/orders", tag = "market", security(("bearer" = [])), params(OrderQuery),
    responses((status = 200, body = OrderList), (status = 400, body = dentex_http::Problem)))]
#[get("/api/v1/orders")]
pub async fn list_orders(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    q: web::Query<OrderQuery>,
) -> Result<HttpResponse, ApiError> {
    policy::require_full_session(&p)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            &dentex_http::codes::INVALID_QUERY,
            "limit: between 1 and 200.",
        ));
    }
    let status = match &q.status {
        Some(s) => Some(OrderStatus::parse(s).ok_or_else(|| {
            ApiError::new(
                &dentex_http::codes::INVALID_QUERY,
                "status: one of awaiting_payment, in_production, shipped, delivered, completed, cancelled.",
            )
        })?),
        None => None,
    };
    let cursor = match &q.cursor {
        Some(c) => Some(
            Uuid::parse_str(c)
                .map_err(|_| ApiError::new(&dentex_http::codes::INVALID_QUERY, "cursor: not one we gave."))?,
        ),
        None => None,
    };
    let mine: Vec<Uuid> = p.memberships.iter().map(|(o, _)| o.0).collect();
    if mine.is_empty() {
        return Ok(HttpResponse::Ok().json(OrderList {
            items: Vec::new(),
            next_cursor: None,
        }));
    }
    let mut query = order::Entity::find().filter(
        Condition::any()
            .add(order::Column::ClinicOrgId.is_in(mine.clone()))
            .add(order::Column::LabOrgId.is_in(mine)),
    );
    if let Some(s) = status {
        query = query.filter(order::Column::Status.eq(s.as_str()));
    }
    if let Some(c) = cursor {
        query = query.filter(order::Column::Id.lt(c));
    }
    let mut rows = query
        .order_by_desc(order::Column::Id)
        .limit(limit + 1)
        .all(&state.db)
        .await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|o| o.id.to_string())
    } else {
        None
    };
    let items = order_views(&state.db, rows).await?;
    let mut ev = crate::trail::event(&req, &p, "order.list", "order", Outcome::Success);
    ev.org_id = p.memberships.first().map(|(o, _)| *o);
    crate::trail::record(&state, ev).await?;
    Ok(HttpResponse::Ok().json(OrderList { items, next_cursor }))
}

/// One order with every move it made.
#[utoipa::path(get, path = "/api/v1/orders/{order}", tag = "market", security(("bearer" = [])),
    params(("order" = Uuid, Path)), responses((status = 200, body = OrderView), (status = 404, body = dentex_http::Problem)))]
#[get("/api/v1/orders/{order}")]
pub async fn get_order(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (o, side) = load_order(&state, &req, &p, &path).await?;
    audit(&state, &req, &p, order_trail(&o, side, "order.read", Outcome::Success)).await?;
    Ok(HttpResponse::Ok().json(order_view(&state.db, o, true).await?))
}

/// Moves an order on. Each side may make only its own moves (the lab ships,
/// the clinic confirms delivery and completes; either cancels before
/// shipping, owners and admins only); an impossible move is 409 and names
/// the moves that are possible.
#[utoipa::path(post, path = "/api/v1/orders/{order}/transitions", tag = "market", security(("bearer" = [])),
    params(("order" = Uuid, Path)), request_body = TransitionInput,
    responses((status = 200, body = OrderView), (status = 403, body = dentex_http::Problem), (status = 404, body = dentex_http::Problem),
        (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/orders/{order}/transitions")]
pub async fn transition(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: dentex_http::Json<TransitionInput>,
) -> Result<HttpResponse, ApiError> {
    let (o, side) = load_order(&state, &req, &p, &path).await?;
    let input = input.into_inner();
    let Some(to) = OrderStatus::parse(input.to.trim()) else {
        return Err(ApiError::validation(vec![FieldError::new(
            "to",
            "unknown_status",
            "One of in_production, shipped, delivered, completed, cancelled.",
        )]));
    };
    let from = OrderStatus::parse(&o.status).ok_or_else(|| ApiError::internal(anyhow_status(&o.status)))?;
    if let Err(e) = rules::check_move(from, to, side) {
        let allowed: Vec<&str> = e.allowed.iter().map(|s| s.as_str()).collect();
        audit(
            &state,
            &req,
            &p,
            order_trail(&o, side, "order.transition", Outcome::Denied),
        )
        .await?;
        return Err(ApiError::new(
            &crate::codes::TRANSITION_NOT_ALLOWED,
            format!(
                "An order that is {from} cannot become {to} by the {}. Possible now: {}.",
                side_name(side),
                if allowed.is_empty() {
                    "nothing".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
        )
        .with_errors(
            e.allowed
                .iter()
                .map(|s| FieldError::new("to", "allowed", s.as_str()))
                .collect(),
        ));
    }
    let org = if side == Actor::Clinic {
        o.clinic_org_id
    } else {
        o.lab_org_id
    };
    let mut errors = Vec::new();
    let (mut carrier, mut tracking, mut reason) = (None, None, None);
    match to {
        OrderStatus::Shipped => {
            carrier = clean(input.carrier.as_deref());
            tracking = clean(input.tracking_number.as_deref());
            for (field, v) in [("carrier", &carrier), ("tracking_number", &tracking)] {
                match v {
                    None => errors.push(FieldError::new(field, "required", "Say how it ships.")),
                    Some(s) if s.chars().count() > TRACKING_MAX => errors.push(FieldError::new(
                        field,
                        "too_long",
                        format!("At most {TRACKING_MAX} characters."),
                    )),
                    _ => {}
                }
            }
        }
        OrderStatus::Cancelled => {
            guard(
                &state,
                &req,
                &p,
                order_trail(&o, side, "order.transition", Outcome::Denied),
                require_manager(&p, org, "cancel an order"),
            )
            .await?;
            reason = clean(input.reason.as_deref());
            match &reason {
                None => errors.push(FieldError::new("reason", "required", "Say why the order is cancelled.")),
                Some(r) if r.chars().count() > TEXT_MAX => errors.push(FieldError::new(
                    "reason",
                    "too_long",
                    format!("At most {TEXT_MAX} characters."),
                )),
                _ => {}
            }
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now()));
    if to == OrderStatus::Shipped {
        update = update
            .col_expr(order::Column::Carrier, Expr::value(carrier.clone()))
            .col_expr(order::Column::TrackingNumber, Expr::value(tracking.clone()));
    }
    if to == OrderStatus::Cancelled {
        update = update
            .col_expr(order::Column::CancelReason, Expr::value(reason.clone()))
            .col_expr(order::Column::CancelledBy, Expr::value(side_name(side)));
    }
    // From the state it was read in: a move made meanwhile wins.
    let r = update
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(ApiError::new(
            &crate::codes::ORDER_CHANGED,
            "The order moved meanwhile; read it again.",
        ));
    }
    record_transition(&txn, o.id, Some(from), to, &p, side_name(side), reason).await?;
    if to == OrderStatus::Cancelled && o.award_case_id.is_some() {
        // The award is undone: the case is open to quotes again (the clinic
        // may accept another or cancel it); the lab no longer sees the
        // patient reference and sees the case only as any lab it was sent to.
        order::Entity::update_many()
            .col_expr(order::Column::AwardCaseId, Expr::value(Option::<Uuid>::None))
            .filter(order::Column::Id.eq(o.id))
            .exec(&txn)
            .await?;
        let reopened = dentex_cases::service::cases::reopen(&txn, o.case_id).await?;
        if reopened {
            // The accepted quote ends with its order; the other labs'
            // quotes that are still valid stand again, and those labs hear
            // that the case is open.
            quote::Entity::update_many()
                .col_expr(
                    quote::Column::Status,
                    Expr::value(dentex_domain::QuoteStatus::Cancelled.as_str()),
                )
                .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
                .filter(quote::Column::Id.eq(o.quote_id))
                .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Accepted.as_str()))
                .exec(&txn)
                .await?;
            let revived = quote::Entity::update_many()
                .col_expr(
                    quote::Column::Status,
                    Expr::value(dentex_domain::QuoteStatus::Active.as_str()),
                )
                .col_expr(quote::Column::UpdatedAt, Expr::value(now()))
                .filter(quote::Column::CaseId.eq(o.case_id))
                .filter(quote::Column::Status.eq(dentex_domain::QuoteStatus::Declined.as_str()))
                .filter(quote::Column::ValidUntil.gte(today()))
                .exec_with_returning(&txn)
                .await?;
            let case_id = o.case_id.to_string();
            for q in revived {
                notify::tell(&txn, q.lab_org_id, |to| {
                    dentex_mail::templates::case_reopened(to, &case_id)
                })
                .await?;
            }
        }
    }
    let other = if side == Actor::Clinic {
        o.lab_org_id
    } else {
        o.clinic_org_id
    };
    let order_id = o.id.to_string();
    notify::tell(&txn, other, |to_addr| {
        dentex_mail::templates::order_update(to_addr, &order_id, to.as_str())
    })
    .await?;
    audit_in(
        &txn,
        &req,
        &p,
        order_trail(&o, side, "order.transition", Outcome::Success),
    )
    .await?;
    txn.commit().await?;
    state.queue.wake();
    let o = order::Entity::find_by_id(o.id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(order_view(&state.db, o, true).await?))
}

fn anyhow_status(s: &str) -> std::io::Error {
    std::io::Error::other(format!("an order row holds an unknown status {s:?}"))
}

/// The clinic asks for a remake of delivered work: a structured reason, who
/// bears the cost, and a linked order with its own due date goes to the same
/// lab, in production at once.
#[utoipa::path(post, path = "/api/v1/orders/{order}/remakes", tag = "market", security(("bearer" = [])),
    params(("order" = Uuid, Path)), request_body = RemakeInput,
    responses((status = 201, body = OrderView), (status = 403, body = dentex_http::Problem), (status = 404, body = dentex_http::Problem),
        (status = 409, body = dentex_http::Problem), (status = 422, body = dentex_http::Problem)))]
#[post("/api/v1/orders/{order}/remakes")]
pub async fn remake(
    req: HttpRequest,
    p: Principal,
    state: web::Data<MarketState>,
    path: web::Path<String>,
    input: dentex_http::Json<RemakeInput>,
) -> Result<HttpResponse, ApiError> {
    let (o, side) = load_order(&state, &req, &p, &path).await?;
    let check = if side == Actor::Clinic {
        require_manager(&p, o.clinic_org_id, "of the clinic ask for remakes")
    } else {
        Err(policy::forbidden("The clinic asks for a remake."))
    };
    guard(
        &state,
        &req,
        &p,
        order_trail(&o, side, "order.remake", Outcome::Denied),
        check,
    )
    .await?;
    let input = input.into_inner();
    let from = OrderStatus::parse(&o.status).ok_or_else(|| ApiError::internal(anyhow_status(&o.status)))?;
    if !rules::remake_allowed(from) {
        return Err(ApiError::new(
            &crate::codes::REMAKE_NOT_ALLOWED,
            format!("A remake follows delivery; the order is {from}."),
        ));
    }
    let mut errors = Vec::new();
    let notes = clean(input.notes.as_deref());
    if notes.as_ref().is_some_and(|n| n.chars().count() > TEXT_MAX) {
        errors.push(FieldError::new(
            "notes",
            "too_long",
            format!("At most {TEXT_MAX} characters."),
        ));
    }
    let day = today();
    let due = input
        .due_date
        .unwrap_or_else(|| rules::add_working_days(day, u32::try_from(o.turnaround_days).unwrap_or(0)));
    if due <= day {
        errors.push(FieldError::new(
            "due_date",
            "not_in_future",
            "The due date must be after today.",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let lab = organization::Entity::find_by_id(o.lab_org_id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if lab.suspended_at.is_some() {
        return Err(ApiError::new(
            &crate::codes::LAB_UNAVAILABLE,
            "The lab is suspended; it cannot take a remake.",
        ));
    }
    let t = now();
    let status = OrderStatus::InProduction;
    let txn = dentex_db::begin_write(&state.db).await?;
    // The original's row is taken so it cannot move while the remake opens.
    let r = order::Entity::update_many()
        .col_expr(order::Column::UpdatedAt, Expr::value(t))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(ApiError::new(
            &crate::codes::ORDER_CHANGED,
            "The order moved meanwhile; read it again.",
        ));
    }
    let remade = order::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(o.case_id),
        award_case_id: Set(None),
        quote_id: Set(o.quote_id),
        quote_version: Set(o.quote_version),
        clinic_org_id: Set(o.clinic_org_id),
        lab_org_id: Set(o.lab_org_id),
        status: Set(status.as_str().into()),
        amount_minor: Set(input.cost_bearer.clinic_pays(o.amount_minor)),
        currency: Set(o.currency.clone()),
        turnaround_days: Set(o.turnaround_days),
        due_date: Set(due),
        carrier: Set(None),
        tracking_number: Set(None),
        cancel_reason: Set(None),
        cancelled_by: Set(None),
        remake_of: Set(Some(o.id)),
        remake_reason: Set(Some(input.reason.as_str().to_owned())),
        remake_notes: Set(notes),
        cost_bearer: Set(Some(input.cost_bearer.as_str().to_owned())),
        created_by: Set(p.user_id.0),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&txn)
    .await?;
    record_transition(
        &txn,
        remade.id,
        None,
        status,
        &p,
        "clinic",
        Some(format!("remake of {}", o.id)),
    )
    .await?;
    let (order_id, original, why) = (remade.id.to_string(), o.id.to_string(), input.reason.as_str());
    notify::tell(&txn, o.lab_org_id, |to| {
        dentex_mail::templates::remake_requested(to, &original, &order_id, why)
    })
    .await?;
    audit_in(
        &txn,
        &req,
        &p,
        Trail {
            clinic: o.clinic_org_id,
            action: "order.remake",
            resource: "order",
            id: remade.id.to_string(),
            lab: None,
            outcome: Outcome::Success,
        },
    )
    .await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(HttpResponse::Created().json(order_view(&state.db, remade, true).await?))
}
