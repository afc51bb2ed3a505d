//! Verifying the chains: every link, and each chain against its head.

use super::*;

impl AuditLog {
    /// Checks every chain and reports the first broken link of each.
    pub async fn verify(&self) -> Result<VerifyReport, DbErr> {
        let mut chains: Vec<String> = audit_head::Entity::find()
            .select_only()
            .column(audit_head::Column::Chain)
            .into_tuple()
            .all(&self.db)
            .await?;
        let row_chains: Vec<String> = audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::Chain)
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        chains.extend(row_chains);
        chains.sort();
        chains.dedup();
        let mut report = VerifyReport::default();
        for chain in chains {
            report.chains += 1;
            let (rows, broken) = self.verify_chain(&chain).await?;
            report.rows += rows;
            if let Some(b) = broken {
                report.broken.push(b);
            }
        }
        Ok(report)
    }

    /// Walks one chain in order, in pages; returns the rows seen and the first break.
    pub async fn verify_chain(&self, chain: &str) -> Result<(u64, Option<BrokenLink>), DbErr> {
        const PAGE: u64 = 1000;
        let mut expected_seq = 1i64;
        let mut prev = GENESIS.to_owned();
        let mut count = 0u64;
        let broken = |seq: i64, id: Option<uuid::Uuid>, reason: String| BrokenLink {
            chain: chain.to_owned(),
            seq,
            id,
            reason,
        };
        loop {
            let rows = audit_event::Entity::find()
                .filter(audit_event::Column::Chain.eq(chain))
                .filter(audit_event::Column::Seq.gte(expected_seq))
                .order_by_asc(audit_event::Column::Seq)
                .limit(PAGE)
                .all(&self.db)
                .await?;
            let n = rows.len() as u64;
            for row in rows {
                count += 1;
                if row.seq != expected_seq {
                    return Ok((
                        count,
                        Some(broken(
                            expected_seq,
                            None,
                            format!("row {expected_seq} is missing (the next row is {})", row.seq),
                        )),
                    ));
                }
                if row.prev_hash != prev {
                    return Ok((
                        count,
                        Some(broken(
                            row.seq,
                            Some(row.id),
                            "its previous-hash does not match the row before it (rows removed or reordered)".into(),
                        )),
                    ));
                }
                if row_hash(&row) != row.hash {
                    return Ok((
                        count,
                        Some(broken(
                            row.seq,
                            Some(row.id),
                            "its content does not match its hash (row changed)".into(),
                        )),
                    ));
                }
                prev = row.hash;
                expected_seq += 1;
            }
            if n < PAGE {
                break;
            }
        }
        let last_seq = expected_seq - 1;
        let head = audit_head::Entity::find_by_id(chain.to_owned()).one(&self.db).await?;
        let head_break = match head {
            None if last_seq > 0 => Some(broken(last_seq, None, "the chain has no head record".into())),
            Some(h) if h.seq != last_seq || h.hash != prev => Some(broken(
                last_seq + 1,
                None,
                format!(
                    "the chain ends at row {last_seq} but its head says {} (rows cut off the end)",
                    h.seq
                ),
            )),
            _ => None,
        };
        Ok((count, head_break))
    }

    /// Events of one organisation, newest first (for the audit API and tests).
    pub async fn list_for_org(&self, org: Option<OrgId>, limit: u64) -> Result<Vec<audit_event::Model>, DbErr> {
        let chain = org.map_or_else(|| PLATFORM_CHAIN.to_owned(), |o| o.to_string());
        audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(chain))
            .order_by_desc(audit_event::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
    }
}
