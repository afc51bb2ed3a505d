//! Quotes: a lab quotes on a case open to it, revises (a new version; the
//! clinic sees every version) or withdraws; the clinic compares them side by
//! side. Accepting one is [`super::award`].

use super::{Trail, audit, audit_in, enforce, guard, not_found, today};
use crate::notify;
use crate::policy::{self, QuoteAction};
use crate::state::MarketState;
use crate::store::{self, Case, Quote, QuoteVersion, quotes::Terms};
use chrono::NaiveDate;
use dentex_accounts::{Actor, policy as accounts_policy, validate};
use dentex_audit::Outcome;
use dentex_cases::access;
use dentex_cases::access::Viewer;
use dentex_domain::market::{self as rules, Money};
use dentex_domain::rx::Rx;
use dentex_domain::{CaseStatus, FieldError};
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

const NOTES_MAX: u64 = 4000;
const TURNAROUND_MAX: i32 = 120;
const VALIDITY_MAX_DAYS: i64 = 180;

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub amount_minor: i64,
    /// ISO 4217, e.g. `EUR`.
    #[schema(value_type = Currency)]
    pub currency: String,
}

dentex_domain::doc_enum!(
    /// `PriceInput.currency` in the document.
    Currency = "An ISO 4217 currency the market takes.",
    dentex_domain::market::CURRENCIES
);

#[derive(Deserialize, Serialize, ToSchema, Clone, Validate)]
#[serde(deny_unknown_fields)]
pub struct LineItemInput {
    /// Index of the Rx item this prices (0-based, as in `rx.items`).
    #[schema(minimum = 0, maximum = 31)]
    pub item: usize,
    #[validate(range(
        min = 0,
        max = rules::MAX_AMOUNT_MINOR,
        code = "out_of_range",
        message = "Not negative, and no more than the largest price."
    ))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub amount_minor: i64,
    #[validate(length(max = NOTES_MAX, code = "too_long", message = "At most 4000 characters."))]
    pub notes: Option<String>,
}

/// A quote's terms, sent to create one or to revise it (a new version).
#[derive(Deserialize, Serialize, ToSchema, Clone, Validate)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    /// The lab quoting; needed only when you belong to several.
    pub organization: Option<Uuid>,
    pub price: PriceInput,
    /// Working days from award to shipping (weekends skipped).
    #[validate(range(
        min = 1,
        max = TURNAROUND_MAX,
        code = "out_of_range",
        message = "Between 1 and 120 working days."
    ))]
    #[schema(minimum = 1, maximum = 120)]
    pub turnaround_days: i32,
    /// The last day the clinic may accept it.
    pub valid_until: NaiveDate,
    pub notes: Option<String>,
    /// Optional prices per Rx item; they must add up to the price.
    pub line_items: Option<Vec<LineItemInput>>,
}

/// A quote as shown: its versions, oldest first, and its lab.
pub struct ShownQuote {
    pub quote: Quote,
    pub versions: Vec<QuoteVersion>,
    /// The lab's id, name and whether it is verified today (`None`: the
    /// organisation is gone).
    pub lab: Option<(Uuid, String, bool)>,
    /// The day the view is for (expiry, delivery date).
    pub day: NaiveDate,
    /// Whether the lab can be paid through the platform.
    pub payable: bool,
}

pub(crate) async fn shown_quote(state: &MarketState, q: Quote) -> Result<ShownQuote, ApiError> {
    shown_quotes(state, vec![q])
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)
}

/// Several quotes in four queries whatever their number: the versions, the
/// labs, the labs' credentials, whether each lab can be paid through the
/// platform (asked of the crate above through the hooks).
pub(crate) async fn shown_quotes(state: &MarketState, rows: Vec<Quote>) -> Result<Vec<ShownQuote>, ApiError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let db = &state.db;
    let mut versions = store::quotes::versions_of(db, rows.iter().map(|q| q.id)).await?;
    let labs: HashMap<Uuid, store::Organization> = store::organizations(db, rows.iter().map(|q| q.lab_org_id))
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let day = today();
    let verified = {
        let all: Vec<&store::Organization> = labs.values().collect();
        dentex_accounts::verification::statuses(db, &all, day).await?
    };
    let payable = state.hooks.payable(db, labs.keys().copied().collect()).await?;
    Ok(rows
        .into_iter()
        .map(|q| ShownQuote {
            payable: payable.contains(&q.lab_org_id),
            versions: versions.remove(&q.id).unwrap_or_default(),
            lab: labs
                .get(&q.lab_org_id)
                .map(|l| (l.id, l.name.clone(), verified.get(&l.id).is_some_and(|v| v.verified))),
            quote: q,
            day,
        })
        .collect())
}

