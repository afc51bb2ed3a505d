//! The words of the data inventory (issue #17): what a table, a column or
//! a store holds about people, how a subject's share of it is found, how
//! long it is kept and what erasure does to it. Each feature crate states
//! its own tables in a `privacy` module (`INVENTORY`); `dentex-privacy`
//! gathers them, checks them against the migrated schema and renders the
//! processing register (`docs/privacy.md`).

/// What kind of personal data a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    /// A person's account: name, e-mail address, password and second-step
    /// secrets, sessions.
    Account,
    /// A professional credential (licence number, its document).
    Credential,
    /// A patient's health data: the patient reference, the prescription,
    /// case notes (special category, GDPR Art. 9).
    Health,
    /// Files: scans, photos, documents and their names.
    File,
    /// Chat messages between a clinic and a lab.
    Message,
    /// Payments and receipts (amounts, parties, the payer).
    Payment,
    /// The audit trail (who did what, from which address).
    Audit,
    /// Operational records that may name a person (jobs, throttles, mail).
    Log,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Credential => "credential",
            Self::Health => "case/health",
            Self::File => "file",
            Self::Message => "message",
            Self::Payment => "payment/receipt",
            Self::Audit => "audit",
            Self::Log => "log",
        }
    }
}

/// What an erasure does to a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The row goes.
    Delete,
    /// The value is replaced by a keyed hash: the row stays for what refers
    /// to it, the person cannot be read from it.
    Pseudonymise,
    /// The value is replaced by a tombstone (a message's text).
    Redact,
    /// The value is emptied; the row stays for what refers to it.
    Clear,
    /// The object the value names is deleted from the store (every
    /// version) and the value emptied.
    DeleteObject,
    /// Kept, on this legal basis (and pseudonymised where the basis allows).
    Keep(&'static str),
}

impl Erasure {
    pub fn describe(self) -> String {
        match self {
            Self::Delete => "delete the row".into(),
            Self::Pseudonymise => "pseudonymise (keyed hash)".into(),
            Self::Redact => "redact to a tombstone".into(),
            Self::Clear => "empty the value".into(),
            Self::DeleteObject => "delete the object, empty the key".into(),
            Self::Keep(basis) => format!("keep: {basis}"),
        }
    }
}

/// A column that can hold personal data.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub column: &'static str,
    pub category: Category,
    pub erasure: Erasure,
}

/// A column that can hold personal data, as the inventories write it.
pub const fn field(column: &'static str, category: Category, erasure: Erasure) -> Field {
    Field {
        column,
        category,
        erasure,
    }
}

/// One table as its owner describes it.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub table: &'static str,
    /// The crate that owns it (docs/architecture.md).
    pub owner: &'static str,
    /// Whose data it is and how a subject's rows are found.
    pub find: &'static str,
    /// How long it is kept.
    pub retention: &'static str,
    /// The columns that can hold personal data.
    pub personal: &'static [Field],
    /// The columns that cannot (ids, states, amounts, times, hashes of
    /// secrets that identify no one).
    pub other: &'static [&'static str],
}

/// A place outside the database that holds personal data: an object-key
/// prefix in the store, or a folder on disk.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    /// The key pattern, e.g. `{region}/{clinic}/{case}/{file}`.
    pub pattern: &'static str,
    pub owner: &'static str,
    pub category: Category,
    pub find: &'static str,
    pub retention: &'static str,
    pub erasure: Erasure,
}

/// What one erasure step did to one table or store (a line of the report).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Erased {
    /// A table, or a store's pattern.
    pub target: String,
    /// `removed`, `pseudonymised`, `cleared`, `redacted` or `revoked`.
    pub action: String,
    pub count: u64,
}

impl Erased {
    pub fn new(target: &str, action: &str, count: u64) -> Self {
        Self {
            target: target.into(),
            action: action.into(),
            count,
        }
    }
}
