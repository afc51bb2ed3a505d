//! Orders: the state machine of `dentex_domain::market`, each move checked
//! against the actor's side and role ([`crate::policy`]), recorded (who,
//! when, from, to) and mailed to the other side without patient data;
//! remakes with a structured reason and who bears the cost.
//!
//! [`transition`] needs no HTTP request: a job or a webhook that moves an
//! order on calls it with an [`Actor`] and the [`Side`] it acts for.

use super::{Trail, audit, audit_in, enforce, not_found, problems, record, today};
use crate::notify;
use crate::policy::{self, OrderAction, Side, side_name};
use crate::state::MarketState;
use crate::store::{self, Order, Transition, orders::MoveDetails, orders::NewOrder};
use chrono::NaiveDate;
use dentex_accounts::{Actor, policy as accounts_policy, validate};
use dentex_audit::Outcome;
use dentex_db::now;
use dentex_domain::FieldError;
use dentex_domain::market::{self as rules, CostBearer, OrderStatus, RemakeReason, TransitionError};
use dentex_http::ApiError;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

const TEXT_MAX: u64 = 1000;
const TRACKING_MAX: u64 = 100;

#[derive(Deserialize, IntoParams)]
pub struct OrderQuery {
    #[param(value_type = Option<dentex_domain::market::OrderStatus>)]
    pub status: Option<String>,
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    #[schema(value_type = OrderStatus)]
    pub to: String,
    /// With `shipped`.
    pub carrier: Option<String>,
    /// With `shipped`.
    pub tracking_number: Option<String>,
    /// With `canceled`: why (shown to both sides; no patient data, please).
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemakeInput {
    pub reason: RemakeReason,
    pub notes: Option<String>,
    pub cost_bearer: CostBearer,
    /// Defaults to today plus the original turnaround in working days.
    pub due_date: Option<NaiveDate>,
}

/// How a shipment is sent (trimmed; both required).
#[derive(Validate)]
struct Shipment {
    #[validate(
        required(code = "required", message = "Say how it ships."),
        length(max = TRACKING_MAX, code = "too_long", message = "At most 100 characters.")
    )]
    carrier: Option<String>,
    #[validate(
        required(code = "required", message = "Say how it ships."),
        length(max = TRACKING_MAX, code = "too_long", message = "At most 100 characters.")
    )]
    tracking_number: Option<String>,
}

/// Why an order is cancelled (trimmed).
#[derive(Validate)]
struct Cancellation {
    #[validate(
        required(code = "required", message = "Say why the order is cancelled."),
        length(max = TEXT_MAX, code = "too_long", message = "At most 1000 characters.")
    )]
    reason: Option<String>,
}

/// A remake's notes (trimmed).
#[derive(Validate)]
struct RemakeNotes {
    #[validate(length(max = TEXT_MAX, code = "too_long", message = "At most 1000 characters."))]
    notes: Option<String>,
}

/// An order as shown: its remakes and, for a single order, its moves.
pub struct ShownOrder {
    pub order: Order,
    pub remakes: Vec<Uuid>,
    pub transitions: Option<Vec<Transition>>,
}

/// A page of orders.
pub struct Page {
    pub items: Vec<ShownOrder>,
    pub next_cursor: Option<String>,
}

pub(crate) async fn shown_order<C: ConnectionTrait>(
    db: &C,
    o: Order,
    with_transitions: bool,
) -> Result<ShownOrder, ApiError> {
    let remakes = store::orders::remakes_of(db, o.id).await?;
    let transitions = if with_transitions {
        Some(store::orders::transitions_of(db, o.id).await?)
    } else {
        None
    };
    Ok(ShownOrder {
        order: o,
        remakes,
        transitions,
    })
}

/// A page of orders, their remakes in one query.
async fn shown_orders<C: ConnectionTrait>(db: &C, rows: Vec<Order>) -> Result<Vec<ShownOrder>, ApiError> {
    let mut remakes = if rows.is_empty() {
        Default::default()
    } else {
        store::orders::remakes_of_many(db, rows.iter().map(|o| o.id)).await?
    };
    Ok(rows
        .into_iter()
        .map(|o| ShownOrder {
            remakes: remakes.remove(&o.id).unwrap_or_default(),
            order: o,
            transitions: None,
        })
        .collect())
}

fn order_trail<'a>(o: &Order, side: Side, action: &'a str, outcome: Outcome) -> Trail<'a> {
    Trail {
        clinic: o.clinic_org_id,
        action,
        resource: "order",
        id: o.id.to_string(),
        lab: (side == Side::Lab).then_some(o.lab_org_id),
        outcome,
    }
}

