//! The live stream of a person: Server-Sent Events of every organisation
//! they belong to, resumable from a cursor.
//!
//! The cursor (the SSE `id` of each event, sent back as `Last-Event-ID` or
//! `?after=`) is the position reached in each of the person's streams:
//! `<org>-<position>` joined by `_`. On connect the hub subscription comes
//! first, then what the cursor missed is read from the outbox (older than
//! what is kept: one `reset`), then live events follow; a position seen
//! twice is sent once.

use crate::state::ChatState;
use crate::store;
use bytes::Bytes;
use dentex_accounts::{Actor, Principal};
use dentex_events::{Delivered, Subscription};
use dentex_http::ApiError;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use uuid::Uuid;

/// Most events one reconnect catches up on per organisation; more is a
/// `reset` (the client reloads).
const CATCH_UP_MAX: usize = 10_000;

/// A new ticket: its text once, and when it stops working.
pub struct Ticket {
    pub ticket: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A single-use ticket for `?ticket=`, valid for `config.ticket_ttl`,
/// stored hashed and audited.
pub async fn ticket(state: &ChatState, actor: &Actor) -> Result<Ticket, ApiError> {
    dentex_accounts::policy::require_full_session(actor)?;
    let ticket = dentex_accounts::tokens::random("dxt_");
    let ttl = chrono::Duration::from_std(state.config.ticket_ttl).unwrap_or(chrono::Duration::seconds(60));
    let expires_at = dentex_db::now() + ttl;
    let txn = dentex_db::begin_write(&state.db).await?;
    let id = store::tickets::insert(
        &txn,
        dentex_accounts::tokens::hash(&ticket),
        actor.session_id,
        actor.user_id.0,
        expires_at,
    )
    .await?;
    let mut ev = actor.event("events.ticket", "event_ticket", dentex_audit::Outcome::Success);
    ev.org_id = actor.memberships.first().map(|(o, _)| *o);
    ev.resource_id = Some(id.to_string());
    dentex_accounts::audit_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(Ticket { ticket, expires_at })
}

/// The caller a ticket names, using it up (a second use is 401).
pub async fn redeem(state: &ChatState, ticket: &str) -> Result<Principal, ApiError> {
    let invalid = || ApiError::new(&crate::codes::TICKET_INVALID, "The ticket is unknown, used or expired.");
    let Some((id, session, _user)) = store::tickets::consume(&state.db, &dentex_accounts::tokens::hash(ticket)).await?
    else {
        return Err(invalid());
    };
    let p = Principal::of_session(&state.db, session, state.accounts.sessions)
        .await?
        .ok_or_else(invalid)?;
    let mut ev = dentex_audit::AuditEvent::new("events.ticket.use", "event_ticket", dentex_audit::Outcome::Success);
    ev.actor_id = Some(p.user_id);
    ev.actor_kind = p.actor_kind();
    ev.org_id = p.memberships.first().map(|(o, _)| *o);
    ev.resource_id = Some(id.to_string());
    state.audit.record(ev).await.map_err(ApiError::from)?;
    Ok(p)
}

/// A cursor: the position reached in each organisation's stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor(pub HashMap<Uuid, i64>);

impl Cursor {
    /// `None` for text that is not a cursor we gave (the client reloads).
    pub fn parse(s: &str) -> Option<Self> {
        let mut map = HashMap::new();
        for part in s.trim().split('_').filter(|p| !p.is_empty()) {
            let (org, pos) = part.split_once('-')?;
            let org = Uuid::try_parse(org).ok()?;
            let pos: i64 = pos.parse().ok()?;
            if pos < 0 {
                return None;
            }
            map.insert(org, pos);
        }
        Some(Cursor(map))
    }

    pub fn render(&self) -> String {
        let mut parts: Vec<(Uuid, i64)> = self.0.iter().map(|(o, p)| (*o, *p)).collect();
        parts.sort();
        parts
            .iter()
            .map(|(o, p)| format!("{}-{p}", o.simple()))
            .collect::<Vec<_>>()
            .join("_")
    }
}

/// A connected stream: the subscription, the cursor, and what is waiting
/// to be sent.
pub struct Stream {
    pub sub: Subscription,
    pub cursor: Cursor,
    pub pending: VecDeque<Bytes>,
    pub user: Uuid,
    pub session: Uuid,
}

/// One SSE frame.
pub fn frame(id: &str, kind: &str, data: &str) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {data}\n\n"))
}