fn lab_of(v: Viewer) -> Option<Uuid> {
    match v {
        Viewer::Lab { org } => Some(org),
        Viewer::Clinic { .. } | Viewer::Support { .. } => None,
    }
}

pub(crate) fn quote_trail<'a>(c: &Case, q: &Quote, v: Viewer, action: &'a str, outcome: Outcome) -> Trail<'a> {
    Trail {
        clinic: c.clinic_org_id,
        action,
        resource: "quote",
        id: q.id.to_string(),
        lab: lab_of(v),
        outcome,
    }
}

fn case_trail<'a>(c: &Case, action: &'a str, lab: Option<Uuid>, outcome: Outcome) -> Trail<'a> {
    Trail {
        clinic: c.clinic_org_id,
        action,
        resource: "case",
        id: c.id.to_string(),
        lab,
        outcome,
    }
}

/// The case at `raw`, if the actor may see it, and how; anyone else: 404,
/// audited in the actor's own chain.
pub async fn case_for(state: &MarketState, actor: &Actor, raw: &str) -> Result<(Case, Viewer), ApiError> {
    accounts_policy::require_full_session(actor)?;
    let found = match Uuid::parse_str(raw) {
        Ok(id) => store::find_case(&state.db, id).await?,
        Err(_) => None,
    };
    if let Some(c) = found
        && let Some(v) = access::viewer(&state.db, actor, &c, today()).await?
    {
        return Ok((c, v));
    }
    Err(not_found(state, actor, "case", raw).await)
}

/// The quote at `raw` if the actor sees it (the clinic of its case, or the
/// lab that made it while that lab may still see the case) and may do
/// `action` to it. Anyone else: 404; a refusal: 403, audited.
pub async fn quote_for(
    state: &MarketState,
    actor: &Actor,
    raw: &str,
    action: QuoteAction,
) -> Result<(Quote, Case, Viewer), ApiError> {
    accounts_policy::require_full_session(actor)?;
    let found = match Uuid::parse_str(raw) {
        Ok(id) => store::quotes::find(&state.db, id).await?,
        Err(_) => None,
    };
    if let Some(q) = found
        && let Some(c) = store::find_case(&state.db, q.case_id).await?
        && let Some(v) = policy::quote_viewer(&state.db, actor, &q, &c, today()).await?
    {
        let t = quote_trail(&c, &q, v, action.label(), Outcome::Denied);
        enforce(state, actor, t, policy::decide_quote(actor, v, action)).await?;
        return Ok((q, c, v));
    }
    Err(not_found(state, actor, "quote", raw).await)
}

/// Checks a quote's terms against the case's Rx; every problem at once.
fn check_input(input: &QuoteInput, rx: &Rx) -> Result<Terms, ApiError> {
    let mut errors = Vec::new();
    let money = Money::parse(input.price.amount_minor, &input.price.currency, "price")
        .map_err(|e| errors.extend(e))
        .ok();
    errors.extend(validate::field_errors(input));
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
    if notes.is_some_and(|n| n.chars().count() as u64 > NOTES_MAX) {
        errors.push(FieldError::new(
            "notes",
            "too_long",
            format!("At most {NOTES_MAX} characters."),
        ));
    }
    let line_items = match &input.line_items {
        Some(items) => {
            errors.extend(line_item_problems(items, input.price.amount_minor, rx));
            Some(serde_json::to_string(items).map_err(ApiError::internal)?)
        }
        None => None,
    };
    match (errors.is_empty(), money) {
        (true, Some(money)) => Ok(Terms {
            money,
            turnaround_days: input.turnaround_days,
            valid_until: input.valid_until,
            notes: notes.map(str::to_owned),
            line_items,
        }),
        _ => Err(ApiError::validation(errors)),
    }
}

