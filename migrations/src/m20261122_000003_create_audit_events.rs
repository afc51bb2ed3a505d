use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Chain,
    Seq,
    OrgId,
    ActorId,
    ActorKind,
    Action,
    ResourceType,
    ResourceId,
    Outcome,
    RequestId,
    ClientAddr,
    Reason,
    OccurredAt,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHeads {
    Table,
    Chain,
    Seq,
    Hash,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    .col(string(AuditEvents::Chain))
                    .col(big_integer(AuditEvents::Seq))
                    .col(uuid_null(AuditEvents::OrgId))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(string(AuditEvents::ActorKind))
                    .col(string(AuditEvents::Action))
                    .col(string(AuditEvents::ResourceType))
                    .col(string_null(AuditEvents::ResourceId))
                    .col(string(AuditEvents::Outcome))
                    .col(string_null(AuditEvents::RequestId))
                    .col(string_null(AuditEvents::ClientAddr))
                    .col(string_null(AuditEvents::Reason))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(string(AuditEvents::PrevHash))
                    .col(string(AuditEvents::Hash))
                    .to_owned(),
            )
            .await?;
        // One row per position in a chain: two writers can never both take seq n.
        manager
            .create_index(
                Index::create()
                    .name("uq_audit_events_chain_seq")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Chain)
                    .col(AuditEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_org_occurred")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::OrgId)
                    .col(AuditEvents::OccurredAt)
                    .to_owned(),
            )
            .await?;
        // The newest link of each chain, kept apart from the rows so that cutting
        // rows off the end of a chain is detected too.
        manager
            .create_table(
                Table::create()
                    .table(AuditHeads::Table)
                    .col(string(AuditHeads::Chain).primary_key())
                    .col(big_integer(AuditHeads::Seq))
                    .col(string(AuditHeads::Hash))
                    .col(timestamp_with_time_zone(AuditHeads::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // Append-only: the database itself refuses UPDATE and DELETE on audit rows.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events \
                     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
                     BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events \
                     BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS audit_events_append_only()")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AuditHeads::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}
