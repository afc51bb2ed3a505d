use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CaseFiles {
    Table,
    Id,
    /// The lab that uploaded the file into its thread (a design preview):
    /// visible to the clinic and that lab only. NULL for the clinic's files.
    LabOrgId,
}

/// One row per organisation: the last position of its event stream, taken
/// (and moved) under the row's lock in the transaction that writes the
/// event, so positions are in commit order.
#[derive(DeriveIden)]
enum EventStreams {
    Table,
    OrgId,
    LastPosition,
    /// Events up to here were purged: a cursor below it gets `reset`.
    PurgedThrough,
}

/// The outbox: every event, written in its cause's transaction.
#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    OrgId,
    Position,
    /// Only this person receives it (`thread.read`); NULL for every member.
    UserId,
    Kind,
    CaseId,
    /// JSON: ids, states and counts only.
    Payload,
    CreatedAt,
}

/// Single-use tickets for `GET /api/v1/events?ticket=` (stored hashed).
#[derive(DeriveIden)]
enum EventTickets {
    Table,
    Id,
    TokenHash,
    SessionId,
    UserId,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

/// One thread per (case, lab).
#[derive(DeriveIden)]
enum ChatThreads {
    Table,
    Id,
    CaseId,
    ClinicOrgId,
    LabOrgId,
    /// The sequence number of the newest message, moved under the row's lock.
    LastSeq,
    LastMessageAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChatMessages {
    Table,
    Id,
    ThreadId,
    Seq,
    /// NULL for a system message.
    SenderUserId,
    SenderOrgId,
    /// `text` or `system`.
    Kind,
    /// NULL once deleted (a tombstone).
    Body,
    /// A system message's event (`quote.revised`, `order.shipped`, …).
    SystemCode,
    CreatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum ChatAttachments {
    Table,
    MessageId,
    FileId,
}

/// How far each person has read a thread.
#[derive(DeriveIden)]
enum ChatReadMarks {
    Table,
    ThreadId,
    UserId,
    UpTo,
    UpdatedAt,
}

/// The notice mails sent, keyed on (thread, person, sequence): a retried
/// sweep sends each once.
#[derive(DeriveIden)]
enum ChatNotices {
    Table,
    ThreadId,
    UserId,
    Seq,
    CreatedAt,
}

fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CaseFiles::Table)
                    .add_column(uuid_null(CaseFiles::LabOrgId))
                    .to_owned(),
            )
            .await?;
        events_up(manager).await?;
        chat_up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ChatNotices::Table.into_iden(),
            ChatReadMarks::Table.into_iden(),
            ChatAttachments::Table.into_iden(),
            ChatMessages::Table.into_iden(),
            ChatThreads::Table.into_iden(),
            EventTickets::Table.into_iden(),
            Events::Table.into_iden(),
            EventStreams::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(CaseFiles::Table)
                    .drop_column(CaseFiles::LabOrgId)
                    .to_owned(),
            )
            .await
    }
}

async fn events_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(EventStreams::Table)
                .col(pk_uuid(EventStreams::OrgId))
                .col(big_integer(EventStreams::LastPosition))
                .col(big_integer(EventStreams::PurgedThrough))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(Events::Table)
                .col(pk_uuid(Events::Id))
                .col(uuid(Events::OrgId))
                .col(big_integer(Events::Position))
                .col(uuid_null(Events::UserId))
                .col(string(Events::Kind))
                .col(uuid_null(Events::CaseId))
                .col(text(Events::Payload))
                .col(timestamp_with_time_zone(Events::CreatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_events_org_position")
                .table(Events::Table)
                .col(Events::OrgId)
                .col(Events::Position)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_events_created_at")
                .table(Events::Table)
                .col(Events::CreatedAt)
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(EventTickets::Table)
                .col(pk_uuid(EventTickets::Id))
                .col(string(EventTickets::TokenHash).unique_key())
                .col(uuid(EventTickets::SessionId))
                .col(uuid(EventTickets::UserId))
                .col(timestamp_with_time_zone(EventTickets::ExpiresAt))
                .col(timestamp_with_time_zone_null(EventTickets::UsedAt))
                .col(timestamp_with_time_zone(EventTickets::CreatedAt))
                .to_owned(),
        )
        .await
}

