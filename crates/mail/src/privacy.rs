//! What `dentex-mail` holds about people (the data inventory, issue #17):
//! in the embedded run, every message it sends is also written as a file.

use dentex_domain::privacy::{Category, Erasure, Store};

pub const STORES: &[Store] = &[Store {
    pattern: "{data_dir}/mail/*.eml (embedded defaults only: mail written to files)",
    owner: "dentex-mail",
    category: Category::Log,
    find: "a person: the recipient's address in each file",
    retention: "not purged yet (a development and test transport; production sends over SMTP and keeps nothing)",
    erasure: Erasure::Delete,
}];