/// The problems of the line items, item by item, then their sum.
fn line_item_problems(items: &[LineItemInput], price: i64, rx: &Rx) -> Vec<FieldError> {
    let mut errors = Vec::new();
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
        errors.extend(
            validate::field_errors(li)
                .into_iter()
                .map(|e| FieldError::new(format!("line_items[{i}].{}", e.field), e.code, e.message)),
        );
        sum = sum.saturating_add(li.amount_minor);
    }
    if !items.is_empty() && sum != price {
        errors.push(FieldError::new(
            "line_items",
            "sum_mismatch",
            format!("The line items add up to {sum}, the price is {price}."),
        ));
    }
    errors
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

pub(crate) fn not_active(q: &Quote) -> ApiError {
    ApiError::new(
        &crate::codes::QUOTE_NOT_ACTIVE,
        format!("The quote is {}; only an active quote changes.", q.status),
    )
}

/// The lab that quotes: the one the actor sees the case as, or the one named
/// (a user in several labs names it; it must see the case too). The clinic
/// passes through, to be refused by the policy.
async fn quoting_lab(
    state: &MarketState,
    actor: &Actor,
    c: &Case,
    v: Viewer,
    named: Option<Uuid>,
) -> Result<Viewer, ApiError> {
    match (v, named) {
        (Viewer::Lab { org }, Some(o)) if o != org => {
            match access::viewer_for(&state.db, actor, c, today(), Some(o)).await? {
                Some(lab @ Viewer::Lab { .. }) => Ok(lab),
                _ => Err(ApiError::validation(vec![FieldError::new(
                    "organization",
                    "not_your_lab",
                    "Quote for a lab you belong to that may see this case.",
                )])),
            }
        }
        _ => Ok(v),
    }
}

/// A lab quotes on a case open to it (owners and admins of a verified lab).
pub async fn create(state: &MarketState, actor: &Actor, raw: &str, input: QuoteInput) -> Result<ShownQuote, ApiError> {
    let (c, v) = case_for(state, actor, raw).await?;
    let v = quoting_lab(state, actor, &c, v, input.organization).await?;
    let refused = |v| case_trail(&c, "quote.create", lab_of(v), Outcome::Denied);
    enforce(
        state,
        actor,
        refused(v),
        policy::decide_quote(actor, v, QuoteAction::Create),
    )
    .await?;
    let lab = v.org();
    let lab_row = store::organization(&state.db, lab)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let verified = accounts_policy::require_verified(&state.db, &lab_row, today()).await;
    guard(state, actor, refused(v), verified).await?;
    if CaseStatus::parse(&c.status) != Some(CaseStatus::Submitted) {
        return Err(ApiError::new(
            &crate::codes::CASE_NOT_OPEN,
            "The case is no longer open to quotes.",
        ));
    }
    dentex_cases::policy::require_unrestricted(&c)?;
    let rx: Rx = serde_json::from_str(&c.rx).unwrap_or_default();
    let terms = check_input(&input, &rx)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_open_case(&txn, c.id).await?;
    if let Some(q) = store::quotes::active_of_lab(&txn, c.id, lab).await? {
        return Err(ApiError::new(
            &crate::codes::QUOTE_EXISTS,
            format!(
                "Your lab already quoted on this case: revise quote {} (PUT /api/v1/quotes/{}).",
                q.id, q.id
            ),
        ));
    }
    let q = store::quotes::insert(&txn, &c, lab, terms, actor.user_id.0).await?;
    let case_id = c.id.to_string();
    notify::tell(&txn, c.clinic_org_id, |to| {
        dentex_mail::templates::quote_received(to, &case_id, false)
    })
    .await?;
    crate::live::quote_changed(&txn, "quote.created", &q).await?;
    audit_in(&txn, actor, quote_trail(&c, &q, v, "quote.create", Outcome::Success)).await?;
    txn.commit().await?;
    dentex_events::committed();
    state.queue.wake();
    shown_quote(state, q).await
}

