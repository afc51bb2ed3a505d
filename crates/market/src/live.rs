//! What the market tells both sides as it changes: live events
//! (`quote.*`, `case.awarded`, `order.transitioned`, `remake.created`) and
//! system messages in the case's thread with the lab, written in the
//! change's own transaction (before its audit row). Ids, states, versions,
//! carriers and tracking numbers only: never notes or patient data.

use dentex_chat::service::system::{self, Thread};
use dentex_db::entities::{order, quote};
use dentex_domain::market::OrderStatus;
use dentex_events::{Outbox, Recipient};
use dentex_http::ApiError;
use sea_orm::DatabaseTransaction;

fn both(clinic: uuid::Uuid, lab: uuid::Uuid) -> [Recipient; 2] {
    [Recipient::org(clinic), Recipient::org(lab)]
}

/// A quote's event (`quote.created`, `.revised`, `.withdrawn`), with a
/// system message in the lab's thread when it was revised.
pub(crate) async fn quote_changed(
    txn: &DatabaseTransaction,
    kind: &'static str,
    q: &quote::Model,
) -> Result<(), ApiError> {
    let mut out = Outbox::new();
    out.push(
        both(q.clinic_org_id, q.lab_org_id),
        kind,
        Some(q.case_id),
        &serde_json::json!({"case_id": q.case_id, "quote_id": q.id, "status": q.status, "version": q.version}),
    );
    let text = match kind {
        "quote.revised" => Some(format!("The lab revised its quote: version {}.", q.version)),
        "quote.created" => Some("The lab sent a quote.".to_owned()),
        "quote.withdrawn" => Some("The lab withdrew its quote.".to_owned()),
        _ => None,
    };
    if let Some(text) = text {
        system::post_in(txn, &mut out, thread_of_quote(q), kind, text).await?;
    }
    out.write_in(txn).await?;
    Ok(())
}

fn thread_of_quote(q: &quote::Model) -> Thread {
    Thread {
        case: q.case_id,
        clinic: q.clinic_org_id,
        lab: q.lab_org_id,
    }
}

/// The award: `case.awarded` and `quote.accepted` for both sides,
/// `quote.declined` for each declined lab (delivered although the lab no
/// longer sees the case: it is how its screens learn it lost it), and a
/// system message in the winning thread.
pub(crate) async fn awarded(
    txn: &DatabaseTransaction,
    q: &quote::Model,
    o: &order::Model,
    declined: &[quote::Model],
) -> Result<(), ApiError> {
    let mut out = Outbox::new();
    let sides = both(q.clinic_org_id, q.lab_org_id);
    out.push(
        sides,
        "case.awarded",
        Some(q.case_id),
        &serde_json::json!({"case_id": q.case_id, "status": "awarded", "lab_id": q.lab_org_id, "order_id": o.id}),
    );
    out.push(
        sides,
        "quote.accepted",
        Some(q.case_id),
        &serde_json::json!({"case_id": q.case_id, "quote_id": q.id, "status": "accepted", "order_id": o.id}),
    );
    for d in declined {
        // Told to a lab that just lost the case: not gated by the case
        // (the gate would drop it), ids only.
        out.push(
            [Recipient::org(d.lab_org_id)],
            "quote.declined",
            None,
            &serde_json::json!({"case_id": d.case_id, "quote_id": d.id, "status": "declined"}),
        );
    }
    let text = format!("The clinic accepted the quote (version {}): order {}.", q.version, o.id);
    system::post_in(txn, &mut out, thread_of_quote(q), "quote.accepted", text).await?;
    out.write_in(txn).await?;
    Ok(())
}

/// An order's move: `order.transitioned` for both sides and a system
/// message (the carrier and tracking number when shipped).
pub(crate) async fn order_moved(
    txn: &DatabaseTransaction,
    o: &order::Model,
    from: Option<OrderStatus>,
    to: OrderStatus,
) -> Result<(), ApiError> {
    let mut out = Outbox::new();
    out.push(
        both(o.clinic_org_id, o.lab_org_id),
        "order.transitioned",
        Some(o.case_id),
        &serde_json::json!({"case_id": o.case_id, "order_id": o.id, "from": from.map(OrderStatus::as_str), "to": to.as_str()}),
    );
    let text = match (to, o.carrier.as_deref(), o.tracking_number.as_deref()) {
        (OrderStatus::Shipped, Some(c), Some(t)) => format!("Order {} shipped: {c}, tracking number {t}.", o.id),
        (OrderStatus::Shipped, _, Some(t)) => format!("Order {} shipped: tracking number {t}.", o.id),
        _ => format!("Order {} is now {}.", o.id, to.as_str()),
    };
    let code = if to == OrderStatus::Shipped {
        "order.shipped"
    } else {
        "order.transitioned"
    };
    system::post_in(
        txn,
        &mut out,
        Thread {
            case: o.case_id,
            clinic: o.clinic_org_id,
            lab: o.lab_org_id,
        },
        code,
        text,
    )
    .await?;
    out.write_in(txn).await?;
    Ok(())
}

/// A remake asked: `remake.created` for both sides and a system message
/// naming the reason (a word of the list, never the clinic's notes).
pub(crate) async fn remake_created(
    txn: &DatabaseTransaction,
    original: &order::Model,
    remade: &order::Model,
    reason: &str,
) -> Result<(), ApiError> {
    let mut out = Outbox::new();
    out.push(
        both(remade.clinic_org_id, remade.lab_org_id),
        "remake.created",
        Some(remade.case_id),
        &serde_json::json!({"case_id": remade.case_id, "order_id": remade.id, "remake_of": original.id, "status": remade.status}),
    );
    let text = format!(
        "The clinic asked for a remake of order {} ({reason}): order {}.",
        original.id, remade.id
    );
    let to = Thread {
        case: remade.case_id,
        clinic: remade.clinic_org_id,
        lab: remade.lab_org_id,
    };
    system::post_in(txn, &mut out, to, "remake.created", text).await?;
    out.write_in(txn).await?;
    Ok(())
}