async fn chat_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ChatThreads::Table)
                .col(pk_uuid(ChatThreads::Id))
                .col(uuid(ChatThreads::CaseId))
                .col(uuid(ChatThreads::ClinicOrgId))
                .col(uuid(ChatThreads::LabOrgId))
                .col(big_integer(ChatThreads::LastSeq))
                .col(timestamp_with_time_zone_null(ChatThreads::LastMessageAt))
                .col(timestamp_with_time_zone(ChatThreads::CreatedAt))
                .foreign_key(&mut cascade(
                    "fk_chat_threads_case",
                    (ChatThreads::Table, ChatThreads::CaseId),
                    (Cases::Table, Cases::Id),
                ))
                .to_owned(),
        )
        .await?;
    for (name, cols, unique) in [
        (
            "idx_chat_threads_case_lab",
            vec![ChatThreads::CaseId, ChatThreads::LabOrgId],
            true,
        ),
        ("idx_chat_threads_lab", vec![ChatThreads::LabOrgId], false),
        ("idx_chat_threads_clinic", vec![ChatThreads::ClinicOrgId], false),
    ] {
        let mut idx = Index::create().name(name).table(ChatThreads::Table).to_owned();
        for c in cols {
            idx.col(c);
        }
        if unique {
            idx.unique();
        }
        manager.create_index(idx).await?;
    }
    manager
        .create_table(
            Table::create()
                .table(ChatMessages::Table)
                .col(pk_uuid(ChatMessages::Id))
                .col(uuid(ChatMessages::ThreadId))
                .col(big_integer(ChatMessages::Seq))
                .col(uuid_null(ChatMessages::SenderUserId))
                .col(uuid_null(ChatMessages::SenderOrgId))
                .col(string(ChatMessages::Kind))
                .col(text_null(ChatMessages::Body))
                .col(string_null(ChatMessages::SystemCode))
                .col(timestamp_with_time_zone(ChatMessages::CreatedAt))
                .col(timestamp_with_time_zone_null(ChatMessages::DeletedAt))
                .foreign_key(&mut cascade(
                    "fk_chat_messages_thread",
                    (ChatMessages::Table, ChatMessages::ThreadId),
                    (ChatThreads::Table, ChatThreads::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_chat_messages_thread_seq")
                .table(ChatMessages::Table)
                .col(ChatMessages::ThreadId)
                .col(ChatMessages::Seq)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(ChatAttachments::Table)
                .col(uuid(ChatAttachments::MessageId))
                .col(uuid(ChatAttachments::FileId))
                .primary_key(
                    Index::create()
                        .col(ChatAttachments::MessageId)
                        .col(ChatAttachments::FileId),
                )
                .foreign_key(&mut cascade(
                    "fk_chat_attachments_message",
                    (ChatAttachments::Table, ChatAttachments::MessageId),
                    (ChatMessages::Table, ChatMessages::Id),
                ))
                .foreign_key(&mut cascade(
                    "fk_chat_attachments_file",
                    (ChatAttachments::Table, ChatAttachments::FileId),
                    (CaseFiles::Table, CaseFiles::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(ChatReadMarks::Table)
                .col(uuid(ChatReadMarks::ThreadId))
                .col(uuid(ChatReadMarks::UserId))
                .col(big_integer(ChatReadMarks::UpTo))
                .col(timestamp_with_time_zone(ChatReadMarks::UpdatedAt))
                .primary_key(Index::create().col(ChatReadMarks::ThreadId).col(ChatReadMarks::UserId))
                .foreign_key(&mut cascade(
                    "fk_chat_read_marks_thread",
                    (ChatReadMarks::Table, ChatReadMarks::ThreadId),
                    (ChatThreads::Table, ChatThreads::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(ChatNotices::Table)
                .col(uuid(ChatNotices::ThreadId))
                .col(uuid(ChatNotices::UserId))
                .col(big_integer(ChatNotices::Seq))
                .col(timestamp_with_time_zone(ChatNotices::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(ChatNotices::ThreadId)
                        .col(ChatNotices::UserId)
                        .col(ChatNotices::Seq),
                )
                .foreign_key(&mut cascade(
                    "fk_chat_notices_thread",
                    (ChatNotices::Table, ChatNotices::ThreadId),
                    (ChatThreads::Table, ChatThreads::Id),
                ))
                .to_owned(),
        )
        .await
}
