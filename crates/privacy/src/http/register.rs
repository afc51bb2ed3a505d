//! `GET /api/v1/privacy/register`: the records of processing (GDPR Art. 30)
//! from the inventory, for any signed-in user (a clinic, as the controller
//! of its patients' data, needs its processor's).

use crate::{inventory, register};
use actix_web::{HttpResponse, get};
use dentex_accounts::Actor;
use dentex_http::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Recipient {
    pub who: String,
    pub what: String,
}

#[derive(Serialize, ToSchema)]
pub struct ColumnEntry {
    pub column: String,
    /// `account`, `credential`, `case/health`, `file`, `message`, `payment/receipt`, `audit` or `log`.
    pub category: String,
    /// What an erasure does to it (and, when kept, the legal basis).
    pub erasure: String,
}

#[derive(Serialize, ToSchema)]
pub struct TableEntry {
    pub table: String,
    pub owner: String,
    /// Whose rows they are and how a subject's are found.
    pub whose: String,
    pub retention: String,
    /// The columns that can hold personal data.
    pub personal: Vec<ColumnEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct StoreEntry {
    pub pattern: String,
    pub owner: String,
    pub category: String,
    pub whose: String,
    pub retention: String,
    pub erasure: String,
}

#[derive(Serialize, ToSchema)]
pub struct Register {
    pub roles: Vec<String>,
    pub purposes: Vec<String>,
    pub subjects: Vec<String>,
    pub recipients: Vec<Recipient>,
    pub security_measures: Vec<String>,
    pub tables: Vec<TableEntry>,
    pub stores: Vec<StoreEntry>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The register as JSON (also `docs/privacy.md`).
pub fn register_view() -> Register {
    Register {
        roles: strings(register::ROLES),
        purposes: strings(register::PURPOSES),
        subjects: strings(register::SUBJECTS),
        recipients: register::RECIPIENTS
            .iter()
            .map(|(who, what)| Recipient {
                who: (*who).to_owned(),
                what: (*what).to_owned(),
            })
            .collect(),
        security_measures: strings(register::MEASURES),
        tables: inventory::tables()
            .into_iter()
            .map(|t| TableEntry {
                table: t.table.to_owned(),
                owner: t.owner.to_owned(),
                whose: t.find.to_owned(),
                retention: t.retention.to_owned(),
                personal: t
                    .personal
                    .iter()
                    .map(|f| ColumnEntry {
                        column: f.column.to_owned(),
                        category: f.category.as_str().to_owned(),
                        erasure: f.erasure.describe(),
                    })
                    .collect(),
            })
            .collect(),
        stores: inventory::stores()
            .into_iter()
            .map(|s| StoreEntry {
                pattern: s.pattern.to_owned(),
                owner: s.owner.to_owned(),
                category: s.category.as_str().to_owned(),
                whose: s.find.to_owned(),
                retention: s.retention.to_owned(),
                erasure: s.erasure.describe(),
            })
            .collect(),
    }
}

/// The records of processing: roles, purposes, subjects, recipients,
/// security measures, and per table and store what is held, whose it is,
/// how long it is kept and what an erasure does.
#[utoipa::path(get, path = "/api/v1/privacy/register", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = Register), (status = 401, description = "Not signed in", body = dentex_http::Problem)))]
#[get("/api/v1/privacy/register")]
pub async fn get_register(_actor: Actor) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(register_view()))
}
