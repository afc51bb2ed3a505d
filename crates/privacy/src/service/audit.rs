//! An organisation's audit trail for its owners and admins (and support):
//! who did what, filtered, newest first, by the page. The read is audited.

use crate::state::PrivacyState;
use dentex_accounts::Actor;
use dentex_audit::{Outcome, Search};
use dentex_db::entities::audit_event;
use dentex_domain::{OrgId, OrgRole};
use dentex_http::ApiError;
use dentex_http::paging::Page;

/// The filters, as the route takes them.
#[derive(Debug, Default)]
pub struct Filters {
    pub actor: Option<uuid::Uuid>,
    pub action: Option<String>,
    pub resource: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// A page of `raw`'s trail (owners, admins and support; a member 403,
/// anyone else 404) and the next page's cursor.
pub async fn page(
    state: &PrivacyState,
    actor: &Actor,
    raw: &str,
    f: Filters,
    page: Page<i64>,
) -> Result<(Vec<audit_event::Model>, Option<String>), ApiError> {
    dentex_accounts::policy::require_full_session(actor)?;
    let org = uuid::Uuid::parse_str(raw)
        .map(OrgId)
        .map_err(|_| ApiError::not_found())?;
    match (actor.role_in(org), actor.staff_role.is_some()) {
        (Some(OrgRole::Owner | OrgRole::Admin), _) | (None, true) => {}
        (Some(_), _) => {
            let mut ev = actor.event("access.refused", "audit", Outcome::Denied);
            ev.org_id = Some(org);
            ev.reason = Some("audit.read: forbidden".into());
            state.audit.record(ev).await?;
            return Err(dentex_accounts::policy::forbidden(
                "Owners and admins read the organisation's audit trail.",
            ));
        }
        (None, false) => return Err(ApiError::not_found()),
    }
    if actor.staff_role.is_some()
        && dentex_accounts::service::directory::organization_names(&state.db, vec![org.0])
            .await?
            .is_empty()
    {
        return Err(ApiError::not_found());
    }
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a >= b
    {
        return Err(ApiError::new(&dentex_http::codes::INVALID_QUERY, "from: before to."));
    }
    for (name, v) in [("action", &f.action), ("resource", &f.resource)] {
        if v.as_ref().is_some_and(|s| s.is_empty() || s.chars().count() > 100) {
            return Err(ApiError::new(
                &dentex_http::codes::INVALID_QUERY,
                format!("{name}: 1 to 100 characters."),
            ));
        }
    }
    if f.resource
        .as_ref()
        .is_some_and(|r| !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/'))
    {
        return Err(ApiError::new(
            &dentex_http::codes::INVALID_QUERY,
            "resource: an id (letters, digits, - and /).",
        ));
    }
    let search = Search {
        actor: f.actor,
        action: f.action,
        resource: f.resource,
        from: f.from,
        to: f.to,
        before_seq: page.after,
        limit: page.limit + 1,
    };
    let rows = state.audit.search(org, &search).await?;
    let (rows, next) = dentex_http::paging::split(rows, page.limit, |r| r.seq);
    let mut ev = actor.event("audit.read", "organization", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(org.to_string());
    ev.reason = Some(format!("{} row(s)", rows.len()));
    state.audit.record(ev).await?;
    Ok((rows, next))
}
