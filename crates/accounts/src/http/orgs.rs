//! Organisations, their members, roles and invitations.

use super::{AccountsState, Principal, authorize, authorized_org, event, event_by, queue_mail, record_in};
use crate::policy::{self, Action};
use crate::{password, tokens};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use dentex_audit::{ActorKind, Outcome};
use dentex_db::entities::{membership, organization, quote, user};
use dentex_db::now;
use dentex_domain::{Email, FieldError, OrgId, OrgRole, UserId};
use dentex_http::ApiError;
use dentex_mail::templates;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const INVITATION_TTL_DAYS: i64 = 7;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    /// `clinic`, `dental_lab` or `manufacturing_lab`.
    pub kind: String,
    pub country: String,
    /// `eu` or `us`.
    pub region: String,
    pub accepts_new_work: bool,
    pub services: Vec<String>,
    pub service_countries: Vec<String>,
    pub suspended: bool,
    /// Holds an approved, unexpired credential that fits its kind: required
    /// to submit cases (clinics) and to quote (labs).
    pub verified: bool,
    pub verified_until: Option<chrono::NaiveDate>,
    pub created_at: DateTime<Utc>,
}

/// The organisation as the API shows it, with its current verification.
pub async fn organization_view(
    db: &sea_orm::DatabaseConnection,
    o: organization::Model,
) -> Result<Organization, ApiError> {
    let v = crate::verification::status(db, &o, Utc::now().date_naive()).await?;
    let mut view = Organization::from(o);
    view.verified = v.verified;
    view.verified_until = v.verified_until;
    Ok(view)
}

impl From<organization::Model> for Organization {
    fn from(o: organization::Model) -> Self {
        Self {
            id: o.id,
            name: o.name,
            kind: o.kind,
            country: o.country,
            region: o.region,
            accepts_new_work: o.accepts_new_work,
            services: serde_json::from_str(&o.services).unwrap_or_default(),
            service_countries: serde_json::from_str(&o.service_countries).unwrap_or_default(),
            suspended: o.suspended_at.is_some(),
            verified: false,
            verified_until: None,
            created_at: o.created_at,
        }
    }
}

