//! The verified labs that take new work, with their typical turnaround
//! (the median of their quotes of the last year, which is why the list is
//! the market's: it reads `quotes`).

use crate::state::MarketState;
use crate::store::{self, Organization};
use chrono::Utc;
use dentex_accounts::{Actor, policy as accounts_policy};
use dentex_db::now;
use dentex_domain::CountryCode;
use dentex_http::ApiError;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// A lab in the list: verified, with the services and countries it declares.
pub struct ListedLab {
    pub organization: Organization,
    pub services: Vec<String>,
    pub service_countries: Vec<String>,
    pub verified_until: Option<chrono::NaiveDate>,
    pub typical_turnaround_days: Option<i32>,
}

/// A page of the verified labs that take new work, serving `country` (or
/// based there) and offering `service` when given, in id order. The
/// turnaround is looked up for the page's labs only.
pub async fn list(
    state: &MarketState,
    actor: &Actor,
    country: Option<&str>,
    service: Option<&str>,
    page: dentex_http::paging::Page<Uuid>,
) -> Result<(Vec<ListedLab>, Option<String>), ApiError> {
    accounts_policy::require_full_session(actor)?;
    if let Some(s) = service
        && s.parse::<dentex_domain::rx::Restoration>().is_err()
    {
        let words = dentex_domain::rx::Restoration::ALL.iter().map(|r| r.as_str());
        return Err(ApiError::unknown_value("service", words));
    }
    let country = match country {
        Some(c) => Some(
            CountryCode::parse(c)
                .map_err(|e| {
                    ApiError::validation(vec![dentex_domain::FieldError::new("country", "invalid_country", e)])
                })?
                .to_string(),
        ),
        None => None,
    };
    let db = &state.db;
    let today = Utc::now().date_naive();
    let mut labs = store::open_labs(db).await?;
    labs.sort_by_key(|o| o.id);
    labs.retain(|o| page.after.is_none_or(|a| o.id > a));
    let verified = {
        let all: Vec<&Organization> = labs.iter().collect();
        dentex_accounts::verification::statuses(db, &all, today).await?
    };
    let mut kept = Vec::new();
    for o in labs {
        let Some(v) = verified.get(&o.id).copied().filter(|v| v.verified) else {
            continue;
        };
        let services: Vec<String> = serde_json::from_str(&o.services).unwrap_or_default();
        let countries: Vec<String> = serde_json::from_str(&o.service_countries).unwrap_or_default();
        if country
            .as_ref()
            .is_some_and(|c| !countries.contains(c) && &o.country != c)
            || service.is_some_and(|s| !services.iter().any(|x| x == s))
        {
            continue;
        }
        kept.push((o, services, countries, v.verified_until));
        if kept.len() as u64 > page.limit {
            break;
        }
    }
    let (kept, next_cursor) = dentex_http::paging::split(kept, page.limit, |(o, ..)| o.id);
    let mut items = Vec::new();
    for (o, services, service_countries, verified_until) in kept {
        items.push(ListedLab {
            typical_turnaround_days: typical_turnaround(db, o.id).await?,
            organization: o,
            services,
            service_countries,
            verified_until,
        });
    }
    Ok((items, next_cursor))
}

/// The median turnaround of a lab's quotes (any outcome but withdrawn) over
/// the last year.
pub async fn typical_turnaround<C: ConnectionTrait>(db: &C, lab: Uuid) -> Result<Option<i32>, ApiError> {
    let since = now() - chrono::Duration::days(365);
    let mut days = store::quotes::turnarounds(db, lab, since).await?;
    if days.is_empty() {
        return Ok(None);
    }
    days.sort_unstable();
    Ok(Some(days[days.len() / 2]))
}
