//! Deadlines (GDPR Art. 12(3)): one month from receipt, extendable once by
//! up to two months within that first month; open requests past their due
//! date are flagged to support every day until they end.

use crate::notices;
use crate::state::PrivacyState;
use crate::store;
use chrono::{DateTime, Months, Utc};
use dentex_http::ApiError;

/// The job kind of the daily look at deadlines and held erasures.
pub const JOB: &str = "privacy.daily";

/// One month after `received` (the same day of the next month, or its
/// last day).
pub fn due(received: DateTime<Utc>) -> DateTime<Utc> {
    received.checked_add_months(Months::new(1)).unwrap_or(received)
}

/// Whether the first month after `received` is over at `now` (then no
/// extension may be made).
pub fn first_month_over(received: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= due(received)
}

/// What the daily look found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Daily {
    /// Requests past their due date, flagged to support now.
    pub flagged: Vec<uuid::Uuid>,
    /// Held erasures tried again.
    pub retried: Vec<uuid::Uuid>,
}

/// Flags open requests past their due date (at most once a day each) in
/// one mail to support, and tries held erasures again. `now` is the clock
/// (a test sets it).
pub async fn daily(state: &PrivacyState, now: DateTime<Utc>) -> Result<Daily, ApiError> {
    let late = store::overdue(&state.db, now, now - chrono::Duration::hours(20)).await?;
    let mut out = Daily::default();
    // With no address to tell, nothing is marked as told (the queue and
    // each request still show `overdue`); the log says how many wait.
    if !late.is_empty() && state.config.support_email.is_none() {
        tracing::warn!(
            count = late.len(),
            "privacy requests overdue and no privacy.support_email to tell"
        );
    } else if !late.is_empty() {
        let lines: Vec<String> = late
            .iter()
            .map(|r| format!("- {} ({}, {}): due {}", r.id, r.kind, r.status, notices::date(r.due_at)))
            .collect();
        let txn = dentex_db::begin_write(&state.db).await?;
        let ids: Vec<uuid::Uuid> = late.iter().map(|r| r.id).collect();
        store::mark_flagged(&txn, &ids, now).await?;
        notices::tell_support(
            &txn,
            state.config.support_email.as_deref(),
            &format!("{} privacy request(s) overdue", late.len()),
            format!(
                "These data-subject requests are past their due date:\n\n{}\n\nOpen the support queue: GET /api/v1/support/privacy/requests\n",
                lines.join("\n")
            ),
        )
        .await?;
        txn.commit().await?;
        state.queue.wake();
        tracing::warn!(count = ids.len(), "privacy requests overdue");
        out.flagged = ids;
    }
    // One that fails to resume does not stop the others (it is tried
    // again tomorrow).
    for r in store::held(&state.db).await? {
        match super::erasure::resume(state, r.id).await {
            Ok(()) => out.retried.push(r.id),
            Err(e) => tracing::warn!(privacy_request.id = %r.id, code = e.code, "held erasure not resumed"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_month_is_a_calendar_month() {
        let jan31 = Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).unwrap();
        assert_eq!(due(jan31), Utc.with_ymd_and_hms(2027, 2, 28, 10, 0, 0).unwrap());
        let mar3 = Utc.with_ymd_and_hms(2027, 3, 3, 0, 0, 0).unwrap();
        assert_eq!(due(mar3), Utc.with_ymd_and_hms(2027, 4, 3, 0, 0, 0).unwrap());
        assert!(!first_month_over(mar3, mar3 + chrono::Duration::days(30)));
        assert!(first_month_over(mar3, mar3 + chrono::Duration::days(31)));
    }
}
