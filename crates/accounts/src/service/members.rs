//! Members, roles and invitations. An organisation keeps at least one owner.

use super::{Origin, audit_in, authorize, authorized_org, invalid_token, queue_mail};
use crate::policy::Action;
use crate::store::{self, Membership, User, users::NewUser};
use crate::{AccountsState, Actor, password, tokens, validate};
use chrono::{DateTime, Utc};
use dentex_audit::{ActorKind, Outcome};
use dentex_domain::{Email, FieldError, OrgId, OrgRole, UserId};
use dentex_http::ApiError;
use dentex_mail::templates;
use uuid::Uuid;

pub const INVITATION_TTL_DAYS: i64 = 7;

/// The organisation's members with their accounts, oldest first.
pub async fn list(state: &AccountsState, actor: &Actor, org: OrgId) -> Result<Vec<(Membership, User)>, ApiError> {
    authorized_org(state, actor, org, Action::ViewMembers).await?;
    Ok(store::memberships::of_org(&state.db, org).await?)
}

/// A sent invitation.
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: OrgRole,
    pub expires_at: DateTime<Utc>,
}

impl From<dentex_db::entities::one_time_token::Model> for Invitation {
    fn from(r: dentex_db::entities::one_time_token::Model) -> Self {
        Self {
            role: invited_role(&r),
            id: r.id,
            email: r.email.unwrap_or_default(),
            expires_at: r.expires_at,
        }
    }
}

/// The role an invitation's row was made with.
fn invited_role(r: &dentex_db::entities::one_time_token::Model) -> OrgRole {
    r.role
        .as_deref()
        .and_then(|x| x.parse().ok())
        .unwrap_or(OrgRole::Member)
}

/// Invites someone by e-mail with a role (owners and admins; only owners
/// invite owners); the mail carries the link that accepts.
pub async fn invite(
    state: &AccountsState,
    actor: &Actor,
    org: OrgId,
    email: &str,
    role: &str,
) -> Result<Invitation, ApiError> {
    let mut errs = Vec::new();
    let email = Email::parse(email)
        .map_err(|e| errs.push(FieldError::new("email", "invalid_email", e.to_string())))
        .ok();
    let role = role
        .parse::<OrgRole>()
        .map_err(|e| errs.push(FieldError::new("role", "invalid_choice", e)))
        .ok();
    let (Some(email), Some(role)) = (email, role) else {
        // Authorise first, so an outsider learns nothing from validation either.
        authorize(state, actor, Action::ViewOrganization, org).await?;
        return Err(ApiError::validation(errs));
    };
    let o = authorized_org(state, actor, org, Action::Invite(role)).await?;
    let address = email.as_str().to_lowercase();
    if let Some(u) = store::users::by_email(&state.db, &address).await?
        && store::memberships::find(&state.db, org, u.id).await?.is_some()
    {
        return Err(ApiError::new(
            &crate::codes::ALREADY_MEMBER,
            "This person is already a member.",
        ));
    }
    let txn = dentex_db::begin_write(&state.db).await?;
    let invited = tokens::TokenFor {
        org_id: Some(org.0),
        email: Some(address.clone()),
        role: Some(role.as_str().into()),
        created_by: Some(actor.user_id.0),
        ..Default::default()
    };
    let ttl = chrono::Duration::days(INVITATION_TTL_DAYS);
    let token = tokens::issue(&txn, tokens::INVITATION, invited, ttl).await?;
    let row = tokens::find(&txn, &token, None)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("invitation vanished")))?;
    let base = &state.public_base_url;
    let mail = templates::invitation(email, &o.name, role.as_str(), base, &token, INVITATION_TTL_DAYS);
    queue_mail(&txn, &mail).await?;
    let mut ev = actor.event("member.invite", "invitation", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(row.id.to_string());
    ev.reason = Some(format!("role {}", role.as_str()));
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    state.queue.wake();
    Ok(Invitation {
        id: row.id,
        email: address,
        role,
        expires_at: row.expires_at,
    })
}

