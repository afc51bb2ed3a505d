//! The authorisation policy: every handler asks here, with the principal, the
//! action and the resource; nothing checks roles anywhere else. Rules:
//!
//! - Someone with no membership in an organisation gets 404 for it, exactly as
//!   for an organisation that does not exist (no hint that it does).
//! - Members may read; owners and admins manage members and credentials; only
//!   owners touch owners.
//! - Platform staff (support, platform_admin) may read organisation metadata
//!   and members, never change membership, and must have MFA on before
//!   anything but enrolling it.

use crate::principal::Principal;
use dentex_domain::{OrgId, OrgRole};
use dentex_http::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ViewOrganization,
    ViewMembers,
    /// Invite someone with the given role.
    Invite(OrgRole),
    /// List the open invitations.
    ViewInvitations,
    /// Revoke an open invitation made with the given role.
    RevokeInvitation(OrgRole),
    /// Change a member whose current role is `from` to `to`.
    ChangeRole {
        from: OrgRole,
        to: OrgRole,
    },
    /// Remove a member whose role is given (a member may always remove themself).
    RemoveMember {
        role: OrgRole,
        is_self: bool,
    },
    /// Change the organisation's profile (name, services, accepting work).
    EditOrganization,
    ViewCredentials,
    /// Submit a credential or upload its document.
    SubmitCredential,
    /// Read a credential's scanned document.
    ReadCredentialDocument,
}

pub fn forbidden(detail: &str) -> ApiError {
    ApiError::new(&dentex_http::codes::FORBIDDEN, detail)
}

/// Staff work needs a session opened with two steps. Until MFA is on, a
/// staff session can only enrol it; the session that enrolled stays that way
/// after the confirmation, so support work starts with a sign-in with a code.
pub fn require_full_session(p: &Principal) -> Result<(), ApiError> {
    if p.staff_role.is_some() && !p.second_step {
        return Err(ApiError::new(
            &crate::codes::MFA_ENROLLMENT_REQUIRED,
            "Platform staff must turn on two-step sign-in (POST /api/v1/auth/mfa/totp), then sign in again \
             with a code, before anything else.",
        ));
    }
    Ok(())
}

/// Privacy steps and break-glass (issue #17): platform staff whose session
/// was opened with a second step less than `max_age` ago; otherwise 403
/// `fresh_sign_in_required` (sign in again with a code, then retry).
pub fn require_fresh_sign_in(p: &Principal, max_age: std::time::Duration) -> Result<(), ApiError> {
    require_full_session(p)?;
    let age = chrono::Utc::now() - p.signed_in_at;
    if !p.second_step || age > chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX) {
        return Err(ApiError::new(
            &crate::codes::FRESH_SIGN_IN_REQUIRED,
            format!(
                "This step needs a sign-in with a code within the last {} minutes: sign in again, then retry.",
                max_age.as_secs() / 60
            ),
        ));
    }
    Ok(())
}

/// Whether `p` may turn two-step sign-in off: everyone but platform staff.
pub fn may_disable_mfa(p: &Principal) -> Result<(), ApiError> {
    if p.staff_role.is_some() {
        Err(ApiError::new(
            &crate::codes::MFA_REQUIRED_FOR_STAFF,
            "Platform staff always sign in with two steps.",
        ))
    } else {
        Ok(())
    }
}

/// Case submission (clinics) and quoting (labs) need a verified organisation.
pub use crate::verification::require_verified;

/// Support decisions on credentials: platform staff with MFA only.
pub fn authorize_support(p: &Principal) -> Result<(), ApiError> {
    require_full_session(p)?;
    if p.staff_role.is_some() {
        Ok(())
    } else {
        Err(forbidden("This is for Dentex support staff."))
    }
}