impl Stream {
    /// A live event as a frame, or `None` when the cursor has it already.
    pub fn live(&mut self, d: &Arc<Delivered>) -> Option<Bytes> {
        let at = self.cursor.0.entry(d.org).or_insert(0);
        if d.position <= *at {
            return None;
        }
        *at = d.position;
        Some(frame(&self.cursor.render(), &d.kind, &d.payload))
    }
}

/// Opens the stream of `p` from `from` (none: live from now).
pub async fn open(state: &ChatState, p: &Principal, from: Option<&str>) -> Result<Stream, ApiError> {
    let orgs: Vec<Uuid> = p.memberships.iter().map(|(o, _)| o.0).collect();
    let sub = state.hub.subscribe(p.user_id.0, p.session_id, orgs.clone()).await?;
    let asked = from.map(Cursor::parse);
    let mut cursor = Cursor(sub.start.clone());
    let mut pending = VecDeque::new();
    let mut reset = matches!(asked, Some(None));
    if let Some(Some(asked)) = asked {
        let heads: HashMap<Uuid, (i64, i64)> = dentex_events::store::heads(&state.db, orgs.clone())
            .await?
            .into_iter()
            .map(|h| (h.org_id, (h.last_position, h.purged_through)))
            .collect();
        let mut missed = Vec::new();
        for org in &orgs {
            let Some(&from) = asked.0.get(org) else { continue };
            let (last, purged) = heads.get(org).copied().unwrap_or((0, 0));
            let until = sub.start.get(org).copied().unwrap_or(0);
            // A cursor ahead of this process's hub (the client saw the event
            // on another process first) is not stale: the live events skip
            // what it has.
            let behind = usize::try_from(until.saturating_sub(from)).unwrap_or(0);
            if from < purged || from > last || behind > CATCH_UP_MAX {
                reset = true;
                continue;
            }
            // Resumed from where the client was.
            cursor.0.insert(*org, from);
            let (events, too_old) = catch_up(state, *org, from, until).await?;
            if too_old {
                reset = true;
                continue;
            }
            missed.extend(events);
        }
        if !reset {
            for d in missed.into_iter().filter(|d| d.is_for(p.user_id.0)) {
                cursor.0.insert(d.org, d.position);
                pending.push_back(frame(&cursor.render(), &d.kind, &d.payload));
            }
        }
    }
    if reset {
        cursor = Cursor(sub.start.clone());
        pending.clear();
        pending.push_back(frame(&cursor.render(), "reset", "{\"reason\":\"cursor_expired\"}"));
    }
    Ok(Stream {
        sub,
        cursor,
        pending,
        user: p.user_id.0,
        session: p.session_id,
    })
}

/// The events of `org` after `from` up to `until`, as the organisation may
/// see them now; `true` when the first of them is older than what is kept
/// (`events.keep_secs`: the client reloads, whether or not the purge has
/// run yet).
async fn catch_up(state: &ChatState, org: Uuid, mut from: i64, until: i64) -> Result<(Vec<Delivered>, bool), ApiError> {
    let mut out = Vec::new();
    let keep = chrono::Duration::from_std(state.config.keep).unwrap_or(chrono::Duration::days(7));
    let oldest_kept = dentex_db::now() - keep;
    let mut first = true;
    while from < until {
        let rows = dentex_events::store::after(&state.db, org, from, 500).await?;
        // Positions have no gaps: a first row past `from + 1` means a purge
        // took what the client missed.
        if first
            && rows
                .first()
                .is_some_and(|r| r.created_at < oldest_kept || r.position != from + 1)
        {
            return Ok((Vec::new(), true));
        }
        first = false;
        let Some(last) = rows.last().map(|r| r.position) else {
            break;
        };
        let cases: Vec<Uuid> = rows
            .iter()
            .filter_map(|r| r.case_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let visible = if cases.is_empty() {
            HashSet::new()
        } else {
            state.hub.gate().visible(&state.db, org, cases).await?
        };
        out.extend(
            rows.into_iter()
                .filter(|r| r.position <= until && r.case_id.is_none_or(|c| visible.contains(&c)))
                .map(Delivered::of),
        );
        from = last;
    }
    Ok((out, false))
}

/// Removes stream tickets that expired more than a day ago.
pub async fn purge_tickets(db: &sea_orm::DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    store::tickets::purge(db, dentex_db::now() - chrono::Duration::days(1)).await
}