fn clean(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn status_of(o: &Order) -> Result<OrderStatus, ApiError> {
    OrderStatus::parse(&o.status).ok_or_else(|| {
        ApiError::internal(std::io::Error::other(format!(
            "an order row holds an unknown status {:?}",
            o.status
        )))
    })
}

/// An order the actor's organisation is a side of, and which side; anyone
/// else gets 404, audited in the actor's own chain.
pub async fn order_for(state: &MarketState, actor: &Actor, raw: &str) -> Result<(Order, Side), ApiError> {
    accounts_policy::require_full_session(actor)?;
    let found = match Uuid::parse_str(raw) {
        Ok(id) => store::orders::find(&state.db, id).await?,
        Err(_) => None,
    };
    if let Some(o) = found
        && let Some(side) = policy::side_of(actor, &o)
    {
        return Ok((o, side));
    }
    Err(not_found(state, actor, "order", raw).await)
}

/// Asks the policy whether the actor, on `side`, may do `action` to `o`;
/// a refusal is audited (403, or 409 for an impossible move).
pub async fn authorize(
    state: &MarketState,
    actor: &Actor,
    o: &Order,
    side: Side,
    action: OrderAction,
) -> Result<(), ApiError> {
    let t = order_trail(o, side, action.label(), Outcome::Denied);
    enforce(state, actor, t, policy::decide_order(actor, o, side, action)).await
}

/// The 409 of a move the side may not make, naming the moves possible now.
/// Whether `side` may never move an order to `to`, from any state.
pub(crate) fn never_moves(side: Side, to: OrderStatus) -> bool {
    OrderStatus::ALL
        .iter()
        .all(|from| !dentex_domain::market::allowed_moves(*from, side).contains(&to))
}

/// Who may move an order to `to`, for a 403.
pub(crate) fn never_detail(side: Side, to: OrderStatus) -> String {
    let who: Vec<&str> = [Side::Clinic, Side::Lab, Side::Support]
        .into_iter()
        .filter(|s| !never_moves(*s, to))
        .map(side_name)
        .collect();
    format!(
        "The {} never makes an order {to}; {} does.",
        side_name(side),
        if who.is_empty() {
            "no one".to_owned()
        } else {
            format!("the {}", who.join(" or the "))
        }
    )
}

pub(crate) fn move_refused(e: &TransitionError, side: Side) -> ApiError {
    let allowed: Vec<&str> = e.allowed.iter().map(|s| s.as_str()).collect();
    ApiError::new(
        &crate::codes::TRANSITION_NOT_ALLOWED,
        format!(
            "An order that is {} cannot become {} by the {}. Possible now: {}.",
            e.from,
            e.to,
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
    )
}

struct ListParams {
    limit: u64,
    status: Option<OrderStatus>,
    cursor: Option<Uuid>,
}

impl ListParams {
    fn parse(q: &OrderQuery) -> Result<Self, ApiError> {
        let bad = |m: &str| ApiError::new(&dentex_http::codes::INVALID_QUERY, m.to_owned());
        let limit = q.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(bad("limit: between 1 and 200."));
        }
        let status = match &q.status {
            Some(s) => Some(
                OrderStatus::parse(s)
                    .ok_or_else(|| ApiError::unknown_value("status", OrderStatus::ALL.iter().map(|s| s.as_str())))?,
            ),
            None => None,
        };
        let cursor = match &q.cursor {
            Some(c) => Some(Uuid::parse_str(c).map_err(|_| bad("cursor: not one we gave."))?),
            None => None,
        };
        Ok(Self { limit, status, cursor })
    }
}

/// The orders of the actor's organisations, newest first, keyset paging.
pub async fn list(state: &MarketState, actor: &Actor, q: &OrderQuery) -> Result<Page, ApiError> {
    accounts_policy::require_full_session(actor)?;
    let ListParams { limit, status, cursor } = ListParams::parse(q)?;
    let mine: Vec<Uuid> = actor.memberships.iter().map(|(o, _)| o.0).collect();
    if mine.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let mut rows = store::orders::page(&state.db, mine, status, cursor, limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|o| o.id.to_string())
    } else {
        None
    };
    let items = shown_orders(&state.db, rows).await?;
    let mut ev = actor.event("order.list", "order", Outcome::Success);
    ev.org_id = actor.memberships.first().map(|(o, _)| *o);
    record(state, ev).await?;
    Ok(Page { items, next_cursor })
}

/// One order with every move it made, audited as read.
pub async fn read(state: &MarketState, actor: &Actor, o: Order, side: Side) -> Result<ShownOrder, ApiError> {
    authorize(state, actor, &o, side, OrderAction::Read).await?;
    audit(state, actor, order_trail(&o, side, "order.read", Outcome::Success)).await?;
    shown_order(&state.db, o, true).await
}