/// Decides `action` on organisation `org` for `p`. The caller has already
/// checked that the organisation exists when `p` is staff.
pub fn authorize(p: &Principal, action: Action, org: OrgId) -> Result<(), ApiError> {
    require_full_session(p)?;
    if p.staff_role.is_some() {
        return match action {
            Action::ViewOrganization
            | Action::ViewMembers
            | Action::ViewInvitations
            | Action::ViewCredentials
            | Action::ReadCredentialDocument => Ok(()),
            _ => Err(forbidden(
                "Platform staff do not change an organisation's members or profile.",
            )),
        };
    }
    let Some(role) = p.role_in(org) else {
        return Err(ApiError::not_found());
    };
    match action {
        Action::ViewOrganization | Action::ViewMembers | Action::ViewCredentials => Ok(()),
        Action::EditOrganization | Action::SubmitCredential | Action::ReadCredentialDocument => {
            if role.manages() {
                Ok(())
            } else {
                Err(forbidden(
                    "Only owners and admins manage the organisation's profile and credentials.",
                ))
            }
        }
        Action::Invite(new_role) => {
            if !role.manages() {
                Err(forbidden("Only owners and admins invite members."))
            } else if new_role == OrgRole::Owner && role != OrgRole::Owner {
                Err(forbidden("Only owners invite owners."))
            } else {
                Ok(())
            }
        }
        Action::ViewInvitations => {
            if role.manages() {
                Ok(())
            } else {
                Err(forbidden("Only owners and admins see the open invitations."))
            }
        }
        Action::RevokeInvitation(invited) => {
            if !role.manages() {
                Err(forbidden("Only owners and admins revoke invitations."))
            } else if invited == OrgRole::Owner && role != OrgRole::Owner {
                Err(forbidden("Only owners revoke an invitation to become owner."))
            } else {
                Ok(())
            }
        }
        Action::ChangeRole { from, to } => {
            if !role.manages() {
                Err(forbidden("Only owners and admins change roles."))
            } else if (from == OrgRole::Owner || to == OrgRole::Owner) && role != OrgRole::Owner {
                Err(forbidden("Only owners make or unmake owners."))
            } else {
                Ok(())
            }
        }
        Action::RemoveMember { role: target, is_self } => {
            if is_self {
                Ok(())
            } else if !role.manages() {
                Err(forbidden("Only owners and admins remove members."))
            } else if target == OrgRole::Owner && role != OrgRole::Owner {
                Err(forbidden("Only owners remove owners."))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dentex_domain::{StaffRole, UserId};

    fn p(memberships: Vec<(OrgId, OrgRole)>, staff: Option<StaffRole>, mfa: bool) -> Principal {
        Principal {
            user_id: UserId::new(),
            session_id: uuid::Uuid::now_v7(),
            staff_role: staff,
            memberships,
            second_step: mfa,
            signed_in_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_rules_as_a_table() {
        let org = OrgId::new();
        let other = OrgId::new();
        use Action::*;
        use OrgRole::*;
        let cases: Vec<(Principal, Action, Option<u16>)> = vec![
            // (who, what, expected error status or None for allowed)
            (p(vec![(org, Member)], None, false), ViewOrganization, None),
            (p(vec![(org, Member)], None, false), Invite(Member), Some(403)),
            (p(vec![(org, Admin)], None, false), Invite(Member), None),
            (p(vec![(org, Admin)], None, false), Invite(Owner), Some(403)),
            (p(vec![(org, Owner)], None, false), Invite(Owner), None),
            (
                p(vec![(org, Admin)], None, false),
                ChangeRole { from: Owner, to: Admin },
                Some(403),
            ),
            (
                p(vec![(org, Admin)], None, false),
                ChangeRole {
                    from: Member,
                    to: Admin,
                },
                None,
            ),
            (
                p(vec![(org, Owner)], None, false),
                ChangeRole { from: Admin, to: Owner },
                None,
            ),
            (
                p(vec![(org, Member)], None, false),
                RemoveMember {
                    role: Member,
                    is_self: true,
                },
                None,
            ),
            (
                p(vec![(org, Member)], None, false),
                RemoveMember {
                    role: Member,
                    is_self: false,
                },
                Some(403),
            ),
            (
                p(vec![(org, Admin)], None, false),
                RemoveMember {
                    role: Owner,
                    is_self: false,
                },
                Some(403),
            ),
            (p(vec![(other, Owner)], None, false), ViewOrganization, Some(404)),
            (p(vec![(other, Owner)], None, false), Invite(Member), Some(404)),
            (p(vec![], Some(StaffRole::Support), true), ViewMembers, None),
            (p(vec![], Some(StaffRole::Support), true), Invite(Member), Some(403)),
            (
                p(vec![], Some(StaffRole::PlatformAdmin), false),
                ViewOrganization,
                Some(403),
            ),
            (p(vec![(org, Member)], None, false), ViewCredentials, None),
            (p(vec![(org, Member)], None, false), SubmitCredential, Some(403)),
            (p(vec![(org, Member)], None, false), ReadCredentialDocument, Some(403)),
            (p(vec![(org, Admin)], None, false), SubmitCredential, None),
            (p(vec![(org, Owner)], None, false), EditOrganization, None),
            (p(vec![(org, Member)], None, false), EditOrganization, Some(403)),
            (p(vec![], Some(StaffRole::Support), true), ReadCredentialDocument, None),
            (p(vec![], Some(StaffRole::Support), true), SubmitCredential, Some(403)),
            (p(vec![], Some(StaffRole::Support), true), EditOrganization, Some(403)),
            (p(vec![(other, Owner)], None, false), ViewCredentials, Some(404)),
            (p(vec![(other, Owner)], None, false), ReadCredentialDocument, Some(404)),
        ];
        for (i, (who, what, want)) in cases.into_iter().enumerate() {
            let got = authorize(&who, what, org).err().map(|e| e.status.as_u16());
            assert_eq!(got, want, "case {i}: {what:?}");
        }
    }
}
