//! Support's queue of open disputes: the soonest evidence deadline first,
//! so that no deadline passes unseen (Stripe decides a dispute without
//! evidence against the platform).

use crate::state::PaymentsState;
use crate::store::{self, Payment};
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_http::ApiError;

/// At most `limit` (1 to 200, default 50) payments with an open dispute.
pub async fn open(state: &PaymentsState, actor: &Actor, limit: Option<u64>) -> Result<Vec<Payment>, ApiError> {
    super::support_only(state, actor, "payment.disputes").await?;
    let page = dentex_http::paging::page::<String>(limit, None)?;
    let rows = store::payments::disputed(&state.db, page.limit).await?;
    let mut ev = actor.event("support.disputes_read", "payment", Outcome::Success);
    ev.reason = Some(format!("{} listed", rows.len()));
    state.audit.record(ev).await?;
    Ok(rows)
}