/// What the move writes besides the status, checked: every problem at once.
fn move_details(to: OrderStatus, side: Side, input: &TransitionInput) -> Result<MoveDetails, ApiError> {
    match to {
        OrderStatus::Shipped => {
            let s = Shipment {
                carrier: clean(input.carrier.as_deref()),
                tracking_number: clean(input.tracking_number.as_deref()),
            };
            problems(validate::field_errors(&s))?;
            Ok(MoveDetails::Shipped {
                carrier: s.carrier,
                tracking: s.tracking_number,
            })
        }
        OrderStatus::Canceled => {
            let c = Cancellation {
                reason: clean(input.reason.as_deref()),
            };
            problems(validate::field_errors(&c))?;
            Ok(MoveDetails::Canceled {
                reason: c.reason,
                by: side_name(side),
            })
        }
        _ => Ok(MoveDetails::None),
    }
}

/// Moves an order on, for `side`. Each side may make only its own moves (the
/// lab ships, the clinic confirms delivery and completes; either cancels
/// before shipping, owners and admins only); an impossible move is 409 and
/// names the moves that are possible. Cancelling an awarded order reopens
/// its case to quotes.
pub async fn transition(
    state: &MarketState,
    actor: &Actor,
    o: Order,
    side: Side,
    input: TransitionInput,
) -> Result<ShownOrder, ApiError> {
    let Some(to) = OrderStatus::parse(input.to.trim()) else {
        return Err(ApiError::validation(vec![FieldError::new(
            "to",
            "unknown_status",
            "One of in_production, shipped, delivered, completed, canceled.",
        )]));
    };
    let from = status_of(&o)?;
    authorize(state, actor, &o, side, OrderAction::Transition { from, to }).await?;
    let details = move_details(to, side, &input)?;
    let reason = match &details {
        MoveDetails::Canceled { reason, .. } => reason.clone(),
        _ => None,
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    // From the state it was read in: a move made meanwhile wins.
    if !store::orders::move_status(&txn, o.id, from, to, details).await? {
        return Err(order_changed());
    }
    store::orders::insert_transition(&txn, o.id, Some(from), to, actor.user_id.0, side_name(side), reason).await?;
    if to == OrderStatus::Canceled && o.award_case_id.is_some() {
        undo_award(&txn, &o).await?;
    }
    let other = if side == Side::Clinic {
        o.lab_org_id
    } else {
        o.clinic_org_id
    };
    let order_id = o.id.to_string();
    notify::tell(&txn, other, |to_addr| {
        dentex_mail::templates::order_update(to_addr, &order_id, to.as_str())
    })
    .await?;
    let moved = store::orders::find(&txn, o.id).await?.ok_or_else(ApiError::not_found)?;
    crate::live::order_moved(&txn, &moved, Some(from), to).await?;
    state.hooks.moved(&txn, &moved, Some(from), to).await?;
    audit_in(&txn, actor, order_trail(&o, side, "order.transition", Outcome::Success)).await?;
    txn.commit().await?;
    dentex_events::committed();
    state.queue.wake();
    let o = store::orders::find(&state.db, o.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    shown_order(&state.db, o, true).await
}

/// The clinic's payment arrived: an order still `awaiting_payment` goes
/// into production, inside the caller's transaction (a payment provider's
/// job, which writes its own audit row). The move is the domain's
/// (`Side::Payment`), recorded as made by `payer`, the person who paid;
/// the lab is told, by mail and live. `None` when the order is no longer
/// waiting (moved or cancelled meanwhile): nothing changes.
pub async fn start_paid(
    txn: &DatabaseTransaction,
    order_id: uuid::Uuid,
    payer: uuid::Uuid,
) -> Result<Option<Order>, ApiError> {
    let Some(o) = store::orders::find(txn, order_id).await? else {
        return Ok(None);
    };
    let from = status_of(&o)?;
    let to = OrderStatus::InProduction;
    if from != OrderStatus::AwaitingPayment {
        return Ok(None);
    }
    rules::check_move(from, to, Side::Payment).map_err(|e| move_refused(&e, Side::Payment))?;
    if !store::orders::move_status(txn, o.id, from, to, MoveDetails::None).await? {
        return Ok(None);
    }
    let note = Some("paid through the platform".to_owned());
    store::orders::insert_transition(txn, o.id, Some(from), to, payer, side_name(Side::Payment), note).await?;
    let order_id = o.id.to_string();
    notify::tell(txn, o.lab_org_id, |to_addr| {
        dentex_mail::templates::order_update(to_addr, &order_id, to.as_str())
    })
    .await?;
    let moved = store::orders::find(txn, o.id).await?.ok_or_else(ApiError::not_found)?;
    crate::live::order_moved(txn, &moved, Some(from), to).await?;
    Ok(Some(moved))
}

fn order_changed() -> ApiError {
    ApiError::new(
        &crate::codes::ORDER_CHANGED,
        "The order moved meanwhile; read it again.",
    )
}

/// The award is undone: the case is open to quotes again (the clinic may
/// accept another or cancel it); the lab no longer sees the patient
/// reference and sees the case only as any lab it was sent to.
async fn undo_award(txn: &DatabaseTransaction, o: &Order) -> Result<(), ApiError> {
    store::orders::clear_award(txn, o.id).await?;
    if !dentex_cases::service::cases::reopen(txn, o.case_id).await? {
        return Ok(());
    }
    // The accepted quote ends with its order; the other labs' quotes that
    // are still valid stand again, and those labs hear that the case is open.
    store::quotes::cancel_accepted(txn, o.quote_id).await?;
    let revived = store::quotes::revive_declined(txn, o.case_id, today()).await?;
    let case_id = o.case_id.to_string();
    for q in revived {
        notify::tell(txn, q.lab_org_id, |to| {
            dentex_mail::templates::case_reopened(to, &case_id)
        })
        .await?;
    }
    Ok(())
}

/// The clinic asks for a remake of delivered work (owners and admins): a
/// structured reason, who bears the cost, and a linked order with its own
/// due date goes to the same lab, in production at once.
pub async fn remake(
    state: &MarketState,
    actor: &Actor,
    o: Order,
    side: Side,
    input: RemakeInput,
) -> Result<ShownOrder, ApiError> {
    authorize(state, actor, &o, side, OrderAction::Remake).await?;
    let from = status_of(&o)?;
    if !rules::remake_allowed(from) {
        return Err(ApiError::new(
            &crate::codes::REMAKE_NOT_ALLOWED,
            format!("A remake follows delivery; the order is {from}."),
        ));
    }
    let notes = RemakeNotes {
        notes: clean(input.notes.as_deref()),
    };
    let mut errors = validate::field_errors(&notes);
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
    problems(errors)?;
    let lab = store::organization(&state.db, o.lab_org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if lab.suspended_at.is_some() {
        return Err(ApiError::new(
            &crate::codes::LAB_UNAVAILABLE,
            "The lab is suspended; it cannot take a remake.",
        ));
    }
    let remade = open_remake(state, actor, &o, from, input, notes.notes, due).await?;
    state.queue.wake();
    shown_order(&state.db, remade, true).await
}

/// The remake's transaction: the original's row is taken so it cannot move
/// while the remake opens; the remake, its first move, the lab's mail and
/// the audit row commit together.
async fn open_remake(
    state: &MarketState,
    actor: &Actor,
    o: &Order,
    from: OrderStatus,
    input: RemakeInput,
    notes: Option<String>,
    due: NaiveDate,
) -> Result<Order, ApiError> {
    let t = now();
    let status = OrderStatus::InProduction;
    let txn = dentex_db::begin_write(&state.db).await?;
    if !store::orders::lock_in(&txn, o.id, from, t).await? {
        return Err(order_changed());
    }
    let new = NewOrder {
        case_id: o.case_id,
        award_case_id: None,
        quote_id: o.quote_id,
        quote_version: o.quote_version,
        clinic_org_id: o.clinic_org_id,
        lab_org_id: o.lab_org_id,
        status,
        amount_minor: input.cost_bearer.clinic_pays(o.amount_minor),
        currency: o.currency.clone(),
        turnaround_days: o.turnaround_days,
        due_date: due,
        remake_of: Some(o.id),
        remake_reason: Some(input.reason.as_str().to_owned()),
        remake_notes: notes,
        cost_bearer: Some(input.cost_bearer.as_str().to_owned()),
        created_by: actor.user_id.0,
        at: t,
    };
    let remade = store::orders::insert(&txn, new).await?;
    let note = Some(format!("remake of {}", o.id));
    let side = side_name(Side::Clinic);
    store::orders::insert_transition(&txn, remade.id, None, status, actor.user_id.0, side, note).await?;
    let (order_id, original, why) = (remade.id.to_string(), o.id.to_string(), input.reason.as_str());
    notify::tell(&txn, o.lab_org_id, |to| {
        dentex_mail::templates::remake_requested(to, &original, &order_id, why)
    })
    .await?;
    let mut done = order_trail(o, Side::Clinic, "order.remake", Outcome::Success);
    done.id = remade.id.to_string();
    crate::live::remake_created(&txn, o, &remade, why).await?;
    state.hooks.moved(&txn, &remade, None, status).await?;
    audit_in(&txn, actor, done).await?;
    txn.commit().await?;
    dentex_events::committed();
    Ok(remade)
}
