//! The report of an erasure (schema version 1): per target what was
//! removed, pseudonymised, cleared or redacted (counts), what was kept, why
//! and until when, which organisations were told, and when the backups
//! that still hold the data have expired.

use crate::state::PrivacyState;
use crate::store::Request;
use chrono::{DateTime, Utc};
use dentex_domain::privacy::Erased;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Kept {
    pub target: String,
    /// The legal basis.
    pub why: String,
    pub until: String,
}

impl Kept {
    fn of(target: &str, why: &str, until: &str) -> Self {
        Self {
            target: target.into(),
            why: why.into(),
            until: until.into(),
        }
    }

    fn common() -> Vec<Kept> {
        vec![
            Kept::of(
                "audit_events",
                "legal obligation (HIPAA 164.316(b)(2), GDPR Art. 17(3)(b)): the audit trail holds ids, actions and times, and client addresses as keyed pseudonyms (rows written before pseudonymisation began keep the address); the platform writes no names, e-mail addresses or patient references into it, but support's free-text reasons (refunds, payment status, credential decisions, break-glass) are kept as written, and support is told to name no patient there",
                "6 years after each row",
            ),
            Kept::of(
                "receipts",
                "legal obligation (tax and accounting law, GDPR Art. 17(3)(b)): amounts, dates and the organisations' ids; no patient data",
                "10 years after issue",
            ),
        ]
    }

    /// What a patient's erasure keeps.
    pub fn patient() -> Vec<Kept> {
        let mut k = Kept::common();
        k.push(Kept::of(
            "cases, orders",
            "the rows stay with their ids, statuses, dates and amounts (orders and receipts point at them); the patient reference is a keyed pseudonym, the prescription and every note are emptied",
            "7 years after the case's last activity",
        ));
        k
    }

    /// What a person's erasure keeps.
    pub fn person() -> Vec<Kept> {
        let mut k = Kept::common();
        k.push(Kept::of(
            "users",
            "the row stays with its id (cases, orders and the audit trail point at it); the address is a keyed pseudonym, the name is `Erased user`, no one can sign in",
            "as long as rows point at it",
        ));
        k.push(Kept::of(
            "chat_messages",
            "messages the person wrote on a clinic's cases are part of the clinic's case record (the clinic is the controller): they stay, shown as by an erased user, until the case's patient is erased or the case's retention ends",
            "3 years",
        ));
        k
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The schema's version: 1.
    pub version: u32,
    pub request_id: Uuid,
    pub subject: String,
    pub finished_at: DateTime<Utc>,
    /// Cases found (a patient's erasure).
    pub cases: usize,
    pub targets: Vec<Erased>,
    pub kept: Vec<Kept>,
    /// Organisations told (the labs that received a patient's data, Art. 19).
    pub notified: Vec<Uuid>,
    /// When the backups taken before the erasure have expired.
    pub backups_expire_at: DateTime<Utc>,
}

impl Report {
    pub fn new(
        state: &PrivacyState,
        r: &Request,
        targets: Vec<Erased>,
        kept: Vec<Kept>,
        notified: Vec<Uuid>,
        cases: usize,
    ) -> Self {
        let now = dentex_db::now();
        Self {
            version: 1,
            request_id: r.id,
            subject: r.subject.clone(),
            finished_at: now,
            cases,
            targets,
            kept,
            notified,
            backups_expire_at: now + chrono::Duration::days(i64::from(state.config.backup_expiry_days)),
        }
    }

    /// The report as a page a person reads.
    pub fn html(&self) -> String {
        fn esc(s: &str) -> String {
            s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
        }
        let rows: String = self
            .targets
            .iter()
            .map(|t| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&t.target),
                    esc(&t.action),
                    t.count
                )
            })
            .collect();
        let kept: String = self
            .kept
            .iter()
            .map(|k| {
                format!(
                    "<li><b>{}</b>: {} (until: {})</li>",
                    esc(&k.target),
                    esc(&k.why),
                    esc(&k.until)
                )
            })
            .collect();
        let told: String = self
            .notified
            .iter()
            .map(|o| format!("<li>organisation {o}</li>"))
            .collect();
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Erasure report {id}</title></head><body>\
             <h1>Erasure report</h1><p>Request {id}, about a {subject}, finished {fin}.</p>\
             <h2>Erased</h2><table><tr><th>Where</th><th>What was done</th><th>Rows or objects</th></tr>{rows}</table>\
             <h2>Kept</h2><ul>{kept}</ul><h2>Told</h2><ul>{told}</ul>\
             <p>Backups taken before the erasure have expired by {backups}.</p></body></html>",
            id = self.request_id,
            subject = esc(&self.subject),
            fin = self.finished_at.to_rfc3339(),
            backups = self.backups_expire_at.format("%Y-%m-%d"),
        )
    }
}
