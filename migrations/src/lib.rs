//! `dentex-migrations` owns the database schema: one forward-only migration per
//! change, named `mYYYYMMDD_NNNNNN_verb_noun`, each written once for both PostgreSQL
//! and SQLite (one `ALTER` per statement, timestamps always set by the application).
//! Every migration has a `down` so the suite can prove up → down → up on both backends.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_users;
mod m20261122_000002_create_jobs;
mod m20261122_000003_create_audit_events;
mod m20261122_000004_create_sessions;
mod m20261122_000005_create_organizations;
mod m20261122_000006_add_user_security_columns;
mod m20261122_000007_create_one_time_tokens;
mod m20261122_000008_add_mfa_last_step;
mod m20261122_000009_create_credentials;
mod m20261122_000010_create_cases;
mod m20261130_000011_create_case_uploads;
mod m20261130_000012_create_market;
mod m20261202_000013_add_case_list_index;
mod m20261202_000014_add_session_second_step;
mod m20261202_000015_add_audit_acting_org;
mod m20261203_000016_use_us_spelling;
mod m20261203_000017_create_chat_and_events;
mod m20261204_000018_create_payments;
mod m20261204_000019_create_payment_refunds;
mod m20261205_000020_create_privacy_requests;
mod m20261205_000021_add_restriction;
mod m20261205_000022_create_case_access_grants;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users::Migration),
            Box::new(m20261122_000002_create_jobs::Migration),
            Box::new(m20261122_000003_create_audit_events::Migration),
            Box::new(m20261122_000004_create_sessions::Migration),
            Box::new(m20261122_000005_create_organizations::Migration),
            Box::new(m20261122_000006_add_user_security_columns::Migration),
            Box::new(m20261122_000007_create_one_time_tokens::Migration),
            Box::new(m20261122_000008_add_mfa_last_step::Migration),
            Box::new(m20261122_000009_create_credentials::Migration),
            Box::new(m20261122_000010_create_cases::Migration),
            Box::new(m20261130_000011_create_case_uploads::Migration),
            Box::new(m20261130_000012_create_market::Migration),
            Box::new(m20261202_000013_add_case_list_index::Migration),
            Box::new(m20261202_000014_add_session_second_step::Migration),
            Box::new(m20261202_000015_add_audit_acting_org::Migration),
            Box::new(m20261203_000016_use_us_spelling::Migration),
            Box::new(m20261203_000017_create_chat_and_events::Migration),
            Box::new(m20261204_000018_create_payments::Migration),
            Box::new(m20261204_000019_create_payment_refunds::Migration),
            Box::new(m20261205_000020_create_privacy_requests::Migration),
            Box::new(m20261205_000021_add_restriction::Migration),
            Box::new(m20261205_000022_create_case_access_grants::Migration),
        ]
    }
}