fn parse_org(raw: &str) -> Result<OrgId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// One organisation. Members and platform staff only; anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/organizations/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Organization), (status = 404, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/organizations/{org}")]
pub async fn get_organization(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    let o = authorized_org(&state, &req, &p, org, Action::ViewOrganization).await?;
    Ok(HttpResponse::Ok().json(organization_view(&state.db, o).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    /// Labs: whether they take new cases now.
    pub accepts_new_work: Option<bool>,
    /// Labs: what they make, from `crown`, `bridge`, `inlay`, `onlay`, `veneer`,
    /// `implant_abutment`, `implant_crown`, `full_denture`, `partial_denture`,
    /// `night_guard`, `aligner`, `all_on_x`, `model`, `other`.
    pub services: Option<Vec<String>>,
    /// Labs: ISO country codes they serve.
    pub service_countries: Option<Vec<String>>,
}

/// Changes the organisation's profile (owners and admins).
#[utoipa::path(patch, path = "/api/v1/organizations/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = OrganizationPatch,
    responses((status = 200, body = Organization), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/organizations/{org}")]
pub async fn update_organization(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<OrganizationPatch>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    let o = authorized_org(&state, &req, &p, org, Action::EditOrganization).await?;
    let b = body.into_inner();
    let mut errs = Vec::new();
    let mut am: organization::ActiveModel = o.clone().into();
    if let Some(name) = b.name {
        let name = name.trim().to_owned();
        if name.chars().count() < 2 || name.chars().count() > 200 {
            errs.push(FieldError::new(
                "name",
                "invalid_length",
                "Give a name of 2 to 200 characters.",
            ));
        }
        am.name = Set(name);
    }
    let is_lab = o
        .kind
        .parse::<dentex_domain::OrgKind>()
        .is_ok_and(dentex_domain::OrgKind::is_lab);
    let lab_only = |errs: &mut Vec<FieldError>, field: &str| {
        if !is_lab {
            errs.push(FieldError::new(field, "labs_only", "Only labs declare this."));
        }
    };
    if let Some(v) = b.accepts_new_work {
        lab_only(&mut errs, "accepts_new_work");
        am.accepts_new_work = Set(v);
    }
    if let Some(services) = b.services {
        lab_only(&mut errs, "services");
        let mut clean = Vec::new();
        for (i, s) in services.iter().enumerate() {
            if dentex_domain::SERVICES.contains(&s.as_str()) {
                if !clean.contains(s) {
                    clean.push(s.clone());
                }
            } else {
                errs.push(FieldError::new(
                    format!("services[{i}]"),
                    "invalid_choice",
                    format!("{s:?} is not a known service."),
                ));
            }
        }
        am.services = Set(serde_json::to_string(&clean).unwrap_or_else(|_| "[]".into()));
    }
    if let Some(countries) = b.service_countries {
        lab_only(&mut errs, "service_countries");
        let mut clean = Vec::new();
        for (i, c) in countries.iter().enumerate() {
            match dentex_domain::CountryCode::parse(c) {
                Ok(cc) => {
                    let cc = cc.to_string();
                    if !clean.contains(&cc) {
                        clean.push(cc);
                    }
                }
                Err(e) => errs.push(FieldError::new(format!("service_countries[{i}]"), "invalid_country", e)),
            }
        }
        am.service_countries = Set(serde_json::to_string(&clean).unwrap_or_else(|_| "[]".into()));
    }
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    am.updated_at = Set(now());
    let txn = dentex_db::begin_write(&state.db).await?;
    let o = am.update(&txn).await?;
    let mut ev = event_by(&req, &p, "organization.update", "organization", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(org.to_string());
    record_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(organization_view(&state.db, o).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LabQuery {
    /// Only labs that serve this ISO country.
    pub country: Option<String>,
    /// Only labs that offer this service.
    pub service: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Lab {
    pub id: Uuid,
    pub name: String,
    /// `dental_lab` or `manufacturing_lab`.
    pub kind: String,
    pub country: String,
    pub services: Vec<String>,
    pub service_countries: Vec<String>,
    pub verified_until: Option<chrono::NaiveDate>,
    /// The median turnaround (working days) of the lab's quotes of the last
    /// year; none before its first quote.
    pub typical_turnaround_days: Option<i32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LabList {
    pub items: Vec<Lab>,
    pub next_cursor: Option<String>,
}

/// Verified labs that take new work, with the services and countries they
/// declare and their typical turnaround.
#[utoipa::path(get, path = "/api/v1/labs", tag = "organizations", security(("bearer" = [])), params(LabQuery),
    responses((status = 200, body = LabList), (status = 401, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[get("/api/v1/labs")]
pub async fn list_labs(
    p: Principal,
    state: web::Data<AccountsState>,
    q: web::Query<LabQuery>,
) -> Result<HttpResponse, ApiError> {
    policy::require_full_session(&p)?;
    let country = match q.country.as_deref() {
        Some(c) => Some(
            dentex_domain::CountryCode::parse(c)
                .map_err(|e| ApiError::new(&dentex_http::codes::INVALID_QUERY, format!("country: {e}")))?
                .to_string(),
        ),
        None => None,
    };
    let today = Utc::now().date_naive();
    let rows = organization::Entity::find()
        .filter(organization::Column::Kind.is_in(["dental_lab", "manufacturing_lab"]))
        .filter(organization::Column::AcceptsNewWork.eq(true))
        .filter(organization::Column::SuspendedAt.is_null())
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .all(&state.db)
        .await?;
    let mut items = Vec::new();
    for o in rows {
        let v = crate::verification::status(&state.db, &o, today).await?;
        if !v.verified {
            continue;
        }
        let services: Vec<String> = serde_json::from_str(&o.services).unwrap_or_default();
        let countries: Vec<String> = serde_json::from_str(&o.service_countries).unwrap_or_default();
        if let Some(c) = &country
            && !countries.contains(c)
            && &o.country != c
        {
            continue;
        }
        if let Some(s) = &q.service
            && !services.contains(s)
        {
            continue;
        }
        let typical_turnaround_days = typical_turnaround(&state.db, o.id).await?;
        items.push(Lab {
            typical_turnaround_days,
            id: o.id,
            name: o.name,
            kind: o.kind,
            country: o.country,
            services,
            service_countries: countries,
            verified_until: v.verified_until,
        });
    }
    Ok(HttpResponse::Ok().json(LabList {
        items,
        next_cursor: None,
    }))
}

/// The median turnaround of a lab's quotes (any outcome but withdrawn) over
/// the last year.
async fn typical_turnaround<C: ConnectionTrait>(db: &C, lab: Uuid) -> Result<Option<i32>, ApiError> {
    let since = now() - chrono::Duration::days(365);
    let mut days: Vec<i32> = quote::Entity::find()
        .select_only()
        .column(quote::Column::TurnaroundDays)
        .filter(quote::Column::LabOrgId.eq(lab))
        .filter(quote::Column::Status.ne(dentex_domain::QuoteStatus::Withdrawn.as_str()))
        .filter(quote::Column::CreatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    if days.is_empty() {
        return Ok(None);
    }
    days.sort_unstable();
    Ok(Some(days[days.len() / 2]))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
    pub joined_at: DateTime<Utc>,
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
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    authorized_org(&state, &req, &p, org, Action::ViewMembers).await?;
    let ms = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org.0))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::Id)
        .all(&state.db)
        .await?;
    let mut items = Vec::with_capacity(ms.len());
    for m in ms {
        if let Some(u) = user::Entity::find_by_id(m.user_id).one(&state.db).await? {
            items.push(Member {
                user_id: u.id,
                display_name: u.display_name,
                email: u.email,
                role: m.role,
                joined_at: m.created_at,
            });
        }
    }
    Ok(HttpResponse::Ok().json(MemberList {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    pub email: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

async fn do_invite(
    req: &HttpRequest,
    p: &Principal,
    state: &AccountsState,
    org: OrgId,
    body: InvitationRequest,
) -> Result<HttpResponse, ApiError> {
    let mut errs = Vec::new();
    let email = Email::parse(&body.email)
        .map_err(|e| errs.push(FieldError::new("email", "invalid_email", e.to_string())))
        .ok();
    let role = body
        .role
        .parse::<OrgRole>()
        .map_err(|e| errs.push(FieldError::new("role", "invalid_choice", e)))
        .ok();
    let (Some(email), Some(role)) = (email, role) else {
        // Authorise first, so an outsider learns nothing from validation either.
        authorize(state, req, p, Action::ViewOrganization, org).await?;
        return Err(ApiError::validation(errs));
    };
    let o = authorized_org(state, req, p, org, Action::Invite(role)).await?;
    let address = email.as_str().to_lowercase();
    if let Some(u) = user::Entity::find()
        .filter(user::Column::Email.eq(address.clone()))
        .one(&state.db)
        .await?
        && membership::Entity::find()
            .filter(membership::Column::OrgId.eq(org.0))
            .filter(membership::Column::UserId.eq(u.id))
            .one(&state.db)
            .await?
            .is_some()
    {
        return Err(ApiError::new(
            &crate::codes::ALREADY_MEMBER,
            "This person is already a member.",
        ));
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    let token = tokens::issue(
        &txn,
        tokens::INVITATION,
        tokens::TokenFor {
            org_id: Some(org.0),
            email: Some(address.clone()),
            role: Some(role.as_str().into()),
            created_by: Some(p.user_id.0),
            ..Default::default()
        },
        chrono::Duration::days(INVITATION_TTL_DAYS),
    )
    .await?;
    let row = dentex_db::entities::one_time_token::Entity::find()
        .filter(dentex_db::entities::one_time_token::Column::TokenHash.eq(tokens::hash(&token)))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("invitation vanished")))?;
    queue_mail(
        &txn,
        &templates::invitation(
            email,
            &o.name,
            role.as_str(),
            &state.public_base_url,
            &token,
            INVITATION_TTL_DAYS,
        ),
    )
    .await?;
    let mut ev = event_by(req, p, "member.invite", "invitation", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(row.id.to_string());
    ev.reason = Some(format!("role {}", role.as_str()));
    record_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(HttpResponse::Created().json(Invitation {
        id: row.id,
        email: address,
        role: role.as_str().into(),
        expires_at: row.expires_at,
    }))
}

/// Invites someone by e-mail with a role. Owners and admins; only owners invite owners.
#[utoipa::path(post, path = "/api/v1/organizations/{org}/invitations", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = InvitationRequest,
    responses((status = 201, body = Invitation), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/invitations")]
pub async fn invite(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<InvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    do_invite(&req, &p, &state, org, body.into_inner()).await
}

/// Adds a member: the same as an invitation (the person accepts by e-mail).
#[utoipa::path(post, path = "/api/v1/organizations/{org}/members", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id")), request_body = InvitationRequest,
    responses((status = 201, body = Invitation), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/organizations/{org}/members")]
pub async fn add_member(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<String>,
    body: dentex_http::Json<InvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = parse_org(&path)?;
    do_invite(&req, &p, &state, org, body.into_inner()).await
}

/// Owners of `org`, counted with their rows locked (`FOR UPDATE` on
/// PostgreSQL; SQLite serialises writers), so two owners demoting or removing
/// each other at once cannot leave none.
async fn owners<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<u64, ApiError> {
    let mut q = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org.0))
        .filter(membership::Column::Role.eq(OrgRole::Owner.as_str()));
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    Ok(q.all(db).await?.len() as u64)
}

fn last_owner() -> ApiError {
    ApiError::new(
        &crate::codes::LAST_OWNER,
        "An organisation needs at least one owner: make someone else owner first.",
    )
}

async fn target_membership(
    state: &AccountsState,
    req: &HttpRequest,
    p: &Principal,
    org: OrgId,
    raw_user: &str,
) -> Result<membership::Model, ApiError> {
    // An outsider must not learn whether the organisation or the user exists.
    authorize(state, req, p, Action::ViewMembers, org).await?;
    let user_id: Uuid = raw_user.parse().map_err(|_| ApiError::not_found())?;
    membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org.0))
        .filter(membership::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `owner`, `admin` or `member`.
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
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
    body: dentex_http::Json<RoleChange>,
) -> Result<HttpResponse, ApiError> {
    let (raw_org, raw_user) = path.into_inner();
    let org = parse_org(&raw_org)?;
    let m = target_membership(&state, &req, &p, org, &raw_user).await?;
    let to: OrgRole = body
        .role
        .parse()
        .map_err(|e: String| ApiError::validation(vec![FieldError::new("role", "invalid_choice", e)]))?;
    let from: OrgRole = m
        .role
        .parse()
        .map_err(|e: String| ApiError::internal(anyhow::anyhow!(e)))?;
    authorize(&state, &req, &p, Action::ChangeRole { from, to }, org).await?;
    let txn = dentex_db::begin_write(&state.db).await?;
    if from == OrgRole::Owner && to != OrgRole::Owner && owners(&txn, org).await? <= 1 {
        return Err(last_owner());
    }
    let mut am: membership::ActiveModel = m.clone().into();
    am.role = Set(to.as_str().into());
    am.updated_at = Set(now());
    let m = am.update(&txn).await?;
    let mut ev = event_by(&req, &p, "member.role_change", "membership", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(m.user_id.to_string());
    ev.reason = Some(format!("{} -> {}", from.as_str(), to.as_str()));
    record_in(&txn, ev).await?;
    txn.commit().await?;
    let u = user::Entity::find_by_id(m.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Member {
        user_id: u.id,
        display_name: u.display_name,
        email: u.email,
        role: m.role,
        joined_at: m.created_at,
    }))
}

/// Removes a member, or lets a member leave. Takes effect on their very next request.
#[utoipa::path(delete, path = "/api/v1/organizations/{org}/members/{user}", tag = "organizations", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "Organisation id"), ("user" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 403, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 404, body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_owner`", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[delete("/api/v1/organizations/{org}/members/{user}")]
pub async fn remove_member(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AccountsState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_org, raw_user) = path.into_inner();
    let org = parse_org(&raw_org)?;
    let m = target_membership(&state, &req, &p, org, &raw_user).await?;
    let role: OrgRole = m
        .role
        .parse()
        .map_err(|e: String| ApiError::internal(anyhow::anyhow!(e)))?;
    authorize(
        &state,
        &req,
        &p,
        Action::RemoveMember {
            role,
            is_self: m.user_id == p.user_id.0,
        },
        org,
    )
    .await?;
    let txn = dentex_db::begin_write(&state.db).await?;
    if role == OrgRole::Owner && owners(&txn, org).await? <= 1 {
        return Err(last_owner());
    }
    membership::Entity::delete_by_id(m.id).exec(&txn).await?;
    let mut ev = event_by(&req, &p, "member.remove", "membership", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(m.user_id.to_string());
    record_in(&txn, ev).await?;
    txn.commit().await?;
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
pub struct Accepted {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    /// Whether a new account was created for the invited address.
    pub account_created: bool,
}

/// Accepts an invitation: attaches the invited address's account to the
/// organisation, or creates the account (the link proves the address).
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "organizations", request_body = AcceptInvitation,
    responses((status = 200, body = Accepted),
        (status = 400, description = "Unknown, used or expired invitation", body = dentex_http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A new account needs a password and a name", body = dentex_http::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/invitations/accept")]
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AccountsState>,
    body: dentex_http::Json<AcceptInvitation>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let token = body.token.trim().to_owned();
    let invalid = || {
        let mut e = ApiError::new(
            &crate::codes::INVALID_TOKEN,
            "This invitation is unknown, already used or expired.",
        );
        e.errors = vec![FieldError::new("token", "invalid_token", "Unknown, used or expired.")];
        e
    };
    // Look first (without spending it) to know whether an account must be created.
    let pending = dentex_db::entities::one_time_token::Entity::find()
        .filter(dentex_db::entities::one_time_token::Column::TokenHash.eq(tokens::hash(&token)))
        .filter(dentex_db::entities::one_time_token::Column::Purpose.eq(tokens::INVITATION))
        .one(&state.db)
        .await?
        .ok_or_else(invalid)?;
    let address = pending.email.clone().ok_or_else(invalid)?;
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(address.clone()))
        .one(&state.db)
        .await?;
    if existing.as_ref().is_some_and(|u| u.staff_role.is_some()) {
        return Err(ApiError::new(
            &crate::codes::STAFF_CANNOT_JOIN,
            "Platform staff accounts belong to no organisation.",
        ));
    }
    let mut new_hash = None;
    let mut display_name = String::new();
    if existing.is_none() {
        let mut errs = Vec::new();
        display_name = body.display_name.unwrap_or_default().trim().to_owned();
        if display_name.is_empty() || display_name.chars().count() > 100 {
            errs.push(FieldError::new(
                "display_name",
                "invalid_length",
                "Give a name of 1 to 100 characters.",
            ));
        }
        match body.password {
            None => errs.push(FieldError::new(
                "password",
                "required",
                "Choose a password for your new account.",
            )),
            Some(pw) => match password::check_new("password", &pw, &[&address, &display_name]) {
                Err(e) => errs.push(e),
                Ok(()) => new_hash = Some(password::hash(pw).await.map_err(ApiError::internal)?),
            },
        }
        if !errs.is_empty() {
            return Err(ApiError::validation(errs));
        }
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    let tok = tokens::consume(&txn, tokens::INVITATION, &token)
        .await?
        .ok_or_else(invalid)?;
    let org_id = tok.org_id.ok_or_else(invalid)?;
    let role = tok.role.clone().unwrap_or_else(|| OrgRole::Member.as_str().into());
    let t = now();
    let (user_id, created) = match existing {
        Some(u) => (u.id, false),
        None => {
            let id = UserId::new().0;
            crate::staff::new_user(
                UserId(id),
                &address,
                &display_name,
                new_hash.unwrap_or_default(),
                None,
                true,
            )
            .insert(&txn)
            .await?;
            (id, true)
        }
    };
    let already = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(&txn)
        .await?;
    if already.is_none() {
        membership::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(org_id),
            user_id: Set(user_id),
            role: Set(role.clone()),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&txn)
        .await?;
    }
    let mut ev = event(&req, "member.join", "membership", Outcome::Success);
    ev.org_id = Some(OrgId(org_id));
    ev.actor_id = Some(UserId(user_id));
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(user_id.to_string());
    ev.reason = Some(format!("invitation accepted as {role}"));
    record_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(Accepted {
        organization_id: org_id,
        user_id,
        role,
        account_created: created,
    }))
}
