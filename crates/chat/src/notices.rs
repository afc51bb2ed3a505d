//! The notice mails: a person with messages unread for longer than
//! `chat.notify_after_secs` gets one mail per thread and window ("A message
//! is waiting on case {id}" and a link; never the text, the sender or the
//! patient reference). Run by a periodic job; each notice is keyed on
//! (thread, person, newest sequence) and its mail is queued in the
//! notice's transaction, so a retried run sends each once.

use crate::store;
use dentex_jobs::{EnqueueOptions, Queue};
use sea_orm::{DatabaseConnection, DbErr};
use std::time::Duration;

/// The job kind.
pub const JOB: &str = "chat.notices";

/// Threads with a message in this long are looked at.
const LOOKBACK_DAYS: i64 = 7;

/// Queues the notices due now; answers how many.
pub async fn run(db: &DatabaseConnection, notify_after: Duration, base_url: &str) -> Result<u64, DbErr> {
    let after = chrono::Duration::from_std(notify_after).unwrap_or(chrono::Duration::minutes(10));
    let now = dentex_db::now();
    let threads = store::notices::active_threads(db, now - chrono::Duration::days(LOOKBACK_DAYS)).await?;
    let today = now.date_naive();
    let mut sent = 0;
    for t in threads {
        let mut sides = vec![t.clinic_org_id];
        if dentex_cases::access::org_sees(db, t.lab_org_id, vec![t.case_id], today)
            .await?
            .contains(&t.case_id)
        {
            sides.push(t.lab_org_id);
        }
        let marks = store::notices::all_marks(db, t.id).await?;
        for org in sides {
            for (user, email) in dentex_accounts::sweep::members(db, org).await? {
                let mark = marks.get(&user).copied().unwrap_or(0);
                if t.last_seq <= mark {
                    continue;
                }
                let unread = store::messages::unread_since(db, t.id, mark, user).await?;
                let (Some(first), Some(newest)) = (unread.first(), unread.last()) else {
                    continue;
                };
                if first.1 > now - after {
                    continue;
                }
                // One per thread and window.
                if store::notices::last_notice(db, t.id, user)
                    .await?
                    .is_some_and(|at| at > now - after)
                {
                    continue;
                }
                let txn = dentex_db::begin_write(db).await?;
                if store::notices::insert(&txn, t.id, user, newest.0).await? {
                    let link = format!("{}/api/v1/cases/{}/threads", base_url.trim_end_matches('/'), t.case_id);
                    let mail = dentex_mail::templates::chat_waiting(email.clone(), &t.case_id.to_string(), &link);
                    Queue::enqueue_with(&txn, dentex_mail::JOB_KIND, &mail, EnqueueOptions::default())
                        .await
                        .map_err(|e| DbErr::Custom(e.to_string()))?;
                    sent += 1;
                }
                txn.commit().await?;
            }
        }
    }
    if sent > 0 {
        tracing::info!(notices = sent, "chat notices queued");
    }
    Ok(sent)
}
