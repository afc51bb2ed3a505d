//! An organisation's members and invitations: `/organizations/{org}/members`,
//! `/organizations/{org}/invitations` and `POST /invitations/accept`.

use super::parse_org;
use crate::service::Origin;
use crate::service::members::{self as service, NewAccount};
use crate::store::{Membership, User};
use crate::{AccountsState, Actor};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use dentex_http::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use service::INVITATION_TTL_DAYS;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    /// `owner`, `admin` or `member`.
    #[schema(value_type = dentex_domain::OrgRole)]
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

impl From<(Membership, User)> for Member {
    fn from((m, u): (Membership, User)) -> Self {
        Self {
            user_id: u.id,
            display_name: u.display_name,
            email: u.email,
            role: m.role,
            joined_at: m.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberList {
    pub items: Vec<Member>,
    pub next_cursor: Option<String>,
}

/// The organisation's members, oldest first.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/members", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = MemberList), (status = 404, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/organizations/{org}/members")]
pub async fn list_members(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let members = service::list(&state, &actor, parse_org(&path)?).await?;
    Ok(HttpResponse::Ok().json(MemberList {
        items: members.into_iter().map(Member::from).collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// `owner`, `admin` or `member`.
    #[schema(value_type = dentex_domain::OrgRole)]
    pub role: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    #[schema(value_type = dentex_domain::OrgRole)]
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

impl From<service::Invitation> for Invitation {
    fn from(i: service::Invitation) -> Self {
        Self {
            id: i.id,
            email: i.email,
            role: i.role.as_str().into(),
            expires_at: i.expires_at,
        }
    }
}

async fn invite_from(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<InvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    let i = service::invite(&state, &actor, org, &body.email, &body.role).await?;
    Ok(dentex_http::created(format!("/api/v1/organizations/{}/invitations/{}", org.0, i.id)).json(Invitation::from(i)))
}

/// Invites someone by e-mail with a role. Owners and admins; only owners invite owners.
#[utoipa::path(post, path = "/api/v1/organizations/{org}/invitations", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = InvitationRequest,
    responses((status = 201, body = Invitation), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member (`already_member`)", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/invitations")]
pub async fn invite(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<InvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    invite_from(actor, state, path, body).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationList {
    pub items: Vec<Invitation>,
    pub next_cursor: Option<String>,
}

/// The open invitations (unused, unexpired), oldest first. Owners and admins.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/invitations", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organization id"), dentex_http::paging::PageQuery),
    responses((status = 200, body = InvitationList), (status = 403, description = "`forbidden`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`", body = dentex_http::Problem)))]
#[get("/api/v1/organizations/{org}/invitations")]
pub async fn list_invitations(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    q: web::Query<dentex_http::paging::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    let (items, next_cursor) = service::invitations(&state, &actor, org, q.page()?).await?;
    Ok(HttpResponse::Ok().json(InvitationList {
        items: items.into_iter().map(Invitation::from).collect(),
        next_cursor,
    }))
}

/// One open invitation. Owners and admins, and platform staff.
#[utoipa::path(get, path = "/api/v1/organizations/{org}/invitations/{invitation}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organization id"), ("invitation" = Uuid, Path)),
    responses((status = 200, body = Invitation), (status = 403, description = "`forbidden`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`: no such open invitation", body = dentex_http::Problem)))]
#[get("/api/v1/organizations/{org}/invitations/{invitation}")]
pub async fn get_invitation(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, invitation) = path.into_inner();
    let i = service::invitation(&state, &actor, parse_org(&org)?, &invitation).await?;
    Ok(HttpResponse::Ok().json(Invitation::from(i)))
}

/// Revokes an open invitation: its link stops working at once. Owners and
/// admins; only owners revoke an invitation to become owner.
#[utoipa::path(delete, path = "/api/v1/organizations/{org}/invitations/{invitation}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organization id"), ("invitation" = Uuid, Path)),
    responses((status = 204, description = "Revoked"), (status = 403, description = "`forbidden`", body = dentex_http::Problem),
        (status = 404, description = "`not_found`: no such open invitation", body = dentex_http::Problem)))]
#[delete("/api/v1/organizations/{org}/invitations/{invitation}")]
pub async fn revoke_invitation(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, invitation) = path.into_inner();
    let org = parse_org(&org)?;
    service::revoke_invitation(&state, &actor, org, &invitation).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a member: the same as an invitation (the person accepts by e-mail).
#[utoipa::path(post, path = "/api/v1/organizations/{org}/members", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = InvitationRequest,
    responses((status = 201, body = Invitation), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_member`", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/members")]
pub async fn add_member(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<InvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    invite_from(actor, state, path, body).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `owner`, `admin` or `member`.
    #[schema(value_type = dentex_domain::OrgRole)]
    pub role: String,
}

/// Changes a member's role. Owners and admins; only owners make or unmake owners;
/// the last owner stays owner.
#[utoipa::path(patch, path = "/api/v1/organizations/{org}/members/{user}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id"), ("user" = Uuid, Path, description = "User id")),
    request_body = RoleChange,
    responses((status = 200, body = Member), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_owner`", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/organizations/{org}/members/{user}")]
pub async fn change_member(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
    body: dentex_http::Json<RoleChange>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    let changed = service::change_role(&state, &actor, parse_org(&org)?, &user, &body.role).await?;
    Ok(HttpResponse::Ok().json(Member::from(changed)))
}

/// Removes a member, or lets a member leave. Takes effect on their very next request.
#[utoipa::path(delete, path = "/api/v1/organizations/{org}/members/{user}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id"), ("user" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_owner`", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[delete("/api/v1/organizations/{org}/members/{user}")]
pub async fn remove_member(
    actor: Actor,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    service::remove(&state, &actor, parse_org(&org)?, &user).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
    /// Required when the invited address has no account yet.
    pub password: Option<String>,
    /// Required when the invited address has no account yet.
    pub display_name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationAccepted {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    #[schema(value_type = dentex_domain::OrgRole)]
    pub role: String,
    /// Whether a new account was created for the invited address.
    pub account_created: bool,
}

/// Accepts an invitation: attaches the invited address's account to the
/// organisation, or creates the account (the link proves the address).
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "organizations", request_body = AcceptInvitation,
    responses((status = 200, body = InvitationAccepted),
        (status = 400, description = "Unknown, used or expired invitation (`invalid_token`)", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`staff_cannot_join`: platform staff belong to no organisation", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A new account needs a password and a name", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/invitations/accept")]
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<AcceptInvitation>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let new = NewAccount {
        display_name: b.display_name.unwrap_or_default().trim().to_owned(),
        password: b.password,
    };
    let joined = service::accept(&state, &Origin::of_request(&req), &b.token, new).await?;
    Ok(HttpResponse::Ok().json(InvitationAccepted {
        organization_id: joined.org_id,
        user_id: joined.user_id,
        role: joined.role,
        account_created: joined.account_created,
    }))
}
