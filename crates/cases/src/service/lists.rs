//! The case list: a page of what the actor's organisations may see,
//! decided for the page at once, and audited as read.

use super::cases::Shown;
use super::{case_event, today};
use crate::policy::{self, Viewer};
use crate::state::CasesState;
use crate::store::{self, ListScope};
use dentex_accounts::{Actor, policy as accounts_policy};
use dentex_db::entities::case;
use dentex_domain::CaseStatus;
use dentex_http::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// `draft`, `submitted`, `awarded` or `canceled`.
    #[param(value_type = Option<dentex_domain::CaseStatus>)]
    pub status: Option<String>,
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// A page of the cases the actor's organisations may see.
pub struct Page {
    pub items: Vec<Shown>,
    pub next_cursor: Option<String>,
}

/// The list's query, checked.
struct ListParams {
    pub limit: u64,
    pub cursor: Option<Uuid>,
    pub status: Option<CaseStatus>,
}

impl ListParams {
    fn parse(q: &ListQuery) -> Result<Self, ApiError> {
        let bad = |m: &str| ApiError::new(&dentex_http::codes::INVALID_QUERY, m.to_owned());
        let limit = q.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(bad("limit: between 1 and 200."));
        }
        let status = match &q.status {
            Some(s) => Some(
                CaseStatus::parse(s)
                    .ok_or_else(|| ApiError::unknown_value("status", CaseStatus::ALL.iter().map(|s| s.as_str())))?,
            ),
            None => None,
        };
        let cursor = match &q.cursor {
            Some(c) => Some(Uuid::parse_str(c).map_err(|_| bad("cursor: not one we gave."))?),
            None => None,
        };
        Ok(Self { limit, cursor, status })
    }
}

/// The cases the actor's organisations may see, newest first: a clinic's
/// own, and for a lab those open to it. Keyset paging on the id. Each case
/// shown is a read of its Rx, audited in its clinic's chain (one write per
/// chain for the whole page).
pub async fn list(state: &CasesState, actor: &Actor, query: &ListQuery) -> Result<Page, ApiError> {
    accounts_policy::require_full_session(actor)?;
    let params = ListParams::parse(query)?;
    let mine: Vec<Uuid> = actor.memberships.iter().map(|(o, _)| o.0).collect();
    let scope = ListScope::of(&store::organizations(&state.db, mine).await?);
    if scope.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let (shown, next_cursor) = visible_page(state, actor, &scope, &params).await?;
    let events = shown
        .iter()
        .map(|(c, v)| case_event(actor, c, *v, "case.list", None))
        .collect();
    state.audit.record_many(events).await?;
    // The labs each case was sent to, for the clinic's cases of the page, at once.
    let clinic_cases = shown.iter().filter(|(_, v)| v.is_clinic()).map(|(c, _)| c.id).collect();
    let mut named = store::named_labs_of(&state.db, clinic_cases).await?;
    let items = shown
        .into_iter()
        .map(|(case, viewer)| Shown {
            labs: if viewer.is_clinic() {
                named.remove(&case.id).unwrap_or_default()
            } else {
                Vec::new()
            },
            case,
            viewer,
        })
        .collect();
    Ok(Page { items, next_cursor })
}

/// Fetches until the page is full. Open cases are checked for each lab's
/// services and verification here, so a page may need more than one fetch;
/// the rows looked at per request are bounded, and a short page then
/// carries a cursor to go on from.
async fn visible_page(
    state: &CasesState,
    actor: &Actor,
    scope: &ListScope,
    params: &ListParams,
) -> Result<(Vec<(case::Model, Viewer)>, Option<String>), ApiError> {
    let limit = params.limit;
    let budget = (limit + 1) * 5;
    let mut after = params.cursor;
    let mut scanned = 0u64;
    let mut shown = Vec::new();
    loop {
        let batch = store::case_page(&state.db, scope, params.status, after, limit + 1).await?;
        let exhausted = batch.len() as u64 <= limit;
        // Who sees what, for the whole fetch at once.
        let viewers = {
            let refs: Vec<&case::Model> = batch.iter().collect();
            policy::viewers(&state.db, actor, &refs, today(), None).await?
        };
        for (c, v) in batch.into_iter().zip(viewers) {
            if let Some(v) = v {
                if shown.len() as u64 == limit {
                    return Ok((shown, after.map(|a| a.to_string())));
                }
                after = Some(c.id);
                shown.push((c, v));
            } else {
                after = Some(c.id);
            }
            scanned += 1;
        }
        if exhausted {
            return Ok((shown, None));
        }
        if scanned >= budget {
            return Ok((shown, after.map(|a| a.to_string())));
        }
    }
}