/// A page of the organization's open invitations (unused, unexpired), in id
/// order. Owners and admins, and platform staff.
pub async fn invitations(
    state: &AccountsState,
    actor: &Actor,
    org: OrgId,
    page: dentex_http::paging::Page<Uuid>,
) -> Result<(Vec<Invitation>, Option<String>), ApiError> {
    authorized_org(state, actor, org, Action::ViewInvitations).await?;
    let rows = tokens::open_invitations(&state.db, org.0, page.after, page.limit + 1).await?;
    let (rows, next) = dentex_http::paging::split(rows, page.limit, |r| r.id);
    let items = rows.into_iter().map(Invitation::from).collect();
    Ok((items, next))
}

/// One open invitation (unused, unexpired); otherwise 404.
pub async fn invitation(state: &AccountsState, actor: &Actor, org: OrgId, raw: &str) -> Result<Invitation, ApiError> {
    authorized_org(state, actor, org, Action::ViewInvitations).await?;
    let id = Uuid::parse_str(raw).map_err(|_| ApiError::not_found())?;
    let r = tokens::open_invitation(&state.db, org.0, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Invitation::from(r))
}

/// Revokes an open invitation: its link stops working at once. Owners and
/// admins; only owners revoke an invitation to become owner. An unknown,
/// used or expired invitation is 404.
pub async fn revoke_invitation(state: &AccountsState, actor: &Actor, org: OrgId, raw: &str) -> Result<(), ApiError> {
    authorize(state, actor, Action::ViewOrganization, org).await?;
    let id = Uuid::parse_str(raw).map_err(|_| ApiError::not_found())?;
    let open = tokens::open_invitation(&state.db, org.0, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let role = invited_role(&open);
    authorize(state, actor, Action::RevokeInvitation(role), org).await?;
    let txn = dentex_db::begin_write(&state.db).await?;
    if !tokens::revoke_invitation(&txn, org.0, id).await? {
        return Err(ApiError::not_found());
    }
    let mut ev = actor.event("member.invitation_revoke", "invitation", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(id.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(())
}

fn last_owner() -> ApiError {
    ApiError::new(
        &crate::codes::LAST_OWNER,
        "An organisation needs at least one owner: make someone else owner first.",
    )
}

/// The membership of `user` in `org`, with its role. An outsider must not
/// learn whether the organisation or the user exists.
async fn target(
    state: &AccountsState,
    actor: &Actor,
    org: OrgId,
    user: &str,
) -> Result<(Membership, OrgRole), ApiError> {
    authorize(state, actor, Action::ViewMembers, org).await?;
    let user_id: Uuid = user.parse().map_err(|_| ApiError::not_found())?;
    let m = store::memberships::find(&state.db, org, user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let role = m
        .role
        .parse()
        .map_err(|e: String| ApiError::internal(anyhow::anyhow!(e)))?;
    Ok((m, role))
}

/// Changes a member's role (owners and admins; only owners make or unmake
/// owners; the last owner stays owner).
pub async fn change_role(
    state: &AccountsState,
    actor: &Actor,
    org: OrgId,
    user: &str,
    role: &str,
) -> Result<(Membership, User), ApiError> {
    let (m, from) = target(state, actor, org, user).await?;
    let to: OrgRole = role
        .parse()
        .map_err(|e: String| ApiError::validation(vec![FieldError::new("role", "invalid_choice", e)]))?;
    authorize(state, actor, Action::ChangeRole { from, to }, org).await?;
    let txn = dentex_db::begin_write(&state.db).await?;
    if from == OrgRole::Owner && to != OrgRole::Owner && store::memberships::owners_locked(&txn, org).await? <= 1 {
        return Err(last_owner());
    }
    let m = store::memberships::set_role(&txn, m, to).await?;
    let mut ev = actor.event("member.role_change", "membership", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(m.user_id.to_string());
    ev.reason = Some(format!("{} -> {}", from.as_str(), to.as_str()));
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    let u = store::users::by_id(&state.db, m.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((m, u))
}

/// Removes a member, or lets a member leave; takes effect on their very next
/// request. The last owner stays.
pub async fn remove(state: &AccountsState, actor: &Actor, org: OrgId, user: &str) -> Result<(), ApiError> {
    let (m, role) = target(state, actor, org, user).await?;
    let is_self = m.user_id == actor.user_id.0;
    authorize(state, actor, Action::RemoveMember { role, is_self }, org).await?;
    let txn = dentex_db::begin_write(&state.db).await?;
    if role == OrgRole::Owner && store::memberships::owners_locked(&txn, org).await? <= 1 {
        return Err(last_owner());
    }
    store::memberships::delete(&txn, &m).await?;
    let mut ev = actor.event("member.remove", "membership", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(m.user_id.to_string());
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(())
}

/// The account an invitation creates when the address has none yet.
#[derive(validator::Validate)]
pub struct NewAccount {
    #[validate(length(
        min = 1,
        max = 100,
        code = "invalid_length",
        message = "Give a name of 1 to 100 characters."
    ))]
    pub display_name: String,
    pub password: Option<String>,
}

/// An accepted invitation.
pub struct Joined {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub account_created: bool,
}

fn invalid_invitation() -> ApiError {
    invalid_token("This invitation is unknown, already used or expired.")
}

/// Accepts an invitation: attaches the invited address's account to the
/// organisation, or creates the account (the link proves the address).
pub async fn accept(state: &AccountsState, origin: &Origin, token: &str, new: NewAccount) -> Result<Joined, ApiError> {
    let token = token.trim();
    // Look first (without spending it) to know whether an account must be created.
    let pending = tokens::find(&state.db, token, Some(tokens::INVITATION))
        .await?
        .ok_or_else(invalid_invitation)?;
    let address = pending.email.clone().ok_or_else(invalid_invitation)?;
    let existing = store::users::by_email(&state.db, &address).await?;
    if existing.as_ref().is_some_and(|u| u.staff_role.is_some()) {
        return Err(ApiError::new(
            &crate::codes::STAFF_CANNOT_JOIN,
            "Platform staff accounts belong to no organisation.",
        ));
    }
    let new_hash = match existing {
        Some(_) => None,
        None => Some(new_account_hash(&address, &new).await?),
    };
    let txn = dentex_db::begin_write(&state.db).await?;
    let tok = tokens::consume(&txn, tokens::INVITATION, token)
        .await?
        .ok_or_else(invalid_invitation)?;
    let org_id = tok.org_id.ok_or_else(invalid_invitation)?;
    let role = tok.role.clone().unwrap_or_else(|| OrgRole::Member.as_str().into());
    let (user_id, account_created) = match existing {
        Some(u) => (u.id, false),
        None => {
            let id = UserId::new();
            let n = NewUser {
                id,
                email: &address,
                display_name: &new.display_name,
                password_hash: new_hash.unwrap_or_default(),
                staff_role: None,
                verified: true,
            };
            store::users::insert(&txn, n).await?;
            (id.0, true)
        }
    };
    if store::memberships::find(&txn, OrgId(org_id), user_id).await?.is_none() {
        store::memberships::insert(&txn, org_id, user_id, &role).await?;
    }
    let mut ev = origin.event("member.join", "membership", Outcome::Success);
    ev.org_id = Some(OrgId(org_id));
    ev.actor_id = Some(UserId(user_id));
    ev.actor_kind = ActorKind::User;
    ev.resource_id = Some(user_id.to_string());
    ev.reason = Some(format!("invitation accepted as {role}"));
    audit_in(&txn, ev).await?;
    txn.commit().await?;
    Ok(Joined {
        org_id,
        user_id,
        role,
        account_created,
    })
}

/// Checks the name and password of a new account and hashes the password.
async fn new_account_hash(address: &str, new: &NewAccount) -> Result<String, ApiError> {
    let mut errs = validate::field_errors(new);
    let mut hash = None;
    match &new.password {
        None => errs.push(FieldError::new(
            "password",
            "required",
            "Choose a password for your new account.",
        )),
        Some(pw) => match password::check_new("password", pw, &[address, &new.display_name]) {
            Err(e) => errs.push(e),
            Ok(()) => hash = Some(password::hash(pw.clone()).await.map_err(ApiError::internal)?),
        },
    }
    match hash {
        Some(h) if errs.is_empty() => Ok(h),
        _ => Err(ApiError::validation(errs)),
    }
}