/// The quotes on a case: the clinic sees every lab's side by side; a lab
/// sees only its own (a user in several labs, those of each lab that may see
/// the case).
pub async fn list(
    state: &MarketState,
    actor: &Actor,
    raw: &str,
    page: dentex_http::paging::Page<Uuid>,
) -> Result<(Vec<ShownQuote>, Option<String>), ApiError> {
    let (c, v) = case_for(state, actor, raw).await?;
    let t = case_trail(&c, "quote.list", lab_of(v), Outcome::Denied);
    enforce(state, actor, t, policy::decide_quote(actor, v, QuoteAction::List)).await?;
    let labs = match v {
        Viewer::Clinic { .. } => None,
        Viewer::Support { .. } => Some(Vec::new()),
        Viewer::Lab { .. } => {
            let mut labs = Vec::new();
            for (org, _) in &actor.memberships {
                if let Some(Viewer::Lab { org }) =
                    access::viewer_for(&state.db, actor, &c, today(), Some(org.0)).await?
                {
                    labs.push(org);
                }
            }
            Some(labs)
        }
    };
    let rows = store::quotes::of_case(&state.db, c.id, labs, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = dentex_http::paging::split(rows, page.limit, |q| q.id);
    let items = shown_quotes(state, rows).await?;
    audit(state, actor, case_trail(&c, "quote.list", lab_of(v), Outcome::Success)).await?;
    Ok((items, next_cursor))
}

/// One quote (see [`quote_for`] with [`QuoteAction::Read`]), audited as read
/// in the clinic's chain.
pub async fn read(
    state: &MarketState,
    actor: &Actor,
    (q, c, v): (Quote, Case, Viewer),
) -> Result<ShownQuote, ApiError> {
    audit(state, actor, quote_trail(&c, &q, v, "quote.read", Outcome::Success)).await?;
    shown_quote(state, q).await
}

/// The lab revises its quote (see [`quote_for`] with [`QuoteAction::Revise`]):
/// the new terms become the next version; the clinic keeps every version.
pub async fn revise(
    state: &MarketState,
    actor: &Actor,
    (q, c, v): (Quote, Case, Viewer),
    input: QuoteInput,
) -> Result<ShownQuote, ApiError> {
    dentex_cases::policy::require_unrestricted(&c)?;
    let rx: Rx = serde_json::from_str(&c.rx).unwrap_or_default();
    let terms = check_input(&input, &rx)?;
    let txn = dentex_db::begin_write(&state.db).await?;
    lock_open_case(&txn, c.id).await?;
    if !store::quotes::revise(&txn, q.id, terms, actor.user_id.0).await? {
        return Err(not_active(&q));
    }
    let q = store::quotes::find(&txn, q.id).await?.ok_or_else(ApiError::not_found)?;
    store::quotes::insert_version(&txn, &q).await?;
    let case_id = c.id.to_string();
    notify::tell(&txn, c.clinic_org_id, |to| {
        dentex_mail::templates::quote_received(to, &case_id, true)
    })
    .await?;
    crate::live::quote_changed(&txn, "quote.revised", &q).await?;
    audit_in(&txn, actor, quote_trail(&c, &q, v, "quote.revise", Outcome::Success)).await?;
    txn.commit().await?;
    dentex_events::committed();
    state.queue.wake();
    shown_quote(state, q).await
}

/// The lab withdraws its quote before the award (see [`quote_for`] with
/// [`QuoteAction::Withdraw`]). The quote's own row decides: an accept that
/// took it first wins.
pub async fn withdraw(
    state: &MarketState,
    actor: &Actor,
    (q, c, v): (Quote, Case, Viewer),
) -> Result<ShownQuote, ApiError> {
    let txn = dentex_db::begin_write(&state.db).await?;
    let withdrawn = store::quotes::withdraw(&txn, q.id).await?;
    let q = store::quotes::find(&txn, q.id).await?.ok_or_else(ApiError::not_found)?;
    if !withdrawn {
        return Err(not_active(&q));
    }
    crate::live::quote_changed(&txn, "quote.withdrawn", &q).await?;
    audit_in(&txn, actor, quote_trail(&c, &q, v, "quote.withdraw", Outcome::Success)).await?;
    txn.commit().await?;
    dentex_events::committed();
    shown_quote(state, q).await
}
