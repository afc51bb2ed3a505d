//! Every crate's statement of what it holds, in one list.

use dentex_domain::privacy::{Store, Table};

/// Every table, as its owner describes it (owners in the crate order of
/// docs/architecture.md).
pub fn tables() -> Vec<&'static Table> {
    [
        dentex_accounts::privacy::TABLES,
        dentex_audit::privacy::TABLES,
        dentex_jobs::privacy::TABLES,
        dentex_events::privacy::TABLES,
        dentex_cases::privacy::TABLES,
        dentex_market::privacy::TABLES,
        dentex_chat::privacy::TABLES,
        dentex_payments::privacy::TABLES,
        crate::privacy::TABLES,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every place outside the database that holds personal data.
pub fn stores() -> Vec<&'static Store> {
    [
        dentex_accounts::privacy::STORES,
        dentex_cases::privacy::STORES,
        dentex_mail::privacy::STORES,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What the inventory says of `table`'s columns (personal and other), or
/// `None` when no crate describes it.
pub fn columns_of(table: &str) -> Option<Vec<&'static str>> {
    tables().into_iter().find(|t| t.table == table).map(|t| {
        t.personal
            .iter()
            .map(|f| f.column)
            .chain(t.other.iter().copied())
            .collect()
    })
}
