//! The problem codes of accounts, sessions, organisations and credentials
//! (the catalogue; `docs/errors.md` is generated from it).

dentex_http::codes!(ALL {
    INVALID_CREDENTIALS = (401, "invalid_credentials", "The e-mail address or the password is wrong (the same answer whether or not the address exists)."),
    MFA_REQUIRED = (401, "mfa_required", "The account signs in with two steps: send `totp_code` or `recovery_code` with the password."),
    INVALID_MFA_CODE = (401, "invalid_mfa_code", "At sign-in: the second-step code is wrong or was already used."),
    INVALID_MFA_CODE_CONFIRM = (400, "invalid_mfa_code", "When confirming or turning off two-step sign-in: the code is wrong or was already used (`errors[]` names `code`)."),
    INVALID_TOKEN = (400, "invalid_token", "The e-mail link's token is unknown, already used or expired: ask for a new one."),
    EMAIL_NOT_VERIFIED = (403, "email_not_verified", "Confirm the e-mail address first: follow the link that was sent."),
    MFA_ENROLLMENT_REQUIRED = (403, "mfa_enrollment_required", "Platform staff must enrol two-step sign-in first; the one sign-in allowed for enrolment can do nothing else."),
    MFA_REQUIRED_FOR_STAFF = (403, "mfa_required_for_staff", "Platform staff always sign in with two steps: it cannot be turned off."),
    REAUTHENTICATION_FAILED = (403, "reauthentication_failed", "This step asks for the password again (and a current code when two-step sign-in is on): what was sent is wrong or missing (`errors[]` names the field)."),
    FRESH_SIGN_IN_REQUIRED = (403, "fresh_sign_in_required", "Platform staff: this step needs a sign-in with a second step within the last minutes (`privacy.fresh_sign_in_secs`): sign in again, then retry."),
    CSRF_TOKEN_INVALID = (403, "csrf_token_invalid", "A cookie session's change needs its CSRF token in the X-CSRF-Token header."),
    ORGANIZATION_NOT_VERIFIED = (403, "organization_not_verified", "The organisation needs an approved, unexpired credential of the right kind first."),
    ALREADY_MEMBER = (409, "already_member", "This person is already a member of the organisation."),
    LAST_OWNER = (409, "last_owner", "An organisation keeps at least one owner: make someone else owner first."),
    STAFF_CANNOT_JOIN = (409, "staff_cannot_join", "Platform staff accounts belong to no organisation."),
    MFA_ALREADY_ENABLED = (409, "mfa_already_enabled", "Two-step sign-in is already on; turn it off first to enrol a new authenticator."),
    MFA_NOT_ENROLLING = (409, "mfa_not_enrolling", "No enrolment is waiting: start one with POST /api/v1/auth/mfa/totp."),
    MFA_NOT_ENABLED = (409, "mfa_not_enabled", "Two-step sign-in is not on."),
    CREDENTIAL_DECIDED = (409, "credential_decided", "The credential was already reviewed: submit a new one instead."),
    DOCUMENT_MISSING = (409, "document_missing", "A credential is approved only with its scanned document."),
    TOO_MANY_ATTEMPTS = (429, "too_many_attempts", "Too many failed attempts: wait the seconds in `Retry-After` (a password reset also lifts the wait)."),
});
