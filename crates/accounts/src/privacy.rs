//! What `dentex-accounts` holds about people (the data inventory, issue #17):
//! each table it owns, whose data it is, how long it is kept, and what an
//! erasure does to each column that can hold personal data. Ids are
//! references: once the account or case they lead to is erased or
//! pseudonymised they identify no one. `dentex-privacy` checks this
//! against the migrated schema (a column added and not described here
//! fails a test) and renders `docs/privacy.md` from it.
use dentex_domain::privacy::{Category, Erasure, Store, Table, field};

pub const TABLES: &[Table] = &[
    Table {
        table: "users",
        owner: "dentex-accounts",
        find: "a person: `id`",
        retention: "account life + 90 days",
        personal: &[
            field("email", Category::Account, Erasure::Pseudonymise),
            field("display_name", Category::Account, Erasure::Pseudonymise),
            field("password_hash", Category::Account, Erasure::Clear),
            field("mfa_secret", Category::Account, Erasure::Clear),
            field("mfa_pending_secret", Category::Account, Erasure::Clear),
        ],
        other: &[
            "id",
            "staff_role",
            "created_at",
            "updated_at",
            "email_verified_at",
            "password_changed_at",
            "mfa_enabled_at",
            "mfa_last_step",
        ],
    },
    Table {
        table: "organizations",
        owner: "dentex-accounts",
        find: "an organisation: `id` (a sole trader's name names a person)",
        retention: "organisation life; its name and country stay on receipts",
        personal: &[field("name", Category::Account, Erasure::Pseudonymise)],
        other: &[
            "id",
            "kind",
            "country",
            "region",
            "accepts_new_work",
            "services",
            "service_countries",
            "suspended_at",
            "created_at",
            "updated_at",
        ],
    },
    Table {
        table: "memberships",
        owner: "dentex-accounts",
        find: "a person: `user_id`",
        retention: "while a member",
        personal: &[field("user_id", Category::Account, Erasure::Delete)],
        other: &["id", "org_id", "role", "created_at", "updated_at"],
    },
    Table {
        table: "sessions",
        owner: "dentex-accounts",
        find: "a person: `user_id`",
        retention: "until expiry or sign-out, then 90 days",
        personal: &[field("user_id", Category::Account, Erasure::Delete)],
        other: &[
            "id",
            "token_hash",
            "created_at",
            "last_seen_at",
            "expires_at",
            "revoked_at",
            "second_step",
        ],
    },
    Table {
        table: "one_time_tokens",
        owner: "dentex-accounts",
        find: "a person: `user_id` or `email` (invitations)",
        retention: "until used or expired, then 90 days",
        personal: &[
            field("email", Category::Account, Erasure::Delete),
            field("user_id", Category::Account, Erasure::Delete),
        ],
        other: &[
            "id",
            "purpose",
            "token_hash",
            "org_id",
            "role",
            "created_by",
            "expires_at",
            "used_at",
            "created_at",
        ],
    },
    Table {
        table: "recovery_codes",
        owner: "dentex-accounts",
        find: "a person: `user_id`",
        retention: "account life",
        personal: &[field("user_id", Category::Account, Erasure::Delete)],
        other: &["id", "code_hash", "used_at", "created_at"],
    },
    Table {
        table: "login_throttles",
        owner: "dentex-accounts",
        find: "a person: `key` (from the e-mail address or the client address)",
        retention: "a day after the window",
        personal: &[field("key", Category::Log, Erasure::Delete)],
        other: &["failures", "window_started_at", "blocked_until", "updated_at"],
    },
    Table {
        table: "credentials",
        owner: "dentex-accounts",
        find: "an organisation: `org_id` (a licence number can name a person)",
        retention: "organisation life + 6 years (proof of the checks made)",
        personal: &[
            field("number", Category::Credential, Erasure::Pseudonymise),
            field("decision_reason", Category::Credential, Erasure::Clear),
            field("document_key", Category::Credential, Erasure::DeleteObject),
        ],
        other: &[
            "id",
            "org_id",
            "kind",
            "issuing_authority",
            "country",
            "state",
            "expires_on",
            "status",
            "decided_by",
            "decided_at",
            "document_sha256",
            "document_size",
            "document_content_type",
            "submitted_by",
            "expiry_notice_sent_at",
            "created_at",
            "updated_at",
        ],
    },
];

