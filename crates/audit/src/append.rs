//! The chain's rows: appending linked rows inside a transaction (both ways
//! in end here) and the hash that links them.

use super::*;

/// Appends `events` inside the caller's transaction `txn` (which must be a
/// write transaction: `dentex_db::begin_write`), so they commit or roll back
/// with the change they record. Returns the ids in the events' order.
pub async fn append_in<C: ConnectionTrait>(txn: &C, events: &[AuditEvent]) -> Result<Vec<AuditEventId>, DbErr> {
    let mut ids = vec![AuditEventId(uuid::Uuid::nil()); events.len()];
    let mut chains: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let chain = ev.chain();
        match chains.iter_mut().find(|(c, _)| *c == chain) {
            Some((_, idx)) => idx.push(i),
            None => chains.push((chain, vec![i])),
        }
    }
    // Chains in a fixed order, so two transactions never wait on each other's.
    chains.sort_by(|a, b| a.0.cmp(&b.0));
    for (chain, idx) in chains {
        let batch: Vec<&AuditEvent> = idx.iter().map(|&i| &events[i]).collect();
        for (i, id) in idx.into_iter().zip(append_chain(txn, &chain, &batch).await?) {
            ids[i] = id;
        }
    }
    Ok(ids)
}

/// The rows of `batch`, each linked to the one before (from `prev_hash`),
/// numbered after `seq` (left at the last); and the new head's hash.
fn linked_rows(
    chain: &str,
    batch: &[&AuditEvent],
    seq: &mut i64,
    mut prev_hash: String,
    occurred_at: chrono::DateTime<chrono::Utc>,
) -> (Vec<AuditEventId>, Vec<audit_event::ActiveModel>, String) {
    let mut ids = Vec::with_capacity(batch.len());
    let mut rows = Vec::with_capacity(batch.len());
    for ev in batch {
        *seq += 1;
        let id = AuditEventId::new();
        let mut row = audit_event::Model {
            id: id.0,
            chain: chain.to_owned(),
            seq: *seq,
            org_id: ev.org_id.map(|o| o.0),
            actor_id: ev.actor_id.map(|u| u.0),
            actor_kind: ev.actor_kind.as_str().into(),
            action: ev.action.clone(),
            resource_type: ev.resource_type.clone(),
            resource_id: ev.resource_id.clone(),
            outcome: ev.outcome.as_str().into(),
            request_id: ev.request_id.clone(),
            client_addr: ev.client_addr.clone(),
            reason: ev.reason.clone(),
            occurred_at,
            prev_hash: prev_hash.clone(),
            hash: String::new(),
            acting_org_id: ev.acting_org_id.map(|o| o.0),
        };
        row.hash = row_hash(&row);
        prev_hash = row.hash.clone();
        ids.push(id);
        rows.push(audit_event::ActiveModel::from(row));
    }
    (ids, rows, prev_hash)
}

/// Appends `batch` to `chain` in `txn`: takes the chain's turn, reads its
/// head, inserts the linked rows and moves the head.
pub(crate) async fn append_chain<C: ConnectionTrait>(
    txn: &C,
    chain: &str,
    batch: &[&AuditEvent],
) -> Result<Vec<AuditEventId>, DbErr> {
    let backend = txn.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        // Writers of one chain take turns; other chains are not held up.
        txn.execute_raw(stmt(
            backend,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7340))",
            vec![chain.into()],
        ))
        .await?;
    }
    let head = audit_head::Entity::find_by_id(chain.to_owned()).one(txn).await?;
    let (mut seq, prev_hash) = head
        .as_ref()
        .map_or((0, GENESIS.to_owned()), |h| (h.seq, h.hash.clone()));
    let occurred_at = now();
    let (ids, rows, hash) = linked_rows(chain, batch, &mut seq, prev_hash, occurred_at);
    // Statements of a few fixed sizes (32, 16, … 1 rows), so every batch
    // reuses statements the connection has prepared before instead of
    // compiling one of its own length. (Not more than 32 rows: on
    // PostgreSQL a statement of 128 rows, 2,048 parameters, took 90 ms
    // where four of 32 take 2.)
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let n = insert_chunk(rest.len());
        let (chunk, tail) = rest.split_at(n);
        audit_event::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
        rest = tail;
    }
    match head {
        Some(h) => {
            let r = audit_head::Entity::update_many()
                .col_expr(audit_head::Column::Seq, sea_orm::sea_query::Expr::value(seq))
                .col_expr(audit_head::Column::Hash, sea_orm::sea_query::Expr::value(hash))
                .col_expr(
                    audit_head::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(occurred_at),
                )
                .filter(audit_head::Column::Chain.eq(chain))
                .filter(audit_head::Column::Seq.eq(h.seq))
                .exec(txn)
                .await?;
            if r.rows_affected != 1 {
                return Err(DbErr::Custom("audit head moved".into()));
            }
        }
        None => {
            audit_head::ActiveModel {
                chain: Set(chain.to_owned()),
                seq: Set(seq),
                hash: Set(hash),
                updated_at: Set(occurred_at),
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(ids)
}

/// The largest power of two up to 32 that is at most `n` (`n` ≥ 1).
pub(crate) fn insert_chunk(n: usize) -> usize {
    let n = n.clamp(1, 32);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

pub(crate) fn retryable(e: &DbErr) -> bool {
    if is_unique_violation(e) || matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    let s = e.to_string();
    s.contains("audit head moved")
        || s.contains("database is locked")
        || s.contains("could not serialize")
        // A pooled connection the server closed (a restart): another one.
        || s.contains("connection closed")
        || s.contains("Connection reset")
        || s.contains("Broken pipe")
}

/// SHA-256 over the previous hash and an unambiguous (JSON array) encoding of
/// every field but the hash itself.
pub fn row_hash(r: &audit_event::Model) -> String {
    let fields = serde_json::json!([
        r.chain,
        r.seq,
        r.id,
        r.org_id,
        r.actor_id,
        r.actor_kind,
        r.action,
        r.resource_type,
        r.resource_id,
        r.outcome,
        r.request_id,
        r.client_addr,
        r.reason,
        r.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    ]);
    // Fields added later join the encoding only when set, so rows written
    // before them hash as they did.
    let mut fields = fields;
    if let (Some(acting), Some(list)) = (r.acting_org_id, fields.as_array_mut()) {
        list.push(serde_json::json!({ "acting_org_id": acting }));
    }
    let mut h = Sha256::new();
    h.update(r.prev_hash.as_bytes());
    h.update(b"\n");
    h.update(fields.to_string().as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::insert_chunk;

    #[test]
    fn batches_split_into_a_few_fixed_sizes() {
        assert_eq!(insert_chunk(1), 1);
        assert_eq!(insert_chunk(50), 32);
        assert_eq!(insert_chunk(31), 16);
        assert_eq!(insert_chunk(255), 32);
    }
}
