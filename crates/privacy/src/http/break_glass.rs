//! `POST /api/v1/support/break-glass`: a support agent's time-boxed read
//! access to one case, with a reason; the clinic is told at once.

use crate::state::PrivacyState;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use dentex_accounts::Actor;
use dentex_http::{ApiError, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassInput {
    #[schema(value_type = Uuid, required = true)]
    pub case: Option<Uuid>,
    /// Why (1 to 500 characters; mailed to the clinic and audited; name
    /// no patient).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: Option<String>,
    /// How long, 1 to 60.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 60)]
    pub minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BreakGlassGrant {
    pub id: Uuid,
    pub case: Uuid,
    pub granted_at: DateTime<Utc>,
    /// Reads of the case and its files work until then.
    pub expires_at: DateTime<Utc>,
}

/// Support reads one case for a while: after a sign-in with a second step
/// within `privacy.fresh_sign_in_secs`, with a reason, for at most 60
/// minutes. The clinic's owners and admins are mailed at once; every read
/// is audited in the clinic's chain; the grant ends by itself.
#[utoipa::path(post, path = "/api/v1/support/break-glass", tag = "privacy", security(("bearer" = [])), request_body = BreakGlassInput,
    responses((status = 200, body = BreakGlassGrant),
        (status = 401, description = "Not signed in (`unauthenticated`).", body = dentex_http::Problem),
        (status = 403, description = "`forbidden`, `fresh_sign_in_required`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem),
        (status = 422, description = "`validation_failed`", body = dentex_http::Problem)))]
#[post("/api/v1/support/break-glass")]
pub async fn grant_break_glass(
    actor: Actor,
    state: web::Data<PrivacyState>,
    input: Json<BreakGlassInput>,
) -> Result<HttpResponse, ApiError> {
    let i = input.into_inner();
    let g = crate::service::break_glass::grant(&state, &actor, i.case, i.reason.as_deref(), i.minutes).await?;
    Ok(HttpResponse::Ok().json(BreakGlassGrant {
        id: g.id,
        case: g.case_id,
        granted_at: g.granted_at,
        expires_at: g.expires_at,
    }))
}