pub const STORES: &[Store] = &[Store {
    pattern: "{region}/{org}/credentials/{credential}/{id}",
    owner: "dentex-accounts",
    category: Category::Credential,
    find: "an organisation: its credentials' `document_key`",
    retention: "with the credential",
    erasure: Erasure::DeleteObject,
}];

/// The organisations `user` is the only owner of (an erasure of the person
/// waits until another owner is named, or support suspends the
/// organisation, whose data then follows its retention rules).
pub async fn sole_owner_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    user: uuid::Uuid,
) -> Result<Vec<uuid::Uuid>, sea_orm::DbErr> {
    use dentex_db::entities::membership;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let owner = dentex_domain::OrgRole::Owner.as_str();
    let mut sole = Vec::new();
    for (m, o) in crate::store::memberships::of_user(db, user).await? {
        if m.role != owner || o.suspended_at.is_some() {
            continue;
        }
        let owners = membership::Entity::find()
            .filter(membership::Column::OrgId.eq(m.org_id))
            .filter(membership::Column::Role.eq(owner))
            .count(db)
            .await?;
        if owners <= 1 {
            sole.push(m.org_id);
        }
    }
    Ok(sole)
}

/// What an erased person's address becomes (unique, undeliverable, and
/// the same for one person under one key).
pub fn erased_email(pseudonyms: &dentex_http::Pseudonyms, user: uuid::Uuid) -> String {
    format!("erased-{}@erased.invalid", pseudonyms.of("user", &user.to_string()))
}

/// Erases a person's account in `txn`: the address and name pseudonymised,
/// the password and second step emptied (no one can sign in as them), and
/// their memberships, sessions, tokens, recovery codes and throttles
/// deleted. The user row stays: ids in cases, orders and the audit trail
/// point at it, and now lead to no one.
pub async fn erase_person<C: sea_orm::ConnectionTrait>(
    txn: &C,
    user: uuid::Uuid,
    pseudonyms: &dentex_http::Pseudonyms,
) -> Result<Vec<dentex_domain::privacy::Erased>, sea_orm::DbErr> {
    use dentex_db::entities::{login_throttle, membership, one_time_token, recovery_code, session, user as users};
    use dentex_domain::privacy::Erased;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
    let Some(u) = crate::store::users::by_id(txn, user).await? else {
        return Ok(Vec::new());
    };
    let none = || Expr::value(Option::<String>::None);
    // Every counter keyed by the account (alone, with an address, proven).
    let account = crate::throttle::account(&u.email);
    let throttles = login_throttle::Entity::delete_many()
        .filter(
            Condition::any()
                .add(login_throttle::Column::Key.eq(format!("acct:{account}")))
                .add(login_throttle::Column::Key.starts_with(format!("acct-addr:{account}:")))
                .add(login_throttle::Column::Key.starts_with(format!("proven:{account}:"))),
        )
        .exec(txn)
        .await?
        .rows_affected;
    let tokens = one_time_token::Entity::delete_many()
        .filter(
            Condition::any()
                .add(one_time_token::Column::UserId.eq(user))
                .add(one_time_token::Column::Email.eq(u.email.clone())),
        )
        .exec(txn)
        .await?
        .rows_affected;
    let users = users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(erased_email(pseudonyms, user)))
        .col_expr(users::Column::DisplayName, Expr::value("Erased user"))
        .col_expr(users::Column::PasswordHash, Expr::value(""))
        .col_expr(users::Column::MfaSecret, none())
        .col_expr(users::Column::MfaPendingSecret, none())
        .col_expr(
            users::Column::MfaEnabledAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(users::Column::UpdatedAt, Expr::value(dentex_db::now()))
        .filter(users::Column::Id.eq(user))
        .exec(txn)
        .await?
        .rows_affected;
    let memberships = membership::Entity::delete_many()
        .filter(membership::Column::UserId.eq(user))
        .exec(txn)
        .await?
        .rows_affected;
    let sessions = session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user))
        .exec(txn)
        .await?
        .rows_affected;
    let codes = recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(vec![
        Erased::new("users", "pseudonymised", users),
        Erased::new("memberships", "removed", memberships),
        Erased::new("sessions", "revoked", sessions),
        Erased::new("one_time_tokens", "removed", tokens),
        Erased::new("recovery_codes", "removed", codes),
        Erased::new("login_throttles", "removed", throttles),
    ])
}
