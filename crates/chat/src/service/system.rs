//! System messages: what the market's services write into a thread when
//! they change something both sides follow (a quote revised, an order
//! shipped, a remake asked), inside their own transactions. Text without
//! patient data: states, versions, carriers and tracking numbers.

use crate::store;
use crate::store::messages::NewMessage;
use dentex_events::{Outbox, Recipient};
use dentex_http::ApiError;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// Where a system message goes.
pub struct Thread {
    pub case: Uuid,
    pub clinic: Uuid,
    pub lab: Uuid,
}

/// Writes a system message (`code` names its event, `text` is what both
/// sides read) into the thread of (`case`, `lab`) in `txn`, making the
/// thread if it is not there; its `message.created` goes into `out`, which
/// the caller writes with its own events.
pub async fn post_in(
    txn: &DatabaseTransaction,
    out: &mut Outbox,
    to: Thread,
    code: &'static str,
    text: String,
) -> Result<(), ApiError> {
    let thread = store::threads::ensure(txn, to.case, to.clinic, to.lab).await?;
    let seq = store::threads::next_seq(txn, thread.id).await?;
    let m = store::messages::insert(
        txn,
        NewMessage {
            thread: thread.id,
            seq,
            sender: None,
            kind: "system",
            body: text,
            system_code: Some(code),
            at: dentex_db::now(),
        },
        &[],
    )
    .await?;
    out.push(
        [Recipient::org(to.clinic), Recipient::org(to.lab)],
        "message.created",
        Some(to.case),
        &serde_json::json!({"case_id": to.case, "thread_id": thread.id, "message_id": m.id, "seq": seq}),
    );
    Ok(())
}
