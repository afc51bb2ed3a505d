use sea_orm::entity::prelude::*;

/// A person who can log in. Platform staff carry a `staff_role` and belong to no
/// organisation; organisation membership arrives with the accounts feature.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub staff_role: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub email_verified_at: Option<DateTimeUtc>,
    pub password_changed_at: Option<DateTimeUtc>,
    /// Base32 TOTP secret once MFA is enabled.
    pub mfa_secret: Option<String>,
    /// A secret being enrolled, not yet confirmed by a code.
    pub mfa_pending_secret: Option<String>,
    pub mfa_enabled_at: Option<DateTimeUtc>,
    /// The last TOTP step accepted: each code works once.
    pub mfa_last_step: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
