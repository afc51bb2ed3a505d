//! Searching one organisation's chain (the owners' audit route): filters by
//! actor, action (exact, or a prefix ending with `.`), resource id and time,
//! newest first, keyset-paged by the chain's sequence number.

use super::*;
use chrono::{DateTime, Utc};

/// What to look for; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub actor: Option<uuid::Uuid>,
    /// `case.read`, or `case.` for every action of cases.
    pub action: Option<String>,
    /// A resource id (a case's finds its files' rows too); letters,
    /// digits, `-` and `/` only (the caller checks).
    pub resource: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Rows before this sequence number (the cursor of the page before).
    pub before_seq: Option<i64>,
    /// Rows to fetch (a page and one more, to know there is a next).
    pub limit: u64,
}

impl AuditLog {
    /// The organisation's rows that match `s`, newest first.
    pub async fn search(&self, org: OrgId, s: &Search) -> Result<Vec<audit_event::Model>, DbErr> {
        let mut q = audit_event::Entity::find().filter(audit_event::Column::Chain.eq(org.to_string()));
        if let Some(a) = s.actor {
            q = q.filter(audit_event::Column::ActorId.eq(a));
        }
        match s.action.as_deref() {
            Some(p) if p.ends_with('.') => q = q.filter(audit_event::Column::Action.starts_with(p)),
            Some(a) => q = q.filter(audit_event::Column::Action.eq(a)),
            None => {}
        }
        // A case's id finds its files' rows too (`{case}/{file}`).
        if let Some(r) = &s.resource {
            q = q.filter(
                sea_orm::Condition::any()
                    .add(audit_event::Column::ResourceId.eq(r.clone()))
                    .add(audit_event::Column::ResourceId.starts_with(format!("{r}/"))),
            );
        }
        if let Some(f) = s.from {
            q = q.filter(audit_event::Column::OccurredAt.gte(f));
        }
        if let Some(t) = s.to {
            q = q.filter(audit_event::Column::OccurredAt.lt(t));
        }
        if let Some(b) = s.before_seq {
            q = q.filter(audit_event::Column::Seq.lt(b));
        }
        q.order_by_desc(audit_event::Column::Seq)
            .limit(s.limit)
            .all(&self.db)
            .await
    }
}
