//! Break-glass (SECURITY.md item 4): after a fresh sign-in with a second
//! step, a support agent is granted read access to one case, for a stated
//! reason and at most an hour. The grant and its audit row commit with the
//! mail that tells the clinic's owners and admins at once (case id, agent,
//! reason, window); the cases crate decides every read under it and audits
//! each; it ends by itself.

use super::{invalid, support_step, text};
use crate::notices;
use crate::state::PrivacyState;
use dentex_accounts::Actor;
use dentex_audit::Outcome;
use dentex_domain::OrgId;
use dentex_http::ApiError;
use uuid::Uuid;

pub type Grant = dentex_cases::break_glass::Grant;

/// Grants `actor` read access to case `case` for `minutes` (1 to 60).
pub async fn grant(
    state: &PrivacyState,
    actor: &Actor,
    case: Option<Uuid>,
    reason: Option<&str>,
    minutes: Option<i64>,
) -> Result<Grant, ApiError> {
    support_step(state, actor, "break_glass.grant").await?;
    let case = case.ok_or_else(|| invalid("case", "required", "The case to read."))?;
    let reason = text("reason", reason, 500)?;
    let minutes = match minutes {
        Some(m @ 1..=60) => m,
        _ => return Err(invalid("minutes", "out_of_range", "1 to 60.")),
    };
    let c = dentex_cases::break_glass::case_of(&state.db, case)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let agent = dentex_accounts::service::directory::display_names(&state.db, vec![actor.user_id.0])
        .await?
        .remove(&actor.user_id.0)
        .unwrap_or_else(|| "a support agent".into());
    let txn = dentex_db::begin_write(&state.db).await?;
    let g = dentex_cases::break_glass::grant(&txn, &c, actor.user_id.0, &reason, minutes).await?;
    let text = format!(
        "A Dentex support agent ({agent}) was given read access to case {} from {} to {} UTC (break-glass).\n\
         The reason given:\n\n{reason}\n\nEvery read is in your organisation's audit trail \
         (GET /api/v1/organizations/{}/audit?actor={}).\n",
        c.id,
        g.granted_at.format("%Y-%m-%d %H:%M"),
        g.expires_at.format("%Y-%m-%d %H:%M"),
        c.clinic_org_id,
        actor.user_id.0
    );
    notices::tell_managers(&txn, c.clinic_org_id, "Support was given access to a case", &text).await?;
    let mut ev = actor.event("break_glass.grant", "case", Outcome::Success);
    ev.org_id = Some(OrgId(c.clinic_org_id));
    ev.resource_id = Some(c.id.to_string());
    ev.reason = Some(format!("{minutes} minute(s): {reason}"));
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    tracing::info!(case.id = %c.id, minutes, "break-glass granted");
    Ok(g)
}
